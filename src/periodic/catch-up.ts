import type { TaskPolicy } from './task-policy.js';

/** Where a task that fell behind goes next, and how many slots it leaves unrun. */
export interface CatchUp {
  /** The next due time (clock seconds): a passed slot to run at once, or a future one. */
  readonly due: number;
  /** Slots that will never run (counted and logged as missed). */
  readonly missed: number;
}

/**
 * A task's grid: `after(t)` is its first slot strictly after `t`. `spacing` is set for a regular
 * grid (the counts are then arithmetic); a cron grid is walked.
 */
export interface Grid {
  after(t: number): number;
  readonly spacing: number | undefined;
}

/** Slots of `grid` in [from, to): `from` is a slot. Walks cron grids, at most `limit` steps. */
function slotsBetween(grid: Grid, from: number, to: number, limit = 1_000_000): number {
  if (!(from < to)) return 0;
  if (grid.spacing !== undefined) return Math.ceil((to - from) / grid.spacing - 1e-9);
  let n = 0;
  for (let t = from; t < to && n < limit; t = grid.after(t)) n++;
  return n;
}

/** The last slot at or before `at`, starting from slot `from` (≤ at). */
function lastAtOrBefore(grid: Grid, from: number, at: number): number {
  if (grid.spacing !== undefined) {
    return from + Math.floor((at - from) / grid.spacing + 1e-9) * grid.spacing;
  }
  let last = from;
  for (let t = grid.after(from); t <= at; t = grid.after(t)) last = t;
  return last;
}

/** The first slot at or after `at`, starting from slot `from`. */
function firstAtOrAfter(grid: Grid, from: number, at: number): number {
  if (from >= at) return from;
  const last = lastAtOrBefore(grid, from, at);
  return last >= at ? last : grid.after(last);
}

/**
 * The missed policy of a task whose next slot `next` has already passed at `now`:
 * - `run-once`: run once at once, for the latest passed slot; the slots before it are missed;
 * - `skip`: run none of them; wait for the first slot after now;
 * - `run-all`: run every one, from `next` on, back to back.
 * Slots older than `now - catchupWindow` never run.
 */
export function catchUp(next: number, now: number, policy: TaskPolicy, grid: Grid): CatchUp {
  if (!(next < now)) return { due: next, missed: 0 };
  const windowStart = now - policy.catchupWindow;
  switch (policy.missed) {
    case 'run-all': {
      if (next >= windowStart) return { due: next, missed: 0 };
      const first = firstAtOrAfter(grid, next, windowStart);
      return { due: first, missed: slotsBetween(grid, next, first) };
    }
    case 'skip': {
      const future = grid.after(lastAtOrBefore(grid, next, now));
      return { due: future, missed: slotsBetween(grid, next, future) };
    }
    case 'run-once': {
      const latest = lastAtOrBefore(grid, next, now);
      if (latest < windowStart) {
        const future = grid.after(latest);
        return { due: future, missed: slotsBetween(grid, next, future) };
      }
      return { due: latest, missed: slotsBetween(grid, next, latest) };
    }
  }
}
