import { Cron } from 'croner';
import { InvalidPeriodicTaskArg } from '../core/index.js';

/**
 * A cron pattern in a time zone, parsed and stepped by croner (its pattern syntax: 5 fields, or 6
 * with seconds first; `L`, `#`, `W`, names, `@daily` ...; day-of-month and day-of-week OR-ed as in
 * Vixie cron). One schedule per (pattern, zone) is shared by every task that uses it, and the last
 * answer is remembered: a million tasks on one pattern cost one croner step per fire time, not one
 * per task. Times are Unix seconds.
 */
export class CronSchedule {
  readonly pattern: string;
  readonly timezone: string | undefined;
  readonly #cron: Cron;
  #after = NaN;
  #next = NaN;
  #spacing: number | undefined;

  private constructor(pattern: string, timezone: string | undefined, cron: Cron) {
    this.pattern = pattern;
    this.timezone = timezone;
    this.#cron = cron;
  }

  /** The shared schedule of `pattern` in `timezone`; a bad pattern or zone throws (`where` says whose). */
  static of(pattern: string, timezone: string | undefined, where: string): CronSchedule {
    const key = `${pattern}\u0000${timezone ?? ''}`;
    let s = schedules.get(key);
    if (s) return s;
    if (timezone !== undefined) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: timezone });
      } catch {
        throw new InvalidPeriodicTaskArg(
          `${where}: timezone must be an IANA time zone name (e.g. Europe/Berlin), got ${timezone}`,
        );
      }
    }
    let cron: Cron;
    try {
      cron = new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) });
    } catch (err) {
      throw new InvalidPeriodicTaskArg(
        `${where}: cron pattern '${pattern}' is invalid: ${(err as Error).message}`,
      );
    }
    if (cron.nextRun(new Date(0)) === null) {
      throw new InvalidPeriodicTaskArg(`${where}: cron pattern '${pattern}' never fires`);
    }
    s = new CronSchedule(pattern, timezone, cron);
    schedules.set(key, s);
    return s;
  }

  /** The first fire time strictly after `after` (Unix seconds); Infinity when there is none. */
  next(after: number): number {
    if (after === this.#after) return this.#next;
    const d = this.#cron.nextRun(new Date(Math.floor(after * 1000)));
    this.#after = after;
    this.#next = d === null ? Infinity : d.getTime() / 1000;
    // croner steps in whole seconds from the given instant: never answer a time not after `after`.
    if (this.#next <= after) this.#next = this.next(Math.floor(after) + 1);
    return this.#next;
  }

  /**
   * Nominal seconds between fires (for `idle_for` and reports): the gap between the first two fires
   * after the schedule was first asked, computed once. Irregular patterns (`0 9 * * 1-5`) keep
   * that first gap.
   */
  nominalSpacing(fallback: number): number {
    if (this.#spacing === undefined) {
      const a = this.next(Date.now() / 1000);
      const b = this.next(a);
      this.#spacing = Number.isFinite(b - a) && b > a ? b - a : fallback;
    }
    return this.#spacing;
  }

  /** The last fire time at or before `at` that is after `after` (catch-up), or NaN: walks forward. */
  lastBetween(after: number, at: number, limit = 100_000): { last: number; count: number } {
    let t = after;
    let count = 0;
    let last = NaN;
    while (count < limit) {
      const n = this.next(t);
      if (!(n <= at)) break;
      last = n;
      t = n;
      count++;
    }
    return { last, count };
  }
}

const schedules = new Map<string, CronSchedule>();
