import { EventEmitter } from 'node:events';
import { runCli } from '../../src/cli/index.js';
import type { SignalTarget } from '../../src/service/index.js';
import type { LogLine } from '../helpers/log-capture.js';

/** What one in-process run of the CLI produced. */
export interface CliRun {
  /** The status `runCli` returned. */
  code: number;
  /** Every `exit()` call (one per run, unless a launcher exits early). */
  exits: number[];
  stdout: string;
  stderr: string;
  /** Parsed log lines. */
  logs: LogLine[];
}

/** Options of {@link cli}. */
export interface CliOptions {
  /** Environment; default empty, so the developer's CONDUCTOR_* variables do not leak in. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signalTarget?: SignalTarget;
}

/** A run in progress: output so far, and a way to wait for a log message. */
export interface CliHandle {
  readonly result: Promise<CliRun>;
  readonly current: CliRun;
  /** Resolves once a log line's `msg` matches `re`. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<LogLine>;
}

/** Starts the CLI in this process with captured output, logs and exit. */
export function startCli(argv: string[], options: CliOptions = {}): CliHandle {
  const run: CliRun = { code: -1, exits: [], stdout: '', stderr: '', logs: [] };
  const waiters = new Set<() => void>();
  const logStream = {
    write(chunk: string): void {
      for (const text of chunk.split('\n')) {
        if (text.trim()) run.logs.push(JSON.parse(text) as LogLine);
      }
      for (const w of [...waiters]) w();
    },
  };
  const result = runCli(argv, {
    stdout: { write: (s: string) => (run.stdout += s) },
    stderr: { write: (s: string) => (run.stderr += s) },
    exit: (code: number) => void run.exits.push(code),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    logStream,
    ...(options.signalTarget ? { signalTarget: options.signalTarget } : {}),
  }).then((code) => {
    run.code = code;
    return run;
  });
  const waitForLog = (re: RegExp, timeoutMs = 5000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = run.logs.find((l) => re.test(l.msg));
        if (hit) {
          done();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no log line matching ${re}; logs: ${run.logs.map((l) => l.msg).join(' | ')}; stderr: ${run.stderr}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
      void result.then(() => {
        check();
        if (waiters.has(check)) {
          done();
          reject(
            new Error(
              `the command ended (${run.code}) without a log line matching ${re}: ${run.stderr}`,
            ),
          );
        }
      });
    });
  return { result, current: run, waitForLog };
}

/** Runs the CLI in this process to the end. */
export function cli(argv: string[], options: CliOptions = {}): Promise<CliRun> {
  return startCli(argv, options).result;
}

/** A signal target for `conductor run` in-process: `emit('SIGTERM')` stops it. */
export function fakeSignals(): EventEmitter & SignalTarget {
  return new EventEmitter() as EventEmitter & SignalTarget;
}

/** The fixture managers, as `--manager` takes them (relative to the repository root = cwd). */
export const MANAGERS = './test/fixtures/cli/managers.ts';
