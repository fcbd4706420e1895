import { describe, expect, it } from 'vitest';
import { RequestContext, VirtualClock } from '../../src/core/index.js';
import { periodicTask, PeriodicTasks, type TaskRunEvent } from '../../src/periodic/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

const ctx = new RequestContext({ isAdmin: true });

describe('PeriodicTasks.runPeriodicTasks', () => {
  it('returns 60 with no tasks', async () => {
    expect(await new PeriodicTasks({ clock: new VirtualClock() }).runPeriodicTasks(ctx)).toBe(60);
  });

  it('stamps the last run when the instance is built, not when the class is defined (fix)', async () => {
    const clock = new VirtualClock(0);
    const runs: number[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 60 })
      t(): void {
        runs.push(clock.now());
      }
    }
    await clock.advance(1000);
    const m = new M({ clock });
    expect(m.periodicTaskInfo()[0]?.lastRun).toBe(1000);
    expect(await m.runPeriodicTasks(ctx)).toBe(60);
    expect(runs).toEqual([]);
    await clock.advance(59);
    expect(await m.runPeriodicTasks(ctx)).toBe(1);
    await clock.advance(1);
    expect(await m.runPeriodicTasks(ctx)).toBe(60);
    expect(runs).toEqual([1060]);
    // Two instances built at different times keep separate stamps.
    const other = new M({ clock });
    expect(other.periodicTaskInfo()[0]?.lastRun).toBe(1060);
  });

  it('runs run-immediately tasks at the first pass and passes ctx and this', async () => {
    const clock = new VirtualClock(0);
    const seen: unknown[] = [];
    class M extends PeriodicTasks {
      marker = 'instance';
      @periodicTask({ runImmediately: true })
      t(c: RequestContext): void {
        seen.push(c, this.marker);
      }
    }
    await new M({ clock }).runPeriodicTasks(ctx);
    expect(seen).toEqual([ctx, 'instance']);
  });

  it('computes idle_for as the original: min of spacings seen and time-to-due of skipped tasks', async () => {
    const clock = new VirtualClock(0);
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 100 })
      slow(): void {}
      @periodicTask({ spacing: 30, runImmediately: true })
      ran(): void {}
    }
    const m = new M({ clock });
    // `ran` ran, contributing its spacing (30), not its time to due.
    expect(await m.runPeriodicTasks(ctx)).toBe(30);
    await clock.advance(80);
    // slow: due in 20 → 20; ran: last 0, due at 30 → ran again at 80, contributes 30.
    expect(await m.runPeriodicTasks(ctx)).toBe(20);
  });

  it('snaps the last run to the grid and adds whole-second jitter up to 5 % of spacing', async () => {
    for (const [spacing, random, jitter] of [
      [60, 0.99, 2],
      [60, 0.3, 0],
      [19, 0.99, 0],
      [3600, 0.5, 90],
    ] as const) {
      const clock = new VirtualClock(0);
      class M extends PeriodicTasks {
        @periodicTask({ spacing })
        t(): void {}
      }
      const m = new M({ clock, random: () => random });
      await clock.advance(spacing * 2.5);
      await m.runPeriodicTasks(ctx);
      // Latest grid point <= now is 2·spacing, plus the jitter.
      expect(m.periodicTaskInfo()[0]?.lastRun).toBe(spacing * 2 + jitter);
    }
  });

  it('the first run of a run-immediately task stamps now, without jitter', async () => {
    const clock = new VirtualClock(7);
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true })
      t(): void {}
    }
    const m = new M({ clock, random: () => 0.99 });
    await m.runPeriodicTasks(ctx);
    expect(m.periodicTaskInfo()[0]?.lastRun).toBe(7);
  });

  it('skips external tasks when runExternalPeriodicTasks is false, leaving idle_for untouched', async () => {
    const clock = new VirtualClock(0);
    const runs: string[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 5, runImmediately: true, externalProcessOk: true })
      ext(): void {
        runs.push('ext');
      }
    }
    expect(await new M({ clock, runExternalPeriodicTasks: false }).runPeriodicTasks(ctx)).toBe(60);
    expect(runs).toEqual([]);
    expect(await new M({ clock }).runPeriodicTasks(ctx)).toBe(5);
    expect(runs).toEqual(['ext']);
  });

  it('runs async tasks one after another in registration order', async () => {
    const clock = new VirtualClock(0);
    const events: string[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true })
      async first(): Promise<void> {
        events.push('first:start');
        await clock.sleep(5);
        events.push('first:end');
      }
      @periodicTask({ runImmediately: true })
      second(): void {
        events.push(`second@${clock.now()}`);
      }
    }
    const p = new M({ clock }).runPeriodicTasks(ctx);
    await clock.advance(5);
    await p;
    expect(events).toEqual(['first:start', 'first:end', 'second@5']);
  });

  it('logs a failing task as "Error during Class.name", counts it as run and goes on', async () => {
    const clock = new VirtualClock(0);
    const { logger, lines } = captureLogs();
    const runs: string[] = [];
    class Failing extends PeriodicTasks {
      @periodicTask({ runImmediately: true, spacing: 10 })
      sync(): void {
        throw new Error('boom');
      }
      @periodicTask({ runImmediately: true, spacing: 10 })
      async asyncFail(): Promise<void> {
        throw new TypeError('async boom');
      }
      @periodicTask({ runImmediately: true, spacing: 10 })
      ok(): void {
        runs.push('ok');
      }
    }
    const m = new Failing({ clock, logger });
    expect(await m.runPeriodicTasks(ctx)).toBe(10);
    expect(runs).toEqual(['ok']);
    const errors = lines.filter((l) => l.level === LEVEL.error);
    expect(errors.map((l) => l.msg)).toEqual([
      'Error during Failing.sync',
      'Error during Failing.asyncFail',
    ]);
    expect(errors[0]?.err?.message).toBe('boom');
    expect(lines.filter((l) => l.level === LEVEL.debug).map((l) => l.msg)).toEqual([
      'Running periodic task Failing.sync',
      'Running periodic task Failing.asyncFail',
      'Running periodic task Failing.ok',
    ]);
    // Counted as run: nothing is due right after.
    expect(m.periodicTaskInfo().every((t) => t.lastRun === 0)).toBe(true);
  });

  it('raiseOnError rethrows the first failure, sync or async, after stamping it as run', async () => {
    const clock = new VirtualClock(0);
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true })
      async bad(): Promise<void> {
        throw new Error('bad');
      }
    }
    const m = new M({ clock, logger: captureLogs().logger });
    await expect(m.runPeriodicTasks(ctx, { raiseOnError: true })).rejects.toThrow('bad');
    expect(m.periodicTaskInfo()[0]?.lastRun).toBe(0);
  });

  it('reports each run to onTaskRun, including failures; an observer error is only logged', async () => {
    const clock = new VirtualClock(0);
    const events: TaskRunEvent[] = [];
    const { logger, messages } = captureLogs();
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true })
      async t(): Promise<void> {
        await clock.sleep(2);
        throw new Error('x');
      }
    }
    const m = new M({
      clock,
      logger,
      onTaskRun: (e) => {
        events.push(e);
        throw new Error('observer');
      },
    });
    const p = m.runPeriodicTasks(ctx);
    await clock.advance(2);
    await p;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ fullName: 'M.t', name: 't', startedAt: 0, duration: 2 });
    expect((events[0]?.error as Error).message).toBe('x');
    expect(messages(LEVEL.error)).toEqual(['onTaskRun observer failed', 'Error during M.t']);
  });

  it('reproduces the worked example: 40 s tick, 60 s task → runs at 84, 124, 204, 244', async () => {
    const clock = new VirtualClock(0);
    const runs: number[] = [];
    class M extends PeriodicTasks {
      @periodicTask
      t(): void {
        runs.push(clock.now());
      }
    }
    const m = new M({ clock, random: () => 0 });
    for (let tick = 4; tick <= 244; tick += 40) {
      await clock.advanceTo(tick);
      await m.runPeriodicTasks(ctx);
    }
    expect(runs).toEqual([84, 124, 204, 244]);
  });
});

describe('PeriodicTasks.addPeriodicTask', () => {
  it('adds to this instance only; other instances keep running normally (fix)', async () => {
    const clock = new VirtualClock(0);
    const runs: string[] = [];
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true })
      base(): void {
        runs.push('base');
      }
    }
    const a = new M({ clock });
    const b = new M({ clock });
    expect(
      a.addPeriodicTask(
        function extra(this: M) {
          runs.push(this === a ? 'extra on a' : 'wrong this');
        },
        { runImmediately: true },
      ),
    ).toBe(true);
    expect(a.periodicTaskInfo().map((t) => t.name)).toEqual(['base', 'extra']);
    expect(b.periodicTaskInfo().map((t) => t.name)).toEqual(['base']);
    expect(M.periodicTaskNames()).toEqual(['base']);
    await a.runPeriodicTasks(ctx);
    await b.runPeriodicTasks(ctx);
    expect(runs).toEqual(['base', 'extra on a', 'base']);
  });

  it('stamps the added task at add time unless run-immediately', async () => {
    const clock = new VirtualClock(0);
    const m = new PeriodicTasks({ clock });
    await clock.advance(30);
    m.addPeriodicTask(() => undefined, { name: 'later', spacing: 10 });
    expect(m.periodicTaskInfo()[0]).toMatchObject({ name: 'later', lastRun: 30, spacing: 10 });
  });

  it('returns false for negative or disabled tasks, and validates its input', () => {
    const { logger, messages } = captureLogs();
    const m = new PeriodicTasks({ clock: new VirtualClock(), logger });
    expect(m.addPeriodicTask(function neg() {}, { spacing: -5 })).toBe(false);
    expect(m.addPeriodicTask(function off() {}, { enabled: false })).toBe(false);
    expect(messages(LEVEL.info)).toEqual([
      'Skipping periodic task neg because its interval is negative',
      'Skipping periodic task off because it is disabled',
    ]);
    expect(() => m.addPeriodicTask(() => undefined)).toThrow(
      /anonymous function needs the name option/,
    );
    expect(() => m.addPeriodicTask('nope' as never)).toThrow(/fn must be a function/);
    expect(() => m.addPeriodicTask(function f() {}, { ticksBetweenRuns: 1 } as never)).toThrow(
      /ticksBetweenRuns/,
    );
    expect(m.periodicTaskInfo()).toEqual([]);
  });

  it('validates constructor options', () => {
    expect(() => new PeriodicTasks({ runExternalPeriodicTasks: 'yes' as never })).toThrow(
      /must be a boolean/,
    );
  });
});
