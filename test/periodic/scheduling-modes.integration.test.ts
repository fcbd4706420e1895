import { describe, expect, it } from 'vitest';
import { getAdminContext, VirtualClock } from '../../src/core/index.js';
import { DynamicLoopingCall, FixedIntervalLoopingCall } from '../../src/looping/index.js';
import { ExactScheduler, periodicTask, PeriodicTasks } from '../../src/periodic/index.js';

// The three ways to drive a manager with one default-spacing (60 s) task, over 1,000+ runs each,
// with the original's real random jitter.
function manager(clock: VirtualClock, runTime = 0) {
  const starts: number[] = [];
  class Manager extends PeriodicTasks {
    @periodicTask
    async task(): Promise<void> {
      starts.push(clock.now());
      if (runTime) await clock.sleep(runTime);
    }
  }
  return { m: new Manager({ clock }), starts };
}

const intervals = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - (xs[i] as number));
const round = (x: number): number => Math.round(x * 1e6) / 1e6;

describe('scheduling modes', () => {
  it('(a) a FixedIntervalLoopingCall at 40 s on runPeriodicTasks gives intervals of 40 and 80 s only', async () => {
    const clock = new VirtualClock(0);
    const { m, starts } = manager(clock);
    const tick = new FixedIntervalLoopingCall(() => m.runPeriodicTasks(getAdminContext()), {
      clock,
    });
    void tick.start({ interval: 40, initialDelay: 3 });
    await clock.advance(60 * 1_050);
    tick.stop();
    await tick.wait();
    expect(starts.length).toBeGreaterThanOrEqual(1_001);
    const gaps = intervals(starts).map(round);
    expect(new Set(gaps)).toEqual(new Set([40, 80]));
    // Mean stays near 60 (the grid moves by whole-second jitter only).
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(59);
    expect(mean).toBeLessThan(63);
  });

  it('(b) a DynamicLoopingCall driven by idle_for gives intervals within [60, 63) s', async () => {
    const clock = new VirtualClock(0);
    const { m, starts } = manager(clock);
    const loop = new DynamicLoopingCall(() => m.runPeriodicTasks(getAdminContext()), { clock });
    void loop.start({});
    await clock.advance(61 * 1_050);
    loop.stop();
    await loop.wait();
    expect(starts.length).toBeGreaterThanOrEqual(1_001);
    const gaps = intervals(starts).map(round);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(60);
    expect(Math.max(...gaps)).toBeLessThan(63);
    // The jitter is real: not every interval is 60.
    expect(new Set(gaps).size).toBeGreaterThan(1);
  });

  it('(c) the exact scheduler gives exactly 60 s start to start with a 0.5 s task, for 1,000+ runs', async () => {
    const clock = new VirtualClock(0);
    const { m, starts } = manager(clock, 0.5);
    const scheduler = new ExactScheduler(m);
    scheduler.start();
    await clock.advance(60 * 1_050);
    scheduler.stop();
    await clock.advance(1);
    await scheduler.wait();
    expect(starts.length).toBeGreaterThanOrEqual(1_001);
    expect(new Set(intervals(starts))).toEqual(new Set([60]));
    const first = starts[0] as number;
    expect(first).toBeGreaterThanOrEqual(60);
    expect(first).toBeLessThan(63); // one-time phase, up to 5 % of 60 s
    expect((starts.at(-1) as number) - (first + 60 * (starts.length - 1))).toBe(0);
  });
});
