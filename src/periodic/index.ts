/**
 * `conductor-ts/periodic`: the `@periodicTask` decorator, `PeriodicTasks` (oslo.service's
 * periodic_task) and the exact scheduler. Imports only `core`.
 * @packageDocumentation
 */
export { periodicTask } from './decorator.js';
export { DEFAULT_INTERVAL, type PeriodicTaskOptions } from './options.js';
export {
  PeriodicTasks,
  type PeriodicTasksOptions,
  type PeriodicTaskInfo,
  type TaskRunEvent,
} from './periodic-tasks.js';
export {
  ExactScheduler,
  type ExactSchedulerOptions,
  type ScheduledTask,
} from './exact-scheduler.js';
export { InvalidPeriodicTaskArg } from '../core/errors.js';
