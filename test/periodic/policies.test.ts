/**
 * Run policies on the virtual clock: timeouts (a run that never settles), overlap (skip, queue-one,
 * allow), missed-slot catch-up after a process was down (restored last runs) with each policy and a
 * catch-up window, cron schedules, and option errors.
 */
import { describe, expect, it } from 'vitest';
import { type RequestContext, TaskTimeoutError, VirtualClock } from '../../src/core/index.js';
import {
  ExactScheduler,
  PeriodicTasks,
  type PeriodicTaskOptions,
  restoreLastRuns,
  type TaskRun,
  type TaskRunEvent,
  type TaskSkipEvent,
} from '../../src/periodic/index.js';
import { captureLogs } from '../helpers/log-capture.js';

type Body = (ctx: RequestContext, run: TaskRun) => unknown;

/** Tasks on a clock, an exact scheduler, and what they did. */
function harness(start = 0) {
  const clock = new VirtualClock(start);
  const runs: TaskRunEvent[] = [];
  const skips: TaskSkipEvent[] = [];
  const { logger, lines } = captureLogs();
  const tasks = new PeriodicTasks({
    clock,
    logger,
    onTaskRun: (e) => runs.push(e),
    onTaskSkip: (e) => skips.push(e),
  });
  const add = (name: string, options: PeriodicTaskOptions, body: Body = () => undefined) =>
    tasks.addPeriodicTask(body, { name, ...options });
  const scheduler = () => new ExactScheduler(tasks, { spread: 0, logger });
  const run = async (seconds: number, s = scheduler()) => {
    s.start();
    await clock.advance(seconds);
    s.stop();
    // A run still going (before its timeout) is waited for: let its time pass.
    let done = false;
    void s.wait().then(() => (done = true));
    for (let i = 0; i < 100 && !done; i++) await clock.advance(1);
    await s.wait();
    return s;
  };
  return { clock, tasks, runs, skips, lines, add, run };
}

const never = () => new Promise<never>(() => undefined);

describe('timeout', () => {
  it('a run that never settles is aborted at its deadline, reported, and holds nobody back', async () => {
    const h = harness();
    const signals: AbortSignal[] = [];
    const others: number[] = [];
    h.add('hung', { spacing: 60, runImmediately: true, timeout: 5 }, (_c, run) => {
      signals.push(run.signal);
      return never();
    });
    h.add('other', { spacing: 1, runImmediately: true }, () => void others.push(h.clock.now()));
    await h.run(10);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(TaskTimeoutError);
    expect((signals[0]?.reason as Error).message).toBe(
      'Periodic task PeriodicTasks.hung ran past its timeout of 5 s',
    );
    const hung = h.runs.filter((r) => r.name === 'hung');
    expect(hung).toHaveLength(1);
    expect(hung[0]).toMatchObject({ outcome: 'timeout', duration: 5 });
    // The other task ran every second from 5 on (it waited behind the hung run only until its timeout).
    expect(others.filter((t) => t >= 5)).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it('a run that ends in time is not affected; its signal never aborts', async () => {
    const h = harness();
    let signal: AbortSignal | undefined;
    h.add('quick', { spacing: 10, runImmediately: true, timeout: 5 }, async (_c, run) => {
      signal = run.signal;
      await h.clock.sleep(2);
    });
    await h.run(8);
    expect(h.runs.map((r) => [r.outcome, r.duration])).toEqual([['ok', 2]]);
    expect(signal?.aborted).toBe(false);
  });
});

describe('overlap', () => {
  /** A task of spacing 10 whose runs take 25 s, with a 1 s timeout so the scheduler goes on. */
  const slow = async (overlap: 'skip' | 'queue-one' | 'allow') => {
    const h = harness();
    const starts: number[] = [];
    h.add('slow', { spacing: 10, runImmediately: true, timeout: 1, overlap }, async () => {
      starts.push(h.clock.now());
      await h.clock.sleep(25);
    });
    await h.run(60);
    return { ...h, starts };
  };

  it('skip (default): slots that come while the previous run goes are skipped and counted', async () => {
    const h = await slow('skip');
    expect(h.starts).toEqual([0, 30, 60]);
    expect(h.skips.map((s) => [s.reason, s.scheduledAt])).toEqual([
      ['overlap', 10],
      ['overlap', 20],
      ['overlap', 40],
      ['overlap', 50],
    ]);
    expect(h.lines.some((l) => /slot skipped, the previous run is still going/.test(l.msg))).toBe(
      true,
    );
  });

  it('queue-one: one run waits for the previous one and starts when it ends; more are skipped', async () => {
    const h = await slow('queue-one');
    // 10 waits for the run of 0 and starts at 25; 30 waits for it and starts at 50; 50 waits for
    // that one (and starts at 75, after the test); 20, 40 and 60 find a run already waiting.
    expect(h.starts.filter((t) => t <= 60)).toEqual([0, 25, 50]);
    expect(h.skips.map((s) => s.scheduledAt)).toEqual([20, 40, 60]);
  });

  it('allow: runs overlap, the scheduler never waits', async () => {
    const h = await slow('allow');
    expect(h.starts).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(h.skips).toEqual([]);
  });
});

describe('missed slots after the process was down (restored last runs)', () => {
  /** A task of spacing 60 whose stored last run was 3 h before now. */
  const downFor3h = async (options: PeriodicTaskOptions) => {
    const h = harness(100_000);
    const starts: number[] = [];
    h.add('report', { spacing: 60, ...options }, () => void starts.push(h.clock.now()));
    restoreLastRuns(h.tasks, new Map([['report', 100_000 - 3 * 3600]]));
    await h.run(120);
    return { ...h, starts };
  };

  it('run-once (default): one run at once for all of them, then the grid; the rest are missed', async () => {
    const h = await downFor3h({});
    expect(h.starts).toEqual([100_000, 100_060, 100_120]);
    expect(h.skips).toEqual([expect.objectContaining({ reason: 'missed', count: 179 })]);
  });

  it('skip: none of them; the task waits for its next slot on the stored grid', async () => {
    const h = await downFor3h({ missed: 'skip' });
    expect(h.starts).toEqual([100_060, 100_120]);
    expect(h.skips[0]).toMatchObject({ reason: 'missed', count: 180 });
  });

  it('run-all: every one, back to back, then the grid', async () => {
    const h = await downFor3h({ missed: 'run-all' });
    expect(h.starts.filter((t) => t === 100_000)).toHaveLength(180);
    expect(h.starts.slice(180)).toEqual([100_060, 100_120]);
    expect(h.skips).toEqual([]);
  });

  it('run-all with catchupWindow: only the slots of the last 10 minutes run', async () => {
    const h = await downFor3h({ missed: 'run-all', catchupWindow: 600 });
    // The slots at now − 600, now − 540, …, now: 11 of them; the 169 before are missed.
    expect(h.starts.filter((t) => t === 100_000)).toHaveLength(11);
    expect(h.skips[0]).toMatchObject({ reason: 'missed', count: 169 });
  });

  it('without a restored last run a task starts afresh (the original: one spacing after start)', async () => {
    const h = harness(100_000);
    const starts: number[] = [];
    h.add('report', { spacing: 60, missed: 'run-all' }, () => void starts.push(h.clock.now()));
    await h.run(120);
    expect(starts).toEqual([100_060, 100_120]);
  });

  it('a run longer than several spacings: the missed policy decides what follows it', async () => {
    for (const [missed, expected] of [
      ['run-once', [0, 35, 40]],
      ['skip', [0, 40]],
      ['run-all', [0, 35, 35, 35, 40]],
    ] as const) {
      const h = harness();
      const starts: number[] = [];
      h.add('long', { spacing: 10, runImmediately: true, missed }, async () => {
        starts.push(h.clock.now());
        if (starts.length === 1) await h.clock.sleep(35);
      });
      await h.run(45);
      expect([missed, starts]).toEqual([missed, expected]);
    }
  });
});

describe('missed slots while another task held the scheduler', () => {
  for (const [missed, expected] of [
    ['run-once', [0, 1, 2, 25, 26]],
    ['skip', [0, 1, 2, 26]],
    ['run-all', [0, 1, 2, ...Array<number>(23).fill(25), 26]],
  ] as const) {
    it(`${missed}: a task held up from 3 to 25 by another's run`, async () => {
      const h = harness();
      const starts: number[] = [];
      h.add(
        'probe',
        { spacing: 1, runImmediately: true, missed },
        () => void starts.push(h.clock.now()),
      );
      let hogged = false;
      h.add('hog', { spacing: 2 }, async () => {
        if (hogged) return;
        hogged = true;
        await h.clock.sleep(23);
      });
      await h.run(26.5);
      expect(starts).toEqual(expected);
      const skipped = h.skips.filter((x) => x.name === 'probe');
      expect(skipped.map((x) => x.count)).toEqual(
        missed === 'run-all' ? [] : [missed === 'skip' ? 23 : 22],
      );
    });
  }
});

describe('cron', () => {
  const JAN_1_2026 = Date.UTC(2026, 0, 1) / 1000;

  it('runs at the fire times of its pattern (UTC), not from the start', async () => {
    const h = harness(JAN_1_2026 + 7);
    const starts: number[] = [];
    h.add('five', { cron: '*/5 * * * *', timezone: 'UTC' }, () => void starts.push(h.clock.now()));
    await h.run(1200);
    expect(starts.map((t) => t - JAN_1_2026)).toEqual([300, 600, 900, 1200]);
  });

  it('in a time zone: 02:30 daily in New York is 07:30 UTC in winter', async () => {
    const h = harness(JAN_1_2026);
    const starts: number[] = [];
    h.add(
      'daily',
      { cron: '30 2 * * *', timezone: 'America/New_York' },
      () => void starts.push(h.clock.now()),
    );
    await h.run(2 * 86_400);
    expect(starts.map((t) => new Date(t * 1000).toISOString())).toEqual([
      '2026-01-01T07:30:00.000Z',
      '2026-01-02T07:30:00.000Z',
    ]);
  });

  it('refuses bad patterns, bad zones, a zone without a pattern, and spacing beside cron', () => {
    const p = new PeriodicTasks();
    expect(() => p.addPeriodicTask(() => 1, { name: 'a', cron: 'every minute' })).toThrow(
      /cron pattern 'every minute' is invalid/,
    );
    expect(() =>
      p.addPeriodicTask(() => 1, { name: 'b', cron: '* * * * *', timezone: 'Mars/Olympus' }),
    ).toThrow(/timezone must be an IANA time zone name/);
    expect(() => p.addPeriodicTask(() => 1, { name: 'c', timezone: 'UTC' })).toThrow(
      /timezone needs a cron pattern/,
    );
    expect(() => p.addPeriodicTask(() => 1, { name: 'd', cron: '* * * * *', spacing: 5 })).toThrow(
      /spacing and cron exclude each other/,
    );
    expect(() => p.addPeriodicTask(() => 1, { name: 'e', timeout: 0 })).toThrow(
      /timeout must be a positive number of seconds/,
    );
    expect(() => p.addPeriodicTask(() => 1, { name: 'f', overlap: 'sometimes' as never })).toThrow(
      /overlap must be skip, queue-one, allow/,
    );
    expect(() => p.addPeriodicTask(() => 1, { name: 'g', missed: 'all' as never })).toThrow(
      /missed must be skip, run-once, run-all/,
    );
  });
});
