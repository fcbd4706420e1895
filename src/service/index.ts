/**
 * `conductor-ts/service`: Manager, Service, launchers and `importClass` (oslo.service's service
 * module with Tacker's glue). Imports periodic, looping, messaging and core.
 * @packageDocumentation
 */
export { Manager, type ManagerClass, type ManagerOptions, type HealthCheck } from './manager.js';
export {
  Service,
  type ServiceOptions,
  type PeriodicMode,
  type ServiceTaskInfo,
} from './service.js';
export type { ServiceBase } from './service-base.js';
export { importClass, type AnyClass } from './import-class.js';
export { ReloadableService } from './reloadable.js';
export { ImportClassError } from '../core/errors.js';
export * from './launcher.js';
