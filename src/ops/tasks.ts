import type { Service } from '../service/index.js';
import { describeError } from './describe.js';
import type { ServiceMetrics } from './metrics.js';

/**
 * One periodic task as `/tasks` (and the dashboard) shows it; times are ISO-8601, unknown values
 * null, seconds never below 0.
 */
export interface TaskRow {
  readonly name: string;
  readonly spacing: number;
  readonly cron: string | null;
  readonly timezone: string | null;
  readonly placement: string;
  readonly timeout: number | null;
  readonly leaseHeld?: boolean;
  readonly lastRun: string | null;
  readonly lastDuration: number | null;
  readonly nextDue: string | null;
  readonly lateness: number | null;
  readonly outcome: string | null;
  readonly lastError: string | null;
  readonly runs: number;
  readonly missed: number;
  readonly skipped: number;
  readonly timeouts: number;
}

/**
 * The rows of `/tasks`: each task's schedule with its last run, from the task state the service
 * keeps (which a state store carries across restarts), else from what the metrics saw in this
 * process.
 */
export function taskRows(service: Service, metrics: ServiceMetrics): TaskRow[] {
  // Clock seconds to wall time, anchored at one reading of both clocks; a stored state's Unix
  // seconds to clock seconds by the clock's epoch (as the state recorder wrote them).
  const now = service.clock.now();
  const epoch = service.clock.epoch ?? 0;
  const wall = Date.now();
  const iso = (t: number | null | undefined): string | null => {
    if (t === null || t === undefined) return null;
    const ms = wall + (t - now) * 1000;
    return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
  };
  const fromUnix = (t: number | null): number | null => (t === null ? null : t - epoch);
  return service.tasks().map((t): TaskRow => {
    const stats = metrics.taskStats(t.name);
    const counts = metrics.taskCounts(t.name);
    const state = t.state;
    const head = {
      name: t.name,
      spacing: t.spacing,
      cron: t.cron,
      timezone: t.timezone,
      placement: t.placement,
      timeout: t.timeout,
      ...(t.leaseHeld !== undefined ? { leaseHeld: t.leaseHeld } : {}),
    };
    if (state) {
      const { lastScheduled, lastStart, lastEnd, outcome } = state;
      const duration =
        lastStart !== null && lastEnd !== null
          ? lastEnd - lastStart
          : outcome === 'timeout'
            ? t.timeout
            : null;
      return {
        ...head,
        lastRun: iso(fromUnix(lastStart)),
        lastDuration: seconds(duration),
        nextDue: iso(t.nextDue),
        lateness:
          lastStart !== null && lastScheduled !== null ? seconds(lastStart - lastScheduled) : null,
        outcome,
        lastError: state.error === null ? null : describeError(state.error),
        runs: state.runCount,
        missed: state.missedCount,
        skipped: state.skippedCount,
        timeouts: state.timeoutCount,
      };
    }
    return {
      ...head,
      lastRun: iso(stats?.lastStartedAt),
      lastDuration: seconds(stats?.lastDuration ?? null),
      nextDue: iso(t.nextDue),
      lateness: seconds(stats?.lateness ?? null),
      outcome: stats?.lastOutcome ?? null,
      lastError: stats?.lastError ?? null,
      runs: counts.runs,
      missed: counts.missed,
      skipped: counts.skipped,
      timeouts: counts.timeouts,
    };
  });
}

/** Seconds for a response: never below 0, to the microsecond (no float noise), null if unknown. */
export function seconds(s: number | null): number | null {
  if (s === null || !Number.isFinite(s)) return null;
  return Math.round(Math.max(0, s) * 1e6) / 1e6;
}
