/**
 * Task placement in the periodic layer: the option, the run handed to every task, the cluster grid
 * of once-per-cluster and sharded tasks, and what a placement's answers (null, a rejection) do.
 */
import { describe, expect, it } from 'vitest';
import {
  getAdminContext,
  InvalidPeriodicTaskArg,
  type RequestContext,
  VirtualClock,
} from '../../src/core/index.js';
import {
  ExactScheduler,
  localRun,
  type PlacedTask,
  periodicTask,
  PeriodicTasks,
  setTaskPlacement,
  slotAt,
  type TaskPlacement,
  type TaskRun,
  type TaskRunEvent,
} from '../../src/periodic/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

const ctx = getAdminContext();

describe('the placement option', () => {
  it('accepts the three placements and refuses others at decoration time', () => {
    expect(() => {
      class M extends PeriodicTasks {
        // @ts-expect-error -- not a placement
        @periodicTask({ placement: 'twice' })
        t(): void {}
      }
      return M;
    }).toThrow(/placement must be every-replica, once-per-cluster, sharded; got twice/);
    const p = new PeriodicTasks();
    expect(() => p.addPeriodicTask(() => 1, { name: 'x', placement: 'all' as never })).toThrow(
      InvalidPeriodicTaskArg,
    );
    p.addPeriodicTask(() => 1, { name: 'a', placement: 'once-per-cluster' });
    p.addPeriodicTask(() => 1, { name: 'b', placement: 'sharded' });
    p.addPeriodicTask(() => 1, { name: 'c' });
    expect(p.periodicTaskInfo().map((t) => t.placement)).toEqual([
      'once-per-cluster',
      'sharded',
      'every-replica',
    ]);
  });
});

describe('the run a task receives', () => {
  it('every-replica tasks get one shared run: no abort, no token, owning every key', async () => {
    const runs: TaskRun[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true })
      a(_ctx: RequestContext, run: TaskRun): void {
        runs.push(run);
      }
      @periodicTask({ runImmediately: true })
      b(_ctx: RequestContext, run: TaskRun): void {
        runs.push(run);
      }
    }
    await new M({ clock: new VirtualClock(0) }).runPeriodicTasks(ctx);
    expect(runs[0]).toBe(runs[1]);
    expect(runs[0]).toMatchObject({ placement: 'every-replica', fencingToken: undefined });
    expect(runs[0]?.signal.aborted).toBe(false);
    expect(runs[0]?.owns('anything')).toBe(true);
    expect(runs[0]?.shard([1, 2, 3])).toEqual([1, 2, 3]);
  });

  it('without a placement, cluster tasks run here as a cluster of one (the slot is given)', async () => {
    const runs: TaskRun[] = [];
    const clock = new VirtualClock(100);
    const p = new PeriodicTasks({ clock });
    p.addPeriodicTask((_c, run) => void runs.push(run), {
      name: 'once',
      spacing: 10,
      runImmediately: true,
      placement: 'once-per-cluster',
    });
    p.addPeriodicTask((_c, run) => void runs.push(run), {
      name: 'shard',
      spacing: 10,
      runImmediately: true,
      placement: 'sharded',
    });
    await p.runPeriodicTasks(ctx);
    expect(runs.map((r) => [r.placement, r.slot])).toEqual([
      ['once-per-cluster', 10],
      ['sharded', undefined],
    ]);
    expect(runs[1]?.owns('k')).toBe(true);
  });
});

/** A placement that records what it was asked and answers as told. */
function fakePlacement(answer: (task: PlacedTask, slot: number) => Promise<TaskRun | null>) {
  const asked: Array<[string, number]> = [];
  const placement: TaskPlacement = {
    epoch: 0,
    claim: (task, slot) => {
      asked.push([task.fullName, slot]);
      return answer(task, slot);
    },
    shard: () => ({
      ...localRun('sharded'),
      owns: (k) => k.startsWith('mine'),
      shard: (xs) => [...xs].filter((x) => String(x).startsWith('mine')),
    }),
  };
  return { placement, asked };
}

describe('a placement decides each run', () => {
  it('a claim answered null skips the run (no run event); a granted claim runs with its signal and token', async () => {
    const clock = new VirtualClock(0);
    const events: TaskRunEvent[] = [];
    const runs: TaskRun[] = [];
    const p = new PeriodicTasks({ clock, onTaskRun: (e) => events.push(e) });
    p.addPeriodicTask((_c, run) => void runs.push(run), {
      name: 'job',
      spacing: 5,
      runImmediately: true,
      placement: 'once-per-cluster',
    });
    const lease = new AbortController();
    let grant = false;
    const { placement, asked } = fakePlacement(async (_t, slot) =>
      grant
        ? { ...localRun('once-per-cluster', slot), signal: lease.signal, fencingToken: 42 }
        : null,
    );
    setTaskPlacement(p, placement);
    await p.runPeriodicTasks(ctx);
    expect(asked).toEqual([['PeriodicTasks.job', 0]]);
    expect(runs).toEqual([]);
    expect(events).toEqual([]);
    grant = true;
    await clock.advance(5);
    await p.runPeriodicTasks(ctx);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ fencingToken: 42, slot: 1 });
    expect(runs[0]?.signal).toBe(lease.signal);
    expect(events).toHaveLength(1);
  });

  it('a claim that rejects skips the run and logs a warning; it never runs an unclaimed slot', async () => {
    const clock = new VirtualClock(0);
    const { logger, lines } = captureLogs();
    let ran = 0;
    const p = new PeriodicTasks({ clock, logger });
    p.addPeriodicTask(() => void ran++, {
      name: 'job',
      spacing: 5,
      runImmediately: true,
      placement: 'once-per-cluster',
    });
    setTaskPlacement(
      p,
      fakePlacement(async () => {
        throw new Error('backend away');
      }).placement,
    );
    await p.runPeriodicTasks(ctx);
    expect(ran).toBe(0);
    expect(lines.find((l) => l.level === LEVEL.warn)?.msg).toMatch(
      /Not running PeriodicTasks.job: its placement could not be decided/,
    );
    await expect(p.runPeriodicTasks(ctx, { raiseOnError: true })).resolves.toBeTypeOf('number');
  });

  it('a sharded task handles only what its placement says it owns', async () => {
    const seen: string[] = [];
    const p = new PeriodicTasks({ clock: new VirtualClock(0) });
    p.addPeriodicTask((_c, run) => void seen.push(...run.shard(['mine-1', 'theirs-1', 'mine-2'])), {
      name: 'probe',
      runImmediately: true,
      placement: 'sharded',
    });
    setTaskPlacement(p, fakePlacement(async () => null).placement);
    await p.runPeriodicTasks(ctx);
    expect(seen).toEqual(['mine-1', 'mine-2']);
  });
});

describe('the cluster grid (exact scheduler)', () => {
  it('cluster tasks run at multiples of their spacing in cluster time, whatever the start; every-replica tasks keep their own grid', async () => {
    const clock = new VirtualClock(1003.7);
    const at: Record<string, number[]> = { once: [], own: [], immediate: [] };
    const p = new PeriodicTasks({ clock });
    p.addPeriodicTask(() => void at['once']?.push(clock.now()), {
      name: 'once',
      spacing: 10,
      placement: 'once-per-cluster',
    });
    p.addPeriodicTask(() => void at['immediate']?.push(clock.now()), {
      name: 'immediate',
      spacing: 10,
      runImmediately: true,
      placement: 'sharded',
    });
    p.addPeriodicTask(() => void at['own']?.push(clock.now()), { name: 'own', spacing: 10 });
    const s = new ExactScheduler(p, { spread: 0 });
    s.start();
    await clock.advance(40);
    s.stop();
    await s.wait();
    expect(at['once']).toEqual([1010, 1020, 1030, 1040]);
    expect(at['immediate']).toEqual([1003.7, 1010, 1020, 1030, 1040]);
    expect(at['own']).toEqual([1013.7, 1023.7, 1033.7, 1043.7]);
  });

  it("uses the placement's epoch: replicas whose clocks started at different times share slots", async () => {
    const clock = new VirtualClock(3.25); // this process started 3.25 s ago; cluster time 1000 + t
    const slots: number[] = [];
    const p = new PeriodicTasks({ clock });
    p.addPeriodicTask((_c, run) => void slots.push(run.slot as number), {
      name: 'job',
      spacing: 2,
      placement: 'once-per-cluster',
    });
    setTaskPlacement(p, {
      epoch: 1000,
      claim: async (_t, slot) => localRun('once-per-cluster', slot),
      shard: () => localRun('sharded'),
    });
    const s = new ExactScheduler(p, { spread: 0 });
    s.start();
    await clock.advance(6);
    s.stop();
    await s.wait();
    expect(slots).toEqual([502, 503, 504]); // cluster times 1004, 1006, 1008
  });

  it('slotAt tolerates float error at grid points', () => {
    expect(slotAt(0.1 * 3, 0.1)).toBe(3);
    expect(slotAt(0.7 * 3, 0.7)).toBe(3);
    expect(slotAt(1_764_000_000.05 * 1, 0.05)).toBe(35_280_000_001);
    expect(slotAt(10.6, 1)).toBe(10);
  });
});
