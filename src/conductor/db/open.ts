import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, type MigrationResultSet, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { errorMessage, getLogger, maskUrlPassword, type Logger } from '../../core/index.js';
import { DatabaseMigrationError, DatabaseOpenError } from '../errors.js';
import type { StoreDialect } from './codec.js';
import { conductorMigrator } from './migrations.js';
import type { ConductorDatabase } from './schema.js';
import { ConductorStore } from './store.js';
import { parseDatabaseUrl, type PostgresTarget, type SqliteTarget } from './url.js';

/** How long SQLite waits for another process's write lock before `SQLITE_BUSY`. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** How long a new PostgreSQL connection may take (`pg` waits forever by default). */
export const PG_CONNECT_TIMEOUT_MS = 10_000;

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Base of relative `sqlite:///` paths; `process.cwd()` by default. */
  cwd?: string;
  /** Where migrations and dropped connections are logged; `getLogger('conductor.db')` by default. */
  logger?: Logger;
}

/**
 * Opens the store at a SQLAlchemy-style URL (`sqlite:///data/conductor.db`, `postgresql://...`)
 * and applies pending migrations. SQLite: the parent folder is created, WAL mode, a busy timeout,
 * foreign keys on. PostgreSQL: a `pg.Pool` whose dropped idle connections are logged and replaced.
 * Throws `DatabaseUrlError`, `DatabaseOpenError` or `DatabaseMigrationError` (the connection is
 * closed first); messages show the URL with its password masked.
 */
export async function openStore(
  connection: string,
  options: OpenStoreOptions = {},
): Promise<ConductorStore> {
  const target = parseDatabaseUrl(connection, options.cwd);
  const logger = options.logger ?? getLogger('conductor.db');
  const shown = maskUrlPassword(connection);
  const db = target.dialect === 'sqlite' ? openSqlite(target, shown) : openPostgres(target, logger);
  try {
    await migrate(db, target.dialect, logger, shown);
  } catch (err) {
    // The migration's error is the one to report; a failing close adds nothing to it.
    await db.destroy().catch(() => undefined);
    throw err;
  }
  return new ConductorStore(db, target.dialect);
}

function openSqlite(target: SqliteTarget, shown: string): Kysely<ConductorDatabase> {
  const { filename } = target;
  let database: Database.Database | undefined;
  try {
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    database = new Database(filename, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    // WAL lets readers (other processes, the CLI) run while the conductor writes.
    database.pragma('journal_mode = WAL');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('foreign_keys = ON');
  } catch (err) {
    database?.close();
    const why = errorMessage(err);
    throw new DatabaseOpenError(`Cannot open database '${shown}' (${filename}): ${why}`, {
      cause: err,
    });
  }
  return new Kysely<ConductorDatabase>({ dialect: new SqliteDialect({ database }) });
}

function openPostgres(target: PostgresTarget, logger: Logger): Kysely<ConductorDatabase> {
  const pool = new pg.Pool({
    connectionString: target.connectionString, // its own parameters win over the defaults below
    application_name: 'conductor-ts',
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
  });
  // An idle connection the server drops (restart, pg_terminate_backend) emits 'error' on the pool;
  // unhandled, that kills the process. The pool discards the connection and opens a new one later.
  pool.on('error', (err) =>
    logger.warn({ err }, 'idle PostgreSQL connection lost; the pool will reconnect'),
  );
  // The same can happen while a connection is checked out between two queries, when pg-pool has
  // removed its own listener; the next query on it fails and the pool discards it on release.
  pool.on('connect', (client) =>
    client.on('error', (err) => logger.debug({ err }, 'PostgreSQL connection error')),
  );
  return new Kysely<ConductorDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Kysely takes no migration lock on SQLite, so two processes opening a new database file at once
 * (`conductor run --workers 2`) would both apply the first migration, and one would fail. The whole
 * run happens in one `BEGIN IMMEDIATE` transaction instead: it takes the write lock first (waiting
 * up to the busy timeout), so a second process finds the first one's work done, and a failed
 * migration leaves nothing behind (SQLite's schema changes are transactional).
 */
async function migrateSqlite(db: Kysely<ConductorDatabase>): Promise<MigrationResultSet> {
  await sql`BEGIN IMMEDIATE`.execute(db);
  let outcome: MigrationResultSet;
  try {
    outcome = await conductorMigrator(db, 'sqlite', true).migrateToLatest();
  } catch (err) {
    // No transaction left to roll back (SQLite ends it on some errors): the error below stands.
    await sql`ROLLBACK`.execute(db).catch(() => undefined);
    throw err;
  }
  await sql.raw(outcome.error === undefined ? 'COMMIT' : 'ROLLBACK').execute(db);
  return outcome;
}

async function migrate(
  db: Kysely<ConductorDatabase>,
  dialect: StoreDialect,
  logger: Logger,
  shown: string,
): Promise<void> {
  const { error, results = [] } =
    dialect === 'sqlite'
      ? await migrateSqlite(db)
      : await conductorMigrator(db, dialect).migrateToLatest();
  for (const r of results) {
    if (r.status === 'Success')
      logger.info({ migration: r.migrationName, database: shown }, 'applied database migration');
  }
  if (error === undefined) {
    if (results.length === 0) logger.debug({ database: shown }, 'database schema is up to date');
    return;
  }
  const failed = results.find((r) => r.status === 'Error')?.migrationName;
  const why = errorMessage(error);
  throw new DatabaseMigrationError(
    failed === undefined
      ? `Cannot migrate database '${shown}': ${why}`
      : `Database migration ${failed} failed on '${shown}': ${why}`,
    failed,
    { cause: error },
  );
}
