/**
 * Cron tasks on the exact scheduler, checked against croner itself:
 * (a) the fire times across both DST changes of Europe/Berlin and America/New_York in 2026, as
 *     exact UTC instants, equal to croner's own `nextRun()` sequence;
 * (b) 10,000 consecutive runs of a few patterns, one by one against croner's sequence;
 * (c) the missed policies of a cron task whose stored last run was 3 h ago.
 *
 * The virtual clock has no epoch, so clock time is Unix time: `new VirtualClock(Date.UTC(...) / 1000)`.
 *
 * What croner (10.x) does at a DST change, as pinned by (a):
 * - Spring forward (02:00 → 03:00 local; Berlin 2026-03-29, New York 2026-03-08): a wall time that
 *   does not exist that day, such as 02:30, still fires once, at the instant it would have had in
 *   the old offset: 02:30 CET = 01:30 UTC, which reads 03:30 CEST (the same in New York: 07:30 UTC
 *   = 03:30 EDT). (croner's README says such runs are "skipped"; they are not, they move forward by
 *   the gap.) The non-existent fire times of '0 * * * *' and '*\/15 * * * *' land on the instants of
 *   03:00…03:45 and are not duplicated: the 23-hour day has 23 hourly and 92 quarter-hour runs, an
 *   even hour (quarter) apart in UTC.
 * - Fall back (03:00 → 02:00 local; Berlin 2026-10-25, New York 2026-11-01 01:00–02:00): a wall
 *   time that occurs twice fires once, at its first occurrence (summer time). That holds for
 *   wildcard hours too: the repeated hour runs only once, so the 25-hour day has 24 hourly runs
 *   (one gap of 2 h in UTC), not 25, and 96 quarter-hour runs (one gap of 75 min), not 100.
 */
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger, VirtualClock } from '../../src/core/index.js';
import {
  ExactScheduler,
  PeriodicTasks,
  type PeriodicTaskOptions,
  restoreLastRuns,
  type TaskRunEvent,
  type TaskSkipEvent,
} from '../../src/periodic/index.js';
import { captureLogs } from '../helpers/log-capture.js';

/** Tasks on a virtual clock at `start` (Unix seconds), an exact scheduler, and what they did. */
function harness(start: number, logger: Logger = captureLogs().logger) {
  const clock = new VirtualClock(start);
  const runs: TaskRunEvent[] = [];
  const skips: TaskSkipEvent[] = [];
  const tasks = new PeriodicTasks({
    clock,
    logger,
    onTaskRun: (e) => runs.push(e),
    onTaskSkip: (e) => skips.push(e),
  });
  /** Adds a task that records its start times. */
  const add = (name: string, options: PeriodicTaskOptions): number[] => {
    const starts: number[] = [];
    tasks.addPeriodicTask(() => void starts.push(clock.now()), { name, ...options });
    return starts;
  };
  const scheduler = new ExactScheduler(tasks, { spread: 0, logger });
  /** Runs the scheduler until clock time `until`, then stops it. */
  const runUntil = async (until: number) => {
    scheduler.start();
    await clock.advanceTo(until);
    scheduler.stop();
    await scheduler.wait();
  };
  return { clock, tasks, runs, skips, add, scheduler, runUntil };
}

/** croner's own fire times of `pattern` in `timezone` after `from`, up to `until` (Unix seconds). */
function cronerRuns(pattern: string, timezone: string | undefined, from: number, until: number) {
  const cron = new Cron(pattern, timezone === undefined ? {} : { timezone });
  const out: number[] = [];
  for (let d = cron.nextRun(new Date(from * 1000)); d && d.getTime() / 1000 <= until;) {
    out.push(d.getTime() / 1000);
    d = cron.nextRun(d);
  }
  return out;
}

const utc = (t: number): string => new Date(t * 1000).toISOString().replace(':00.000Z', 'Z');
const at = (iso: string): number => Date.parse(iso) / 1000;

/** `YYYY-MM-DD HH:MM+h` wall time of `t` in `zone`, with its UTC offset in hours. */
function wall(t: number, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(t * 1000));
  const p = (type: string): string => parts.find((x) => x.type === type)?.value ?? '';
  const asUtc = Date.UTC(+p('year'), +p('month') - 1, +p('day'), +p('hour'), +p('minute')) / 1000;
  const offset = Math.round((asUtc - Math.floor(t / 60) * 60) / 3600);
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}${offset < 0 ? '' : '+'}${offset}`;
}

const gaps = (xs: readonly number[]): number[] => xs.slice(1).map((x, i) => x - (xs[i] as number));

/** How many of each gap, e.g. `{ 3600: 22, 7200: 1 }`. */
function histogram(xs: readonly number[]): Record<number, number> {
  const h: Record<number, number> = {};
  for (const x of xs) h[x] = (h[x] ?? 0) + 1;
  return h;
}

interface DstDay {
  readonly zone: string;
  readonly kind: 'spring forward' | 'fall back';
  /** Local midnight of the DST day and of the next day (UTC). */
  readonly dayStart: string;
  readonly dayEnd: string;
  /** Hours of the local day. */
  readonly hours: 23 | 25;
  /** The fire times of a daily pattern at a time that does not exist / exists twice that day. */
  readonly daily: {
    readonly pattern: string;
    readonly utc: readonly string[];
    readonly wall: readonly string[];
  };
  /** Gaps (seconds) between consecutive hourly and quarter-hour runs within the DST day. */
  readonly hourlyGaps: Record<number, number>;
  readonly quarterGaps: Record<number, number>;
}

const DST_DAYS: readonly DstDay[] = [
  {
    zone: 'Europe/Berlin',
    kind: 'spring forward',
    dayStart: '2026-03-28T23:00:00Z',
    dayEnd: '2026-03-29T22:00:00Z',
    hours: 23,
    daily: {
      pattern: '30 2 * * *',
      utc: ['2026-03-28T01:30Z', '2026-03-29T01:30Z', '2026-03-30T00:30Z'],
      // 02:30 does not exist on the 29th: it runs at 03:30 CEST (the instant of 02:30 CET).
      wall: ['2026-03-28 02:30+1', '2026-03-29 03:30+2', '2026-03-30 02:30+2'],
    },
    hourlyGaps: { 3600: 22 },
    quarterGaps: { 900: 91 },
  },
  {
    zone: 'Europe/Berlin',
    kind: 'fall back',
    dayStart: '2026-10-24T22:00:00Z',
    dayEnd: '2026-10-25T23:00:00Z',
    hours: 25,
    daily: {
      pattern: '30 2 * * *',
      utc: ['2026-10-24T00:30Z', '2026-10-25T00:30Z', '2026-10-26T01:30Z'],
      // 02:30 comes twice on the 25th (CEST, then CET): it runs once, at the first.
      wall: ['2026-10-24 02:30+2', '2026-10-25 02:30+2', '2026-10-26 02:30+1'],
    },
    // The second 02:00–03:00 (01:00–02:00 UTC) has no run.
    hourlyGaps: { 3600: 22, 7200: 1 },
    quarterGaps: { 900: 94, 4500: 1 },
  },
  {
    zone: 'America/New_York',
    kind: 'spring forward',
    dayStart: '2026-03-08T05:00:00Z',
    dayEnd: '2026-03-09T04:00:00Z',
    hours: 23,
    daily: {
      pattern: '30 2 * * *',
      utc: ['2026-03-07T07:30Z', '2026-03-08T07:30Z', '2026-03-09T06:30Z'],
      wall: ['2026-03-07 02:30-5', '2026-03-08 03:30-4', '2026-03-09 02:30-4'],
    },
    hourlyGaps: { 3600: 22 },
    quarterGaps: { 900: 91 },
  },
  {
    zone: 'America/New_York',
    kind: 'fall back',
    dayStart: '2026-11-01T04:00:00Z',
    dayEnd: '2026-11-02T05:00:00Z',
    hours: 25,
    daily: {
      // In New York the repeated hour is 01:00–02:00.
      pattern: '30 1 * * *',
      utc: ['2026-10-31T05:30Z', '2026-11-01T05:30Z', '2026-11-02T06:30Z'],
      wall: ['2026-10-31 01:30-4', '2026-11-01 01:30-4', '2026-11-02 01:30-5'],
    },
    hourlyGaps: { 3600: 22, 7200: 1 },
    quarterGaps: { 900: 94, 4500: 1 },
  },
];

describe('cron across DST changes (exact UTC instants, equal to croner)', () => {
  for (const day of DST_DAYS) {
    it(`${day.zone} ${day.kind} ${day.dayStart.slice(0, 10)}`, async () => {
      const dayStart = at(day.dayStart);
      const dayEnd = at(day.dayEnd);
      expect(dayEnd - dayStart).toBe(day.hours * 3600);
      // From a day before the DST day to a day after it, all patterns on one scheduler.
      const from = dayStart - 86_400 + 1;
      const until = dayEnd + 86_400 - 1;
      const h = harness(from);
      const patterns = [day.daily.pattern, '0 * * * *', '*/15 * * * *'];
      const starts = patterns.map((cron, k) => h.add(`p${k}`, { cron, timezone: day.zone }));
      await h.runUntil(until);

      patterns.forEach((pattern, k) => {
        // Exactly croner's sequence, instant for instant.
        expect([pattern, starts[k]]).toEqual([pattern, cronerRuns(pattern, day.zone, from, until)]);
      });
      const [daily, hourly, quarter] = starts as [number[], number[], number[]];
      expect(daily.map(utc)).toEqual(day.daily.utc);
      expect(daily.map((t) => wall(t, day.zone))).toEqual(day.daily.wall);

      const within = (xs: number[]) => xs.filter((t) => t >= dayStart && t < dayEnd);
      // One run per local wall hour: 23 on the 23-hour day, 24 (not 25) on the 25-hour day.
      expect(within(hourly)).toHaveLength(day.hours === 23 ? 23 : 24);
      expect(within(quarter)).toHaveLength(day.hours === 23 ? 92 : 96);
      expect(histogram(gaps(within(hourly)))).toEqual(day.hourlyGaps);
      expect(histogram(gaps(within(quarter)))).toEqual(day.quarterGaps);
      // One hourly run per wall-clock hour of the day: each hour (00…23, 02 missing in spring) once, in order.
      expect(within(hourly).map((t) => wall(t, day.zone).slice(11, 13))).toEqual(
        [...new Set(within(hourly).map((t) => wall(t, day.zone).slice(11, 13)))].sort(),
      );
      // Each run was reported with its fire time as its due time, and none was late or skipped.
      expect(h.runs.every((r) => r.scheduledAt === r.startedAt && r.outcome === 'ok')).toBe(true);
      expect(h.skips).toEqual([]);
    });
  }
});

describe('10,000 consecutive cron runs, one by one against croner', () => {
  /**
   * croner's `timezone` option builds an `Intl.DateTimeFormat` for every conversion, about 0.3 ms a
   * `nextRun()`: the scheduler's 10,000 steps in Europe/Berlin take about 3 s by themselves. The
   * reference sequence for a zone is therefore croner's local-time path with the process in that
   * zone (`TZ`, restored after): the same library through an independent code path, 20× faster.
   */
  const reference = (pattern: string, zone: string | undefined, from: number, n: number) => {
    const saved = process.env['TZ'];
    if (zone !== undefined) process.env['TZ'] = zone;
    try {
      const cron = new Cron(pattern);
      const out: number[] = [];
      let d: Date | null = new Date(from * 1000);
      while (out.length < n && (d = cron.nextRun(d)) !== null) out.push(d.getTime() / 1000);
      return out;
    } finally {
      if (zone === undefined) {
        // Untouched.
      } else if (saved === undefined) delete process.env['TZ'];
      else process.env['TZ'] = saved;
    }
  };

  /** The first index where the runs differ from the reference, described; undefined if none. */
  const firstMismatch = (got: readonly number[], want: readonly number[]): string | undefined => {
    for (let i = 0; i < Math.max(got.length, want.length); i++) {
      const g = got[i];
      const w = want[i];
      if (g !== w) {
        return `run ${i}: got ${g === undefined ? 'none' : utc(g)}, croner ${w === undefined ? 'none' : utc(w)}`;
      }
    }
    return undefined;
  };

  const N = 10_000;
  const FROM = Date.UTC(2026, 0, 1, 0, 0, 3) / 1000;
  const cases: readonly { pattern: string; zone?: string }[] = [
    { pattern: '*/5 * * * *' },
    { pattern: '0 9 * * 1-5', zone: 'Europe/Berlin' },
    { pattern: '0 0 1 * *' },
    { pattern: '*/7 * * * * *' },
  ];

  for (const { pattern, zone } of cases) {
    it(`'${pattern}'${zone ? ` in ${zone}` : ' (process zone)'}`, async () => {
      const want = reference(pattern, zone, FROM, N);
      expect(want).toHaveLength(N);
      const h = harness(FROM, createLogger({ level: 'silent' }));
      const starts = h.add('c', { cron: pattern, ...(zone ? { timezone: zone } : {}) });
      // One big step: the clock wakes the scheduler at each fire time on the way.
      await h.runUntil(want[N - 1] as number);
      expect(firstMismatch(starts, want)).toBeUndefined();
      expect(h.runs).toHaveLength(N);
      expect(h.runs.every((r, i) => r.scheduledAt === want[i] && r.startedAt === want[i])).toBe(
        true,
      );
      expect(h.skips).toEqual([]);
      expect(h.scheduler.schedule()[0]?.missedRuns).toBe(0);
    }, 30_000);
  }
});

describe('missed cron slots after the process was down (restored last run 3 h ago)', () => {
  // Now is 12:07 UTC; the stored last run was at 09:07. '*/15' fire times passed meanwhile: 09:15,
  // 09:30, …, 12:00 (12 of them); the next is 12:15.
  const NOW = at('2026-06-01T12:07:00Z');
  const LAST = NOW - 3 * 3600;
  const passed = Array.from({ length: 12 }, (_, k) => at('2026-06-01T09:15:00Z') + 900 * k);

  const downFor3h = async (options: PeriodicTaskOptions, pattern = '*/15 * * * *') => {
    const h = harness(NOW);
    const starts = h.add('report', { cron: pattern, timezone: 'Europe/Berlin', ...options });
    restoreLastRuns(h.tasks, new Map([['report', LAST]]));
    await h.runUntil(NOW + 1800); // to 12:37
    const scheduled = h.runs.map((r) => utc(r.scheduledAt));
    return { ...h, starts, scheduled };
  };

  it('run-once (default): one run at once, for the latest passed slot; the 11 before are missed', async () => {
    const h = await downFor3h({});
    expect(h.starts.map(utc)).toEqual([
      '2026-06-01T12:07Z',
      '2026-06-01T12:15Z',
      '2026-06-01T12:30Z',
    ]);
    expect(h.scheduled).toEqual(['2026-06-01T12:00Z', '2026-06-01T12:15Z', '2026-06-01T12:30Z']);
    expect(h.skips).toEqual([
      expect.objectContaining({ reason: 'missed', count: 11, scheduledAt: passed[0] }),
    ]);
    expect(h.scheduler.schedule()[0]?.missedRuns).toBe(11);
  });

  it('skip: none of them; the task waits for its next fire time', async () => {
    const h = await downFor3h({ missed: 'skip' });
    expect(h.starts.map(utc)).toEqual(['2026-06-01T12:15Z', '2026-06-01T12:30Z']);
    expect(h.skips).toEqual([
      expect.objectContaining({ reason: 'missed', count: 12, scheduledAt: passed[0] }),
    ]);
  });

  it('run-all: every passed fire time, back to back at once, in order; then the schedule', async () => {
    const h = await downFor3h({ missed: 'run-all' });
    expect(h.starts.slice(0, 12)).toEqual(Array(12).fill(NOW));
    expect(h.runs.slice(0, 12).map((r) => r.scheduledAt)).toEqual(passed);
    expect(h.starts.slice(12).map(utc)).toEqual(['2026-06-01T12:15Z', '2026-06-01T12:30Z']);
    expect(h.skips).toEqual([]);
  });

  it('run-all with catchupWindow 1 h: only the fire times since 11:07 run; the 8 before are missed', async () => {
    const h = await downFor3h({ missed: 'run-all', catchupWindow: 3600 });
    expect(h.runs.filter((r) => r.startedAt === NOW).map((r) => r.scheduledAt)).toEqual(
      passed.slice(8),
    );
    expect(h.skips).toEqual([
      expect.objectContaining({ reason: 'missed', count: 8, scheduledAt: passed[0] }),
    ]);
    expect(h.starts.filter((t) => t > NOW).map(utc)).toEqual([
      '2026-06-01T12:15Z',
      '2026-06-01T12:30Z',
    ]);
  });

  it('run-once with catchupWindow: the latest passed slot runs only if it is within the window', async () => {
    // 12:00 is 7 min ago: inside a 10 min window, outside a 5 min one.
    const inside = await downFor3h({ catchupWindow: 600 });
    expect(inside.scheduled[0]).toBe('2026-06-01T12:00Z');
    expect(inside.skips[0]).toMatchObject({ reason: 'missed', count: 11 });
    const outside = await downFor3h({ catchupWindow: 300 });
    expect(outside.starts.map(utc)).toEqual(['2026-06-01T12:15Z', '2026-06-01T12:30Z']);
    expect(outside.skips[0]).toMatchObject({ reason: 'missed', count: 12 });
  });

  it('skip with catchupWindow: the same as skip', async () => {
    const h = await downFor3h({ missed: 'skip', catchupWindow: 600 });
    expect(h.starts.map(utc)).toEqual(['2026-06-01T12:15Z', '2026-06-01T12:30Z']);
    expect(h.skips[0]).toMatchObject({ reason: 'missed', count: 12 });
  });

  it("the catch-up walks croner's fire times: 3 h down across the fall-back night is 2 hourly slots", async () => {
    // Berlin 2026-10-25: down from 23:30 UTC (01:30 CEST) to 02:30 UTC (03:30 CET). The hourly fire
    // times that passed are 00:00 UTC (02:00 CEST) and 02:00 UTC (03:00 CET): the repeated 02:00 CET
    // (01:00 UTC) is not one of them (see the top of the file); a spacing of 3600 would count 3.
    const now = at('2026-10-25T02:30:00Z');
    const fires = cronerRuns('0 * * * *', 'Europe/Berlin', now - 3 * 3600, now);
    expect(fires.map(utc)).toEqual(['2026-10-25T00:00Z', '2026-10-25T02:00Z']);
    for (const [missed, ran, count] of [
      ['run-all', fires, 0],
      ['run-once', fires.slice(1), 1],
      ['skip', [], 2],
    ] as const) {
      const h = harness(now);
      h.add('hourly', { cron: '0 * * * *', timezone: 'Europe/Berlin', missed });
      restoreLastRuns(h.tasks, new Map([['hourly', now - 3 * 3600]]));
      await h.runUntil(now + 3600);
      const atStart = h.runs.filter((r) => r.startedAt === now).map((r) => r.scheduledAt);
      expect([missed, atStart]).toEqual([missed, ran]);
      expect([missed, h.skips.reduce((n, s) => n + s.count, 0)]).toEqual([missed, count]);
      // Then the schedule: 03:00 UTC (04:00 CET).
      expect(h.runs.filter((r) => r.startedAt > now).map((r) => utc(r.startedAt))).toEqual([
        '2026-10-25T03:00Z',
      ]);
    }
  });
});
