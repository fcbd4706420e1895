import { InvalidPeriodicTaskArg } from '../core/index.js';
import { CronSchedule } from './cron.js';

/**
 * What happens when a slot comes while the task's previous run is still going (it ran past its
 * `timeout`, or `allow` let runs overlap): `skip` the slot (counted and logged; the default),
 * `queue-one` (run once more as soon as the previous run ends; later slots meanwhile are skipped),
 * `allow` (run beside it; the scheduler never waits for such a task's runs).
 */
export type OverlapPolicy = 'skip' | 'queue-one' | 'allow';

/**
 * What runs of the slots that passed without a run — the process was down (with a task state
 * store), or the event loop or an earlier task held the scheduler up: `run-once` (one run at once
 * for them all, the default and the original's behaviour), `skip` (none: the task waits for its next
 * slot), `run-all` (every one, back to back). Only slots within `catchupWindow` seconds of now count;
 * older ones are skipped either way. Skipped slots are counted as missed and logged.
 */
export type MissedPolicy = 'skip' | 'run-once' | 'run-all';

const OVERLAPS: readonly OverlapPolicy[] = ['skip', 'queue-one', 'allow'];
const MISSED: readonly MissedPolicy[] = ['skip', 'run-once', 'run-all'];

/** A task's run policies, validated; shared frozen {@link DEFAULT_POLICY} when all are defaults. */
export interface TaskPolicy {
  /** Seconds a run may take before its signal aborts and the scheduler goes on; undefined: none. */
  readonly timeout: number | undefined;
  readonly overlap: OverlapPolicy;
  /** The cron schedule, when the task runs on one instead of a spacing. */
  readonly cron: CronSchedule | undefined;
  readonly missed: MissedPolicy;
  /** Seconds back from now within which missed slots may still run. Infinity by default. */
  readonly catchupWindow: number;
}

export const DEFAULT_POLICY: TaskPolicy = Object.freeze({
  timeout: undefined,
  overlap: 'skip',
  cron: undefined,
  missed: 'run-once',
  catchupWindow: Infinity,
});

/** The policy keys of the task options (validated here, beside the rest in task-options.ts). */
export const POLICY_KEYS = [
  'timeout',
  'overlap',
  'cron',
  'timezone',
  'missed',
  'catchupWindow',
] as const;

function seconds(o: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0) || Number.isNaN(v)) {
    throw new InvalidPeriodicTaskArg(
      `${where}: ${key} must be a positive number of seconds, got ${String(v)}`,
    );
  }
  return v;
}

function choice<T extends string>(
  o: Record<string, unknown>,
  key: string,
  choices: readonly T[],
  dflt: T,
  where: string,
): T {
  const v = o[key] ?? dflt;
  if (!choices.includes(v as T)) {
    throw new InvalidPeriodicTaskArg(
      `${where}: ${key} must be ${choices.join(', ')}; got ${String(v)}`,
    );
  }
  return v as T;
}

/** The policy of a task's options; `undefined` when every policy is the default (the fast path). */
export function validatePolicy(o: Record<string, unknown>, where: string): TaskPolicy | undefined {
  if (!POLICY_KEYS.some((k) => o[k] !== undefined)) return undefined;
  const timeout = seconds(o, 'timeout', where);
  if (timeout === Infinity) throw new InvalidPeriodicTaskArg(`${where}: timeout must be finite`);
  const catchupWindow = seconds(o, 'catchupWindow', where) ?? Infinity;
  const pattern = o['cron'];
  const timezone = o['timezone'];
  if (pattern !== undefined && (typeof pattern !== 'string' || pattern.trim() === '')) {
    throw new InvalidPeriodicTaskArg(`${where}: cron must be a cron pattern string`);
  }
  if (timezone !== undefined && (typeof timezone !== 'string' || timezone === '')) {
    throw new InvalidPeriodicTaskArg(`${where}: timezone must be a time zone name`);
  }
  if (timezone !== undefined && pattern === undefined) {
    throw new InvalidPeriodicTaskArg(`${where}: timezone needs a cron pattern`);
  }
  if (pattern !== undefined && o['spacing'] !== undefined && o['spacing'] !== 0) {
    throw new InvalidPeriodicTaskArg(`${where}: spacing and cron exclude each other; give one`);
  }
  const overlap = choice(o, 'overlap', OVERLAPS, 'skip', where);
  const missed = choice(o, 'missed', MISSED, 'run-once', where);
  const cron =
    pattern === undefined
      ? undefined
      : CronSchedule.of(pattern as string, timezone as string | undefined, where);
  // One frozen policy per distinct set of options: a million tasks on one pattern share one.
  const key = JSON.stringify([
    timeout,
    overlap,
    cron?.pattern,
    cron?.timezone,
    missed,
    catchupWindow,
  ]);
  let policy = policies.get(key);
  if (!policy) {
    policy = Object.freeze({ timeout, overlap, cron, missed, catchupWindow });
    policies.set(key, policy);
  }
  return policy;
}

const policies = new Map<string, TaskPolicy>();
