/**
 * `conductor-ts/conductor`: the Tacker conductor — the {@link Conductor} manager (`update_vim`, the
 * VIM monitor, heartbeats), its store (Kysely over SQLite or PostgreSQL) and its options. The default
 * manager of `conductor run`. Imports service and the layers below it.
 * @packageDocumentation
 */
export {
  Conductor,
  conductorConfig,
  type ConductorOptions,
  type UpdateVimArgs,
} from './conductor.js';
export {
  conductorOptions,
  conductorOptionSets,
  conductorDefaultOptions,
  databaseOptions,
  vimMonitorOptions,
  TACKER_DEFAULTS,
  vimMonitorConfig,
  type VimMonitorConfig,
} from './options.js';
export {
  VimMonitor,
  type VimMonitorOptions,
  type VimMonitorReport,
  type ApplyVimStatus,
} from './monitor.js';
export { probeUrl, probeAll, type ProbeResult, type ProbeOptions } from './probe.js';
export {
  InvalidRpcArgumentError,
  VimNotFoundError,
  VimExistsError,
  InvalidVimError,
  InvalidVimStatusError,
  DatabaseUrlError,
  DatabaseOpenError,
  DatabaseUnavailable,
  DatabaseOutcomeUnknown,
  DatabaseMigrationError,
  StoreClosedError,
  StoreNotOpenError,
  InvalidStoreArgument,
  InvalidProbeOption,
} from './errors.js';
export * from './db/index.js';
