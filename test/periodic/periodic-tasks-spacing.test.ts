import { describe, expect, it } from 'vitest';
import { InvalidOptionError, RequestContext, VirtualClock } from '../../src/core/index.js';
import {
  DEFAULT_INTERVAL,
  ExactScheduler,
  periodicTask,
  PeriodicTasks,
} from '../../src/periodic/index.js';

const ctx = new RequestContext({ isAdmin: true });

class Monitor extends PeriodicTasks {
  runs: number[] = [];
  other = 0;

  @periodicTask({ spacing: 30, name: 'vim_monitor' })
  probe(): void {
    this.runs.push(this.clock.now());
  }

  @periodicTask({ spacing: 10, runImmediately: true })
  tick(): void {
    this.other++;
  }

  constructor(
    readonly clock: VirtualClock,
    spacing?: Record<string, number>,
  ) {
    super({ clock, ...(spacing ? { spacing } : {}) });
  }
}

const spacingOf = (m: PeriodicTasks, name: string): number | undefined =>
  m.periodicTaskInfo().find((t) => t.name === name)?.spacing;

describe('PeriodicTasks spacing option (per-instance spacing from configuration)', () => {
  it('replaces the decorator spacing of the named task on this instance only', async () => {
    const clock = new VirtualClock(0);
    const fast = new Monitor(clock, { vim_monitor: 5 });
    const plain = new Monitor(clock);
    expect(spacingOf(fast, 'vim_monitor')).toBe(5);
    expect(spacingOf(plain, 'vim_monitor')).toBe(30);
    expect(spacingOf(fast, 'tick')).toBe(10);
    // Other options of the task are kept.
    expect(fast.periodicTaskInfo().find((t) => t.name === 'tick')?.runImmediately).toBe(true);

    const scheduler = new ExactScheduler(fast, { clock, spread: 0 });
    void scheduler.start();
    await clock.advance(20);
    scheduler.stop();
    await scheduler.wait();
    expect(fast.runs).toEqual([5, 10, 15, 20]);
  });

  it('follows the decorator rules: 0 is the default interval, negative skips the task', async () => {
    const clock = new VirtualClock(0);
    expect(spacingOf(new Monitor(clock, { vim_monitor: 0 }), 'vim_monitor')).toBe(DEFAULT_INTERVAL);
    const off = new Monitor(clock, { vim_monitor: -1 });
    expect(off.periodicTaskInfo().map((t) => t.name)).toEqual(['tick']);
    await clock.advance(100);
    await off.runPeriodicTasks(ctx);
    expect(off.runs).toEqual([]);
  });

  it('rejects a name that matches no task, and a spacing that is not a number', () => {
    const clock = new VirtualClock(0);
    expect(() => new Monitor(clock, { vim_monitr: 5 })).toThrow(InvalidOptionError);
    expect(() => new Monitor(clock, { vim_monitr: 5 })).toThrow(
      /no periodic task named vim_monitr/,
    );
    expect(() => new Monitor(clock, { vim_monitor: 'often' as unknown as number })).toThrow(
      /spacing must be a finite number/,
    );
  });
});
