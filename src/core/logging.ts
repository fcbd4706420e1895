import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line (pino redaction paths). */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  'auth_token',
  '*.auth_token',
  'authToken',
  '*.authToken',
  '_context_auth_token',
  '*._context_auth_token',
  'transport_url',
  '*.transport_url',
];

/** Builds a pino logger with the framework's defaults (level from `CONDUCTOR_LOG_LEVEL`, redaction). */
export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    name: 'conductor',
    level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'info',
    redact: { paths: [...REDACTED_PATHS], censor: '***' },
    ...options,
  };
  return destination ? pino(opts, destination) : pino(opts);
}

let root: Logger | undefined;

/** The process-wide root logger. Created on first use. */
export function rootLogger(): Logger {
  root ??= createLogger();
  return root;
}

/** Replaces the root logger; loggers handed out afterwards are its children. */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

/** A child of the root logger for one module, e.g. `getLogger('periodic')`. */
export function getLogger(module: string): Logger {
  return rootLogger().child({ module });
}
