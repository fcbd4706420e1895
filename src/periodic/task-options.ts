import { InvalidPeriodicTaskArg } from '../core/index.js';
import { PLACEMENTS, type TaskPlacementKind } from './placement.js';
import {
  type MissedPolicy,
  type OverlapPolicy,
  POLICY_KEYS,
  type TaskPolicy,
  validatePolicy,
} from './task-policy.js';

/** Seconds between runs of a task whose spacing is 0 or absent (oslo's `DEFAULT_INTERVAL`). */
export const DEFAULT_INTERVAL = 60;

/** Options of `@periodicTask(...)` and `addPeriodicTask(fn, ...)`. */
export interface PeriodicTaskOptions {
  /** Seconds between runs. 0 or absent → {@link DEFAULT_INTERVAL}; negative → the task is skipped. */
  spacing?: number;
  /** Run at the first pass instead of one spacing after the instance was built. Default false. */
  runImmediately?: boolean;
  /** May run in an external process; skipped when `runExternalPeriodicTasks` is false. Default false. */
  externalProcessOk?: boolean;
  /** A disabled task is not registered. Default true. */
  enabled?: boolean;
  /** Name in logs and in the schedule; default the method's (or function's) name. */
  name?: string;
  /**
   * Where it runs when the service has replicas: `every-replica` (default, the original),
   * `once-per-cluster` (one replica per slot, under a lease) or `sharded` (each replica its share of
   * the keys). Cluster tasks (the last two) run on the cluster's grid: multiples of `spacing` in Unix
   * time, so every replica agrees on the slots.
   */
  placement?: TaskPlacementKind;
  /**
   * Seconds a run may take: at the deadline its `run.signal` aborts (with `TaskTimeoutError`), the
   * run is reported as overrunning, and the scheduler goes on without it. Default none (the
   * scheduler waits for every run, as the original does).
   */
  timeout?: number;
  /** When a slot comes while the previous run still goes: `skip` (default), `queue-one`, `allow`. */
  overlap?: OverlapPolicy;
  /**
   * A cron pattern (croner's syntax, e.g. `'*\/5 * * * *'`, 6 fields for seconds) instead of a
   * spacing; fire times are in `timezone` (default the process's), DST handled by croner.
   */
  cron?: string;
  /** IANA time zone of `cron`, e.g. `Europe/Berlin`. */
  timezone?: string;
  /** What runs of slots that passed without a run: `run-once` (default), `skip`, `run-all`. */
  missed?: MissedPolicy;
  /** Seconds back from now within which missed slots may still run. Default no limit. */
  catchupWindow?: number;
}

/** Options after validation, with defaults applied (spacing 0 is still 0 here). */
export interface ValidatedTaskOptions {
  spacing: number;
  runImmediately: boolean;
  externalProcessOk: boolean;
  enabled: boolean;
  name: string | undefined;
  placement: TaskPlacementKind;
  /** Undefined when every run policy is the default. */
  policy: TaskPolicy | undefined;
}

const KNOWN: ReadonlySet<string> = new Set([
  'spacing',
  'runImmediately',
  'externalProcessOk',
  'enabled',
  'name',
  'placement',
  ...POLICY_KEYS,
]);
const SNAKE_HINTS: Readonly<Record<string, string>> = {
  run_immediately: 'runImmediately',
  external_process_ok: 'externalProcessOk',
};

/**
 * Checks options once, at decoration (or `addPeriodicTask`) time, so a typo fails at import and not
 * at the first run. `ticksBetweenRuns` is rejected as the original rejects `ticks_between_runs`.
 */
export function validateTaskOptions(options: unknown, where: string): ValidatedTaskOptions {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidPeriodicTaskArg(`${where}: options must be an object, got ${typeof options}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key === 'ticksBetweenRuns' || key === 'ticks_between_runs') {
      throw new InvalidPeriodicTaskArg(
        `Unexpected argument for periodic task creation: ${key}. (${where}; use spacing)`,
      );
    }
    if (!KNOWN.has(key)) {
      const hint = SNAKE_HINTS[key] ? `; did you mean ${SNAKE_HINTS[key]}?` : '';
      throw new InvalidPeriodicTaskArg(
        `${where}: unknown option '${key}'${hint} (known: ${[...KNOWN].join(', ')})`,
      );
    }
  }
  const spacing = o['spacing'] ?? 0;
  if (typeof spacing !== 'number' || !Number.isFinite(spacing)) {
    throw new InvalidPeriodicTaskArg(
      `${where}: spacing must be a finite number of seconds, got ${String(spacing)}`,
    );
  }
  const flag = (key: string, dflt: boolean): boolean => {
    const v = o[key] ?? dflt;
    if (typeof v !== 'boolean')
      throw new InvalidPeriodicTaskArg(`${where}: ${key} must be a boolean, got ${String(v)}`);
    return v;
  };
  const name = o['name'];
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new InvalidPeriodicTaskArg(`${where}: name must be a non-empty string`);
  }
  const placement = o['placement'] ?? 'every-replica';
  if (!PLACEMENTS.includes(placement as TaskPlacementKind)) {
    throw new InvalidPeriodicTaskArg(
      `${where}: placement must be ${PLACEMENTS.join(', ')}; got ${String(placement)}`,
    );
  }
  return {
    spacing,
    runImmediately: flag('runImmediately', false),
    externalProcessOk: flag('externalProcessOk', false),
    enabled: flag('enabled', true),
    name,
    placement: placement as TaskPlacementKind,
    policy: validatePolicy(o, where),
  };
}
