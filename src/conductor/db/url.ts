import { isAbsolute, resolve } from 'node:path';
import { maskUrlPassword } from '../../core/index.js';
import { DatabaseUrlError } from '../errors.js';

/** A SQLite database file. */
export interface SqliteTarget {
  dialect: 'sqlite';
  /** An absolute path, or `':memory:'`. */
  filename: string;
}

/** A PostgreSQL database. */
export interface PostgresTarget {
  dialect: 'postgres';
  /** A `postgresql://` URL as `pg` reads it (the SQLAlchemy `+driver` removed). */
  connectionString: string;
}

/** Where the store lives, as read from a SQLAlchemy-style connection string. */
export type DatabaseTarget = SqliteTarget | PostgresTarget;

const SCHEME = /^([A-Za-z][A-Za-z0-9.-]*)(?:\+[A-Za-z0-9_.-]*)?:\/\/([\s\S]*)$/;
const EXPECTED = 'expected sqlite:///relative.db, sqlite:////absolute.db or postgresql://...';

/**
 * Parses `[database] connection` the way SQLAlchemy reads it: `sqlite:///data/conductor.db` is
 * relative to `cwd`, `sqlite:////var/lib/x.db` absolute, `sqlite://` and `sqlite:///:memory:` in
 * memory; `postgresql://`, `postgres://` and `postgresql+psycopg2://` (the `+driver` is dropped).
 * Anything else is a {@link DatabaseUrlError} whose message shows the URL with its password masked.
 */
export function parseDatabaseUrl(connection: string, cwd = process.cwd()): DatabaseTarget {
  const m = SCHEME.exec(connection.trim());
  const fail = (why: string): never => {
    throw new DatabaseUrlError(`Invalid database URL '${maskUrlPassword(connection)}': ${why}`);
  };
  if (!m) return fail(EXPECTED);
  const scheme = (m[1] as string).toLowerCase();
  const rest = m[2] as string;
  if (scheme === 'sqlite') return { dialect: 'sqlite', filename: sqliteFile(rest, cwd, fail) };
  if (scheme === 'postgresql' || scheme === 'postgres') {
    const connectionString = `postgresql://${rest}`;
    try {
      // `user@/db?host=/run/postgresql` (a Unix socket, no host) is fine for pg but not for URL.
      new URL(connectionString.replace(/^(postgresql:\/\/[^/?#]*@)(?=[/?#]|$)/, '$1localhost'));
    } catch {
      return fail('not a valid PostgreSQL URL');
    }
    return { dialect: 'postgres', connectionString };
  }
  return fail(`unsupported database '${scheme}' (${EXPECTED})`);
}

function sqliteFile(rest: string, cwd: string, fail: (why: string) => never): string {
  // SQLAlchemy: sqlite://<nohost>/<path>; a host part or query options are not supported here.
  if (rest === '') return ':memory:';
  if (!rest.startsWith('/')) return fail('a sqlite URL has no host (use sqlite:///path)');
  if (/[?#]/.test(rest)) return fail('sqlite URL options (?...) are not supported');
  const path = rest.slice(1);
  if (path === '' || path === ':memory:') return ':memory:';
  return isAbsolute(path) ? path : resolve(cwd, path);
}
