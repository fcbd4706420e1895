/**
 * `conductor-ts/periodic`: the `@periodicTask` decorator, `PeriodicTasks` (oslo.service's
 * periodic_task) and the exact scheduler. Imports only `core`.
 * @packageDocumentation
 */
export { periodicTask } from './decorator.js';
export { periodicOptions } from './options.js';
export { DEFAULT_INTERVAL, type PeriodicTaskOptions } from './task-options.js';
export {
  type TaskPlacementKind,
  type TaskPlacement,
  type TaskRun,
  type PlacedTask,
  localRun,
  slotAt,
} from './placement.js';
export {
  setTaskPlacement,
  restoreLastRuns,
  PeriodicTasks,
  type TaskSkipEvent,
  type PeriodicTasksOptions,
  type PeriodicTaskInfo,
  type TaskRunEvent,
} from './periodic-tasks.js';
export {
  ExactScheduler,
  type ExactSchedulerOptions,
  type ScheduledTask,
} from './exact-scheduler.js';
export type { OverlapPolicy, MissedPolicy } from './task-policy.js';
export { CronSchedule } from './cron.js';
export {
  MemoryTaskStateStore,
  emptyTaskState,
  type TaskState,
  type TaskStateStore,
  type TaskKey,
  type TaskOutcome,
} from './task-state.js';
export {
  TaskTimeoutError,
  InvalidPeriodicTaskArg,
  InvalidPeriodicOption,
  UnknownPeriodicTask,
} from '../core/errors.js';
