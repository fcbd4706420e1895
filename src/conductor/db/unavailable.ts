import { errorMessage } from '../../core/index.js';
import { DatabaseOutcomeUnknown, DatabaseUnavailable } from '../errors.js';

/** Node's socket errors that mean the server cannot be reached or went away. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT', // a Unix socket that is not there (the server is not running)
]);

/**
 * SQLSTATEs of a server that is going, gone or not there yet: class 08 (connection exception),
 * 57P01–57P05 (admin / crash shutdown, cannot connect now, database dropped, idle session timeout),
 * 53300 (too many connections).
 */
const UNAVAILABLE_STATE = /^(08...|57P0[1-5]|53300)$/;

/** What `pg` and `pg-pool` throw, without a code, when a connection is lost or cannot be had. */
const PG_LOST =
  /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect|Connection terminated due to connection timeout)/;

/** What `pg` throws, before sending anything, for a query on a connection it knows is dead. */
const PG_NOT_SENT =
  /^(Client has encountered a connection error|Client was closed) and is not queryable/;

/**
 * True when `err` says the database server cannot be reached or dropped the connection (a restart,
 * a crash, a network cut), rather than refusing a statement: what a retry later may cure. SQLite has
 * no such errors.
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || UNAVAILABLE_STATE.test(e.code)))
    return true;
  if (typeof e.message === 'string' && PG_LOST.test(e.message)) return true;
  // Node's connect() over several addresses (localhost: ::1 and 127.0.0.1) fails with all of them.
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectionError);
}

/** True when `pg` refused a query without sending it: the server never saw it. */
export function wasNotSent(err: unknown): boolean {
  return err instanceof Error && PG_NOT_SENT.test(err.message);
}

/** The marker in the message of a write whose outcome is unknown (see {@link databaseUnavailable}). */
const IN_DOUBT = 'the outcome is unknown';

/** What a failed store call was: a read, a write that wrote nothing, a write whose fate is unknown. */
export type UnavailableKind = 'read' | 'write' | 'in-doubt';

/**
 * The error of a store call that failed because the server is unreachable or dropped the
 * connection: `DatabaseOutcomeUnknown` for `in-doubt` (the connection was lost after the `COMMIT`,
 * or a single writing statement, was sent and before its answer, so the change may or may not have
 * been written; the message contains {@link IN_DOUBT}), else `DatabaseUnavailable` (`write`:
 * nothing was written).
 */
export function databaseUnavailable(
  what: string,
  err: unknown,
  kind: UnavailableKind,
): DatabaseUnavailable | DatabaseOutcomeUnknown {
  const why = errorMessage(err);
  const message =
    kind === 'in-doubt'
      ? `${what}: the database connection was lost before the write was confirmed (${why}); ${IN_DOUBT}: the change may or may not have been written`
      : `${what}: the database is unavailable (${why})${kind === 'write' ? '; nothing was written' : ''}`;
  return kind === 'in-doubt'
    ? new DatabaseOutcomeUnknown(message, { cause: err })
    : new DatabaseUnavailable(message, { cause: err });
}
