import { describe, expect, it } from 'vitest';
import { AlreadyRunningError, RequestContext, VirtualClock } from '../../src/core/index.js';
import {
  ExactScheduler,
  periodicTask,
  PeriodicTasks,
  type TaskRunEvent,
} from '../../src/periodic/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

/** A manager with one task that records start times and takes `runTime` seconds. */
function oneTask(
  clock: VirtualClock,
  opts: { spacing?: number; runTime?: number; runImmediately?: boolean } = {},
) {
  const starts: number[] = [];
  class M extends PeriodicTasks {
    @periodicTask({ spacing: opts.spacing ?? 0, runImmediately: opts.runImmediately ?? false })
    async work(): Promise<void> {
      starts.push(clock.now());
      if (opts.runTime) await clock.sleep(opts.runTime);
    }
  }
  return { manager: new M({ clock }), starts };
}

const intervals = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - (xs[i] as number));

describe('ExactScheduler', () => {
  it('(c) a 0.5 s task at default spacing: start-to-start exactly 60 s, zero drift after 10,000 runs', async () => {
    const clock = new VirtualClock(0);
    const { manager, starts } = oneTask(clock, { runTime: 0.5 });
    const scheduler = new ExactScheduler(manager, { spread: 0 });
    scheduler.start();
    await clock.advance(60 * 10_000 + 1);
    scheduler.stop();
    await scheduler.wait();
    expect(starts).toHaveLength(10_000);
    expect(new Set(intervals(starts))).toEqual(new Set([60]));
    // Drift: last start against its ideal start (first + k·spacing).
    expect((starts.at(-1) as number) - ((starts[0] as number) + 60 * 9_999)).toBe(0);
    expect(starts[0]).toBe(60);
  });

  it('keeps fractional spacings on their grid: no rounding accumulates over 20,000 runs', async () => {
    const clock = new VirtualClock(0);
    const { manager, starts } = oneTask(clock, { spacing: 0.2, runImmediately: true });
    const s = new ExactScheduler(manager);
    s.start();
    await clock.advance(0.2 * 20_000 - 0.1);
    s.stop();
    expect(starts).toHaveLength(20_000);
    const worst = Math.max(...starts.map((t, k) => Math.abs(t - k * 0.2)));
    expect(worst).toBeLessThan(1e-9);
  });

  it('adds a one-time phase of up to 5 % of spacing that never accumulates', async () => {
    const clock = new VirtualClock(0);
    const { manager, starts } = oneTask(clock, { spacing: 100 });
    const scheduler = new ExactScheduler(manager, { random: () => 0.5 });
    scheduler.start();
    await clock.advance(100 * 50 + 10);
    scheduler.stop();
    expect(starts[0]).toBe(102.5); // 100 + 0.05 · 100 · 0.5
    expect(new Set(intervals(starts))).toEqual(new Set([100]));
    expect(scheduler.schedule()[0]).toMatchObject({
      name: 'work',
      spacing: 100,
      nextDue: 102.5 + 100 * 50,
    });
  });

  it('spreads many tasks over the phase window; spread is configurable and validated', async () => {
    const clock = new VirtualClock(0);
    const m = new PeriodicTasks({ clock });
    for (let i = 0; i < 200; i++)
      m.addPeriodicTask(() => undefined, { name: `t${i}`, spacing: 60 });
    const s = new ExactScheduler(m, { spread: 0.1 });
    s.start();
    const dues = s.schedule().map((r) => r.nextDue);
    s.stop();
    expect(Math.min(...dues)).toBeGreaterThanOrEqual(60);
    expect(Math.max(...dues)).toBeLessThan(66);
    expect(new Set(dues).size).toBeGreaterThan(150);
    expect(() => new ExactScheduler(m, { spread: 2 })).toThrow(/spread/);
    expect(() => new ExactScheduler(m, { spread: -0.1 })).toThrow(/spread/);
    expect(() => new ExactScheduler(m, { yieldInterval: 0 })).toThrow(/yieldInterval/);
  });

  it('runs run-immediately tasks at start, then on their exact grid', async () => {
    const clock = new VirtualClock(10);
    const { manager, starts } = oneTask(clock, { spacing: 7, runImmediately: true });
    const s = new ExactScheduler(manager);
    s.start();
    await clock.advance(7 * 3);
    s.stop();
    expect(starts).toEqual([10, 17, 24, 31]);
  });

  it('anchors a run-immediately task at its actual first start, so a late first run shifts no later one', async () => {
    const clock = new VirtualClock(0);
    const b: number[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true, spacing: 100 })
      async slowFirst(): Promise<void> {
        await clock.sleep(3);
      }
      @periodicTask({ runImmediately: true, spacing: 10 })
      quick(): void {
        b.push(clock.now());
      }
    }
    const s = new ExactScheduler(new M({ clock }));
    s.start();
    await clock.advance(30);
    s.stop();
    expect(b).toEqual([3, 13, 23, 33].filter((t) => t <= 30));
  });

  it('a stopped scheduler never unhooks a newer one on the same tasks', async () => {
    const clock = new VirtualClock(0);
    const { manager } = oneTask(clock, { spacing: 10, runTime: 5 });
    const first = new ExactScheduler(manager, { spread: 0 });
    first.start();
    await clock.advance(10); // first is inside a 5 s run
    first.stop();
    const second = new ExactScheduler(manager, { spread: 0 });
    second.start(); // while the first still finishes its run
    await clock.advance(5);
    await first.wait(); // the first loop has now ended: its cleanup must leave the second's hook
    const added: number[] = [];
    manager.addPeriodicTask(() => void added.push(clock.now()), {
      name: 'late',
      spacing: 1,
      runImmediately: true,
    });
    await clock.advance(2);
    second.stop();
    expect(added).toEqual([15, 16, 17]);
  });

  it('runs tasks in due order, registration order on ties, one at a time (no overlap)', async () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 10 })
      async a(): Promise<void> {
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`a@${clock.now()}`);
        await clock.sleep(3);
        active--;
      }
      @periodicTask({ spacing: 5 })
      async b(): Promise<void> {
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`b@${clock.now()}`);
        await clock.sleep(1);
        active--;
      }
    }
    const s = new ExactScheduler(new M({ clock }), { spread: 0 });
    s.start();
    await clock.advance(24);
    s.stop();
    await s.wait();
    expect(maxActive).toBe(1);
    // At 10 both are due: a first (registration order), b waits for it.
    expect(log).toEqual(['b@5', 'a@10', 'b@13', 'b@15', 'a@20', 'b@23']);
  });

  it('a task that overruns by more than a spacing runs once, late, and the missed runs are counted and logged', async () => {
    const clock = new VirtualClock(0);
    const { logger, lines } = captureLogs();
    const starts: number[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 10 })
      async slow(): Promise<void> {
        starts.push(clock.now());
        if (starts.length === 2) await clock.sleep(35); // runs 20..55: due points 30, 40, 50 pass
      }
    }
    const s = new ExactScheduler(new M({ clock, logger }), { spread: 0 });
    s.start();
    await clock.advance(80);
    s.stop();
    // 30 and 40 are missed; 50 runs late at 55; then back on the grid.
    expect(starts).toEqual([10, 20, 55, 60, 70, 80]);
    expect(s.schedule()[0]?.missedRuns).toBe(2);
    const warn = lines.find((l) => l.level === LEVEL.warn);
    expect(warn?.msg).toBe('Periodic task M.slow fell behind: skipped 2 run(s)');
  });

  it('a failing task never stops the loop', async () => {
    const clock = new VirtualClock(0);
    const { logger, messages } = captureLogs();
    let n = 0;
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 1 })
      flaky(): void {
        n++;
        if (n % 2) throw new Error('odd');
      }
    }
    const s = new ExactScheduler(new M({ clock, logger }), { spread: 0 });
    s.start();
    await clock.advance(10);
    s.stop();
    expect(n).toBe(10);
    expect(messages(LEVEL.error)).toHaveLength(5);
    expect(messages(LEVEL.error)[0]).toBe('Error during M.flaky');
  });

  it('stop() interrupts the sleep at once; wait() resolves without time passing', async () => {
    const clock = new VirtualClock(0);
    const { manager } = oneTask(clock, { spacing: 3600 });
    const s = new ExactScheduler(manager);
    s.start();
    expect(s.running).toBe(true);
    await clock.advance(1);
    s.stop();
    await s.wait();
    expect(s.running).toBe(false);
    expect(clock.now()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('stop() during a run lets the task finish, then ends', async () => {
    const clock = new VirtualClock(0);
    const { manager, starts } = oneTask(clock, { spacing: 10, runTime: 5 });
    const s = new ExactScheduler(manager, { spread: 0 });
    s.start();
    await clock.advance(12);
    s.stop();
    let ended = false;
    void s.wait().then(() => (ended = true));
    await clock.advance(1);
    expect(ended).toBe(false);
    await clock.advance(2);
    expect(ended).toBe(true);
    expect(starts).toEqual([10]);
  });

  it('schedules tasks added while running and wakes up for them', async () => {
    const clock = new VirtualClock(0);
    const { manager, starts } = oneTask(clock, { spacing: 1000 });
    const s = new ExactScheduler(manager, { spread: 0 });
    s.start();
    await clock.advance(5);
    const added: number[] = [];
    manager.addPeriodicTask(() => void added.push(clock.now()), {
      name: 'added',
      spacing: 2,
      runImmediately: true,
    });
    await clock.advance(5);
    s.stop();
    expect(added).toEqual([5, 7, 9]);
    expect(starts).toEqual([]);
  });

  it('a task added while another runs, and due at once, neither replaces nor duplicates it', async () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    const m = new PeriodicTasks({ clock });
    m.addPeriodicTask(
      async () => {
        log.push(`slow@${clock.now()}`);
        if (log.length === 1) {
          // Goes to the top of the queue while this run is out of it.
          m.addPeriodicTask(() => void log.push(`added@${clock.now()}`), {
            name: 'added',
            spacing: 4,
            runImmediately: true,
          });
        }
        await clock.sleep(1);
      },
      { name: 'slow', spacing: 10 },
    );
    const s = new ExactScheduler(m, { spread: 0 });
    s.start();
    await clock.advance(20);
    s.stop();
    expect(log).toEqual(['slow@10', 'added@11', 'added@15', 'added@19', 'slow@20']);
    expect(
      s
        .schedule()
        .map((r) => r.name)
        .sort(),
    ).toEqual(['added', 'slow']);
  });

  it('schedules every one of many tasks added while running', async () => {
    const clock = new VirtualClock(0);
    const m = new PeriodicTasks({ clock });
    const s = new ExactScheduler(m, { spread: 0 });
    s.start();
    const runs = new Array<number>(100).fill(0);
    for (let i = 0; i < 100; i++) {
      m.addPeriodicTask(() => void runs[i]!++, { name: `t${i}`, spacing: 1 + (i % 7) });
    }
    await clock.advance(42);
    s.stop();
    expect(runs).toEqual(runs.map((_, i) => Math.floor(42 / (1 + (i % 7)))));
    expect(s.schedule()).toHaveLength(100);
  });

  it('a later registration under a scheduled name sets its spacing while running, as at start', async () => {
    const clock = new VirtualClock(0);
    const starts: number[] = [];
    const m = new PeriodicTasks({ clock });
    m.addPeriodicTask(() => void starts.push(clock.now()), { name: 'dup', spacing: 10 });
    const s = new ExactScheduler(m, { spread: 0 });
    s.start();
    await clock.advance(10);
    m.addPeriodicTask(() => void starts.push(-1), { name: 'dup', spacing: 5 });
    await clock.advance(20);
    s.stop();
    // The first registration keeps running, now every 5 s from its anchor.
    expect(starts).toEqual([10, 20, 25, 30]);
    expect(s.schedule().map((r) => r.spacing)).toEqual([5]);
  });

  it('can be restarted, and refuses a second start while running', async () => {
    const clock = new VirtualClock(0);
    const { manager, starts } = oneTask(clock, { spacing: 10 });
    const s = new ExactScheduler(manager, { spread: 0 });
    s.start();
    expect(() => s.start()).toThrow(AlreadyRunningError);
    await clock.advance(10);
    s.stop();
    await s.wait();
    s.start();
    await clock.advance(20);
    s.stop();
    expect(starts).toEqual([10, 20, 30]);
  });

  it('skips external tasks when the instance does not run them, and schedules a shared name once', async () => {
    const clock = new VirtualClock(0);
    const runs: string[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 5, externalProcessOk: true })
      ext(): void {
        runs.push('ext');
      }
    }
    const s = new ExactScheduler(new M({ clock, runExternalPeriodicTasks: false }));
    s.start();
    await clock.advance(20);
    s.stop();
    expect(runs).toEqual([]);
    expect(s.schedule()).toEqual([]);

    const m = new PeriodicTasks({ clock });
    m.addPeriodicTask(() => void runs.push('first'), { name: 'dup', spacing: 5 });
    m.addPeriodicTask(() => void runs.push('second'), { name: 'dup', spacing: 5 });
    const s2 = new ExactScheduler(m, { spread: 0 });
    s2.start();
    await clock.advance(10);
    s2.stop();
    expect(runs).toEqual(['first', 'first']);
  });

  it('reports scheduled time and start time of each run, one context per pass', async () => {
    const clock = new VirtualClock(0);
    const events: TaskRunEvent[] = [];
    const contexts = new Set<RequestContext>();
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 10 })
      a(c: RequestContext): void {
        contexts.add(c);
      }
      @periodicTask({ spacing: 10 })
      async b(c: RequestContext): Promise<void> {
        contexts.add(c);
        await clock.sleep(1);
      }
    }
    const m = new M({ clock, onTaskRun: (e) => events.push(e) });
    const s = new ExactScheduler(m, {
      spread: 0,
      context: () => new RequestContext({ isAdmin: true }),
    });
    s.start();
    await clock.advance(11);
    s.stop();
    expect(events.map((e) => [e.name, e.scheduledAt, e.startedAt, e.duration])).toEqual([
      ['a', 10, 10, 0],
      ['b', 10, 10, 1],
    ]);
    expect(contexts.size).toBe(1);
  });

  it('yields to the event loop during long runs of synchronous tasks', async () => {
    const clock = new VirtualClock(0);
    const m = new PeriodicTasks({ clock });
    let yields = 0;
    for (let i = 0; i < 50; i++) {
      m.addPeriodicTask(
        () => {
          const until = performance.now() + 1;
          while (performance.now() < until) {
            /* busy for 1 ms */
          }
        },
        { name: `busy${i}`, spacing: 10 },
      );
    }
    const original = clock.sleep.bind(clock);
    clock.sleep = (s, signal) => {
      if (!(s > 0)) yields++;
      return original(s, signal);
    };
    const s = new ExactScheduler(m, { spread: 0, yieldInterval: 0.005 });
    s.start();
    await clock.advance(10);
    s.stop();
    expect(yields).toBeGreaterThanOrEqual(5);
  });
});
