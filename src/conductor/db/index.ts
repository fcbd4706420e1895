/**
 * The Tacker conductor's storage: VIMs, their status events, service heartbeats and the periodic
 * tasks' states in SQLite or PostgreSQL (Kysely, the same queries on both), with versioned
 * migrations applied at open.
 * @packageDocumentation
 */
export { openStore, type OpenStoreOptions } from './open.js';
export { ConductorStore, DEFAULT_EVENT_LIMIT } from './store.js';
export { KyselyTaskStateStore } from './task-states.js';
export {
  parseDatabaseUrl,
  type DatabaseTarget,
  type SqliteTarget,
  type PostgresTarget,
} from './url.js';
export {
  VIM_STATUSES,
  isVimStatus,
  MAX_VIM_ID_LENGTH,
  type VimStatus,
  type Vim,
  type RegisterVimInput,
  type VimEvent,
} from './vim.js';
export { isServiceUp, type ServiceRecord, type ServiceReport } from './service-record.js';
export type { StoreDialect } from './codec.js';
export type { ConductorDatabase } from './schema.js';
export { MIGRATION_TABLE } from './migrations.js';
