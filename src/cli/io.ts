import type { DestinationStream } from 'pino';
import { type Clock, ConductorError, defineError } from '../core/index.js';
import type { SignalTarget } from '../service/index.js';

/** Somewhere the CLI writes text (stdout, stderr, or a test's collector). */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True when the stream is a terminal. */
  readonly isTTY?: boolean | undefined;
}

/** Where a live view reads its keys ('q', Ctrl-C) from: the terminal, or a test's fake. */
export interface InputStream {
  /** True when the stream is a terminal (only then is it read). */
  readonly isTTY?: boolean | undefined;
  /** Raw mode: keys arrive one by one, Ctrl-C as the byte 0x03 instead of SIGINT. */
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume?(): unknown;
  pause?(): unknown;
}

/**
 * Everything the `conductor` program touches outside itself, so that tests can run it in-process.
 * `runCli` fills in the process's own for anything not given.
 */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Called once with the final exit status. Default `process.exit`. */
  readonly exit: (code: number) => void;
  /** Environment for `CONDUCTOR_<SECTION>__<OPTION>` values and `CONDUCTOR_LOG_LEVEL`. */
  readonly env: NodeJS.ProcessEnv;
  /** Directory that relative `--manager` module paths resolve against. */
  readonly cwd: string;
  /**
   * Where log lines go. Default: file descriptor 1 (stdout) for `run`, 2 (stderr) for the other
   * commands, whose stdout carries their result.
   */
  readonly logStream?: DestinationStream | undefined;
  /** Where `run` installs its SIGTERM/SIGINT/SIGHUP handlers. Default `process`. */
  readonly signalTarget?: SignalTarget | undefined;
  /**
   * Where the live views (`tasks --watch`, `members --watch`) read keys. Default `process.stdin`,
   * read only when it is a terminal.
   */
  readonly stdin?: InputStream | undefined;
  /** What times the refreshes of the live views (`sleep`). Default the real clock. */
  readonly clock?: Clock | undefined;
  /** Wall-clock time, for the live views' header line and ages. Default `new Date()`. */
  readonly now?: (() => Date) | undefined;
}

/** Exit statuses of the `conductor` command. */
export const EXIT = Object.freeze({
  /** Success. */
  OK: 0,
  /** A runtime failure: a remote error, a failed start, a shutdown that overran its timeout. */
  FAILURE: 1,
  /** A usage error: unknown option, missing argument, bad value. */
  USAGE: 2,
});

/** A mistake in the command line: printed as one line, exit status 2. */
export class UsageError extends defineError(
  'CONDUCTOR_CLI_USAGE',
  'UsageError',
  ConductorError,
  '%s',
) {}
