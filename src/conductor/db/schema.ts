import type { Generated } from 'kysely';

// Column types as the drivers see them. The dialects store timestamps and booleans differently
// (see codec.ts), so the row types admit both; only the codec converts them.

/** `timestamptz` (a `Date`) on PostgreSQL, ISO-8601 UTC text on SQLite. */
export type DbTimestamp = Date | string;
/** `boolean` on PostgreSQL, 0/1 on SQLite. */
export type DbBoolean = boolean | number;
/** A serial id: a number, or a string for PostgreSQL's `bigint`. */
export type DbSerial = number | string;
/** A `bigint` count: a number on SQLite, a string from PostgreSQL (written as a number). */
export type DbBigint = number | string;

/** `vims`: the registered Virtual Infrastructure Managers. */
export interface VimsTable {
  id: string;
  name: string;
  type: Generated<string>;
  auth_url: string;
  description: Generated<string>;
  tenant_id: string | null;
  status: string;
  is_default: Generated<DbBoolean>;
  created_at: DbTimestamp;
  updated_at: DbTimestamp | null;
}

/** `events`: what happened to a resource (one row per VIM status change). */
export interface EventsTable {
  id: Generated<DbSerial>;
  resource_id: string;
  resource_type: string;
  resource_state: string;
  event_type: string;
  event_details: string;
  timestamp: DbTimestamp;
}

/** `services`: one row per (host, binary), the heartbeat of each running service. */
export interface ServicesTable {
  id: Generated<DbSerial>;
  host: string;
  binary: string;
  topic: string;
  report_count: Generated<number>;
  disabled: Generated<DbBoolean>;
  created_at: DbTimestamp;
  updated_at: DbTimestamp | null;
}

/** `task_states`: one row per (service, task, scope), the remembered state of a periodic task. */
export interface TaskStatesTable {
  service: string;
  task: string;
  scope: string;
  last_scheduled: DbTimestamp | null;
  last_start: DbTimestamp | null;
  last_end: DbTimestamp | null;
  outcome: string | null;
  error: string | null;
  run_count: Generated<DbBigint>;
  missed_count: Generated<DbBigint>;
  skipped_count: Generated<DbBigint>;
  timeout_count: Generated<DbBigint>;
  updated_at: DbTimestamp;
}

/** The Kysely database type of the conductor store. */
export interface ConductorDatabase {
  vims: VimsTable;
  events: EventsTable;
  services: ServicesTable;
  task_states: TaskStatesTable;
}
