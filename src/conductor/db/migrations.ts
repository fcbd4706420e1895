import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { StoreDialect } from './codec.js';

/** Table where applied migrations are recorded (Kysely's `Migrator` bookkeeping). */
export const MIGRATION_TABLE = 'conductor_migration';
/** Kysely's migration lock table. */
export const MIGRATION_LOCK_TABLE = 'conductor_migration_lock';

/** Column types that differ between the dialects; the DDL below is otherwise shared. */
function types(dialect: StoreDialect) {
  const pg = dialect === 'postgres';
  return {
    timestamp: pg ? 'timestamptz' : 'text',
    boolean: pg ? 'boolean' : 'integer',
    false: pg ? false : 0,
    bigint: pg ? 'bigint' : 'integer',
  } as const;
}

/** 0001: vims, events, services as in Tacker (snake_case columns). */
function initial(dialect: StoreDialect): Migration {
  const t = types(dialect);
  // `integer primary key autoincrement` on SQLite (never reuses ids); bigserial/serial on PostgreSQL.
  const serial = (big: boolean) =>
    dialect === 'postgres' ? (big ? 'bigserial' : 'serial') : 'integer';
  const autoinc = dialect === 'sqlite';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('vims')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull().defaultTo('openstack'))
        .addColumn('auth_url', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('tenant_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('is_default', t.boolean, (c) => c.notNull().defaultTo(t.false))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp)
        .addUniqueConstraint('uq_vims_name', ['name'])
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('id', serial(true), (c) =>
          autoinc ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_state', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('event_details', 'text', (c) => c.notNull())
        .addColumn('timestamp', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('ix_events_resource_id_timestamp')
        .on('events')
        .columns(['resource_id', 'timestamp'])
        .execute();
      await db.schema
        .createTable('services')
        .addColumn('id', serial(false), (c) =>
          autoinc ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('binary', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('report_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled', t.boolean, (c) => c.notNull().defaultTo(t.false))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp)
        .addUniqueConstraint('uq_services_host_binary', ['host', 'binary'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('services').execute();
      await db.schema.dropTable('events').execute();
      await db.schema.dropTable('vims').execute();
    },
  };
}

/**
 * 0002: `task_states`, what services remember of their periodic tasks (see `TaskStateStore`), one
 * row per (service, task, scope). The key columns compare by code point on both dialects (SQLite's
 * BINARY, PostgreSQL's "C"), so lists come back in the same order whatever the server's locale.
 */
function taskStates(dialect: StoreDialect): Migration {
  const t = types(dialect);
  // On PostgreSQL the key columns carry their collation (the primary key's index uses it too).
  const key = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('task_states')
        .addColumn('service', key, (c) => c.notNull())
        .addColumn('task', key, (c) => c.notNull())
        .addColumn('scope', key, (c) => c.notNull())
        .addColumn('last_scheduled', t.timestamp)
        .addColumn('last_start', t.timestamp)
        .addColumn('last_end', t.timestamp)
        .addColumn('outcome', 'text')
        .addColumn('error', 'text')
        .addColumn('run_count', t.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('missed_count', t.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('skipped_count', t.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('timeout_count', t.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_task_states', ['service', 'task', 'scope'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('task_states').execute();
    },
  };
}

/** Every migration, by name; names sort in the order they apply. */
export function conductorMigrations(dialect: StoreDialect): Record<string, Migration> {
  return { '0001_initial': initial(dialect), '0002_task_states': taskStates(dialect) };
}

/** The in-code migration source (no migration files to ship or find at run time). */
export class ConductorMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: StoreDialect) {}

  /** The migrations of this provider's dialect. */
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(conductorMigrations(this.dialect));
  }
}

/**
 * A Kysely `Migrator` over the conductor migrations and bookkeeping tables. `ownTransaction`: the
 * caller has opened the transaction the migrations run in (see `openStore` on SQLite).
 */
export function conductorMigrator<DB>(
  db: Kysely<DB>,
  dialect: StoreDialect,
  ownTransaction = false,
): Migrator {
  return new Migrator({
    db,
    provider: new ConductorMigrationProvider(dialect),
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(ownTransaction ? { disableTransactions: true } : {}),
  });
}
