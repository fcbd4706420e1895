import { isatty } from 'node:tty';
import type { prettyFactory as PrettyFactory } from 'pino-pretty';
import { destination as pinoDestination, type DestinationStream, type Logger } from 'pino';
import { createLogger, setRootLogger } from '../core/index.js';
import { UsageError } from './io.js';

/** Options of {@link setupLogging}. */
export interface CliLoggingOptions {
  /** `--debug` (or `[DEFAULT] debug`): level `debug`, whatever `CONDUCTOR_LOG_LEVEL` says. */
  readonly debug: boolean;
  /** Level without `--debug` and without `CONDUCTOR_LOG_LEVEL`. */
  readonly defaultLevel: string;
  readonly env: NodeJS.ProcessEnv;
  /** A file descriptor (1 = stdout, 2 = stderr) or a stream (tests). */
  readonly destination: 1 | 2 | DestinationStream;
  /** Pretty lines; default: when `destination` is a file descriptor that is a terminal. */
  readonly pretty?: boolean;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The level to log at: `debug` with `--debug`, else `CONDUCTOR_LOG_LEVEL`, else the default. */
export function logLevel(o: Pick<CliLoggingOptions, 'debug' | 'defaultLevel' | 'env'>): string {
  if (o.debug) return 'debug';
  const env = o.env['CONDUCTOR_LOG_LEVEL']?.trim().toLowerCase();
  if (env === undefined || env === '') return o.defaultLevel;
  if (!LEVELS.includes(env)) {
    throw new UsageError(
      `CONDUCTOR_LOG_LEVEL='${env}' is not a log level (expected one of ${LEVELS.join(', ')})`,
    );
  }
  return env;
}

/**
 * pino-pretty, if installed, as a synchronous formatter (so that nothing is lost when the process
 * exits right after a line). Without it, JSON lines are written instead.
 */
async function prettyDestination(fd: number): Promise<DestinationStream | undefined> {
  let factory: typeof PrettyFactory;
  try {
    factory = (await import('pino-pretty')).prettyFactory;
  } catch {
    return undefined;
  }
  const format = factory({
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
  const out = pinoDestination({ dest: fd, sync: true });
  return {
    write(line: string): void {
      const text = format(line);
      if (text) out.write(text);
    },
  };
}

/**
 * Builds the CLI's logger and installs it as the root logger (`setRootLogger`), so that every
 * framework module's `getLogger()` writes through it: pretty lines on a terminal (pino-pretty), JSON
 * lines otherwise; synchronous writes.
 */
export async function setupLogging(o: CliLoggingOptions): Promise<Logger> {
  const level = logLevel(o);
  let destination: DestinationStream;
  if (typeof o.destination === 'number') {
    const pretty = o.pretty ?? isatty(o.destination);
    destination =
      (pretty ? await prettyDestination(o.destination) : undefined) ??
      pinoDestination({ dest: o.destination, sync: true });
  } else {
    destination = o.destination;
  }
  const logger = createLogger({ level }, destination);
  setRootLogger(logger);
  return logger;
}
