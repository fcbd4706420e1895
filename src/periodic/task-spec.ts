import type { Logger, RequestContext } from '../core/index.js';
import type { TaskPlacementKind, TaskRun } from './placement.js';
import { DEFAULT_INTERVAL, type ValidatedTaskOptions } from './task-options.js';
import type { TaskPolicy } from './task-policy.js';

/**
 * A periodic task function: called with the owning instance as `this`, the request context and the
 * run (its placement, abort signal, fencing token and share of keys).
 */
export type PeriodicTaskFn = (this: unknown, ctx: RequestContext, run: TaskRun) => unknown;

/** One registered task: what the original keeps as attributes on the decorated function. */
export interface TaskSpec {
  readonly name: string;
  readonly fn: PeriodicTaskFn;
  /** Seconds, > 0 (0 was replaced by DEFAULT_INTERVAL at registration). */
  readonly spacing: number;
  readonly runImmediately: boolean;
  readonly externalProcessOk: boolean;
  readonly placement: TaskPlacementKind;
  /** Run policies (timeout, overlap, cron, missed); undefined when all are defaults. */
  readonly policy: TaskPolicy | undefined;
}

/**
 * The original's `_add_periodic_task`: a negative spacing or a disabled task is logged at INFO and not
 * registered (returns undefined); spacing 0 becomes DEFAULT_INTERVAL.
 */
export function makeTaskSpec(
  fn: PeriodicTaskFn,
  name: string,
  opts: ValidatedTaskOptions,
  logger: Logger,
): TaskSpec | undefined {
  if (opts.spacing < 0) {
    logger.info(`Skipping periodic task ${name} because its interval is negative`);
    return undefined;
  }
  if (!opts.enabled) {
    logger.info(`Skipping periodic task ${name} because it is disabled`);
    return undefined;
  }
  return Object.freeze({
    name,
    fn,
    spacing: opts.policy?.cron
      ? opts.policy.cron.nominalSpacing(DEFAULT_INTERVAL)
      : opts.spacing === 0
        ? DEFAULT_INTERVAL
        : opts.spacing,
    runImmediately: opts.runImmediately,
    externalProcessOk: opts.externalProcessOk,
    placement: opts.placement,
    policy: opts.policy,
  });
}
