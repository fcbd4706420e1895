/**
 * `conductor-ts/service`: Manager, Service, launchers and `importClass` (oslo.service's service
 * module with Tacker's glue), and the options a service process reads. Imports config, periodic,
 * looping, messaging, coordination and core.
 * @packageDocumentation
 */
export {
  Manager,
  type ManagerClass,
  type ManagerOptions,
  type HealthCheck,
  isManagerClass,
  assertManagerClass,
} from './manager.js';
export {
  Service,
  type ServiceOptions,
  type ServiceTaskInfo,
  type ServiceCoordinationOptions,
  type ServiceWorkInProgress,
} from './service.js';
export { ClusterPlacement } from './cluster-placement.js';
export {
  opsView,
  hasOpsView,
  type OpsViewProvider,
  type OpsViewSection,
  type OpsCell,
  type OpsBadge,
  type OpsBadgeTone,
  type OpsTime,
} from './ops-view.js';
export {
  serviceOptions,
  serviceProcessOptions,
  serviceOptionsFromConfig,
  coordinationFromConfig,
  resolveServiceOptions,
  SERVICE_DEFAULTS,
  type PeriodicMode,
  type ServiceTimings,
  type ServiceTimingOptions,
} from './options.js';
export type { ServiceBase } from './service-base.js';
export { importClass, type AnyClass } from './import-class.js';
export { ReloadableService } from './reloadable.js';
export {
  ImportClassError,
  InvalidServiceOption,
  NotAManagerError,
  InvalidWorkerCount,
  NotAServiceError,
  ServiceFactoryRequired,
  NotPrimaryProcess,
} from '../core/errors.js';
export * from './launcher.js';
