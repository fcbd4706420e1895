import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/core/index.js';

/** One parsed pino line. */
export interface LogLine {
  level: number;
  msg: string;
  module?: string;
  err?: { type: string; message: string; stack?: string };
  [key: string]: unknown;
}

/** pino level numbers. */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** A logger at `trace` level whose lines are parsed into `lines` synchronously. */
export function captureLogs(): {
  logger: Logger;
  lines: LogLine[];
  messages: (level?: number) => string[];
} {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim()) lines.push(JSON.parse(text) as LogLine);
      }
      cb();
    },
  });
  const logger = createLogger({ level: 'trace' }, stream);
  return {
    logger,
    lines,
    messages: (level?: number) =>
      lines.filter((l) => level === undefined || l.level === level).map((l) => l.msg),
  };
}
