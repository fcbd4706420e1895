import { describe, expect, it } from 'vitest';
import { HealthCheckError, InvalidOptionError, VirtualClock } from '../../src/core/index.js';
import {
  EventLoopMonitor,
  type EventLoopMonitorOptions,
  type EventLoopStall,
  runHealthChecks,
} from '../../src/ops/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

describe('runHealthChecks', () => {
  it('reports ok or the reason of each check, run at once', async () => {
    const report = await runHealthChecks(
      [
        { name: 'a', check: () => undefined },
        { name: 'b', check: async () => undefined },
        {
          name: 'sync',
          check: () => {
            throw new Error('sync failure');
          },
        },
        { name: 'async', check: () => Promise.reject(new HealthCheckError('async', 'down')) },
      ],
      { timeout: 1 },
    );
    expect(report).toEqual({
      ok: false,
      checks: { a: 'ok', b: 'ok', sync: 'sync failure', async: 'down' },
    });
    expect(await runHealthChecks([{ name: 'a', check: () => undefined }], { timeout: 1 })).toEqual({
      ok: true,
      checks: { a: 'ok' },
    });
  });

  it('fails a check that hangs past the timeout instead of hanging', async () => {
    const started = performance.now();
    const report = await runHealthChecks(
      [
        { name: 'hang', check: () => new Promise<void>(() => undefined) },
        { name: 'fine', check: () => undefined },
      ],
      { timeout: 0.05 },
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect(report).toEqual({ ok: false, checks: { hang: 'timed out after 0.05 s', fine: 'ok' } });
  });

  it('times out on the clock it is given', async () => {
    const clock = new VirtualClock(0);
    const pending = runHealthChecks([{ name: 'hang', check: () => new Promise(() => undefined) }], {
      timeout: 2,
      clock,
    });
    await clock.advance(2);
    expect((await pending).checks).toEqual({ hang: 'timed out after 2 s' });
    expect(clock.pending).toBe(0);
  });

  it('cancels the timeout of checks that settle, and keeps duplicate names apart', async () => {
    const clock = new VirtualClock(0);
    const report = await runHealthChecks(
      [
        { name: 'db', check: () => undefined },
        { name: 'db', check: () => Promise.reject(new Error('replica down')) },
      ],
      { timeout: 2, clock },
    );
    expect(report.checks).toEqual({ db: 'ok', db_2: 'replica down' });
    expect(clock.pending).toBe(0);
  });
});

/** A monitor on a virtual clock, fed by hand through observe(): no timer, no real time. */
function monitor(options: EventLoopMonitorOptions = {}) {
  const clock = new VirtualClock(0);
  const logs = captureLogs();
  const stalls: EventLoopStall[] = [];
  let running: string | undefined;
  const m = new EventLoopMonitor({
    clock,
    logger: logs.logger,
    runningTask: () => running,
    onStall: (s) => void stalls.push(s),
    ...options,
  });
  return {
    m,
    clock,
    logs,
    stalls,
    setRunning: (name: string | undefined) => void (running = name),
    /** The check's verdict: 'ok' or the reason. */
    verdict: (): string => {
      try {
        m.check.check();
        return 'ok';
      } catch (err) {
        expect(err).toBeInstanceOf(HealthCheckError);
        return (err as Error).message;
      }
    },
    stallLines: () => logs.lines.filter((l) => l.msg.startsWith('Event loop stalled')),
  };
}

describe('EventLoopMonitor', () => {
  it('logs a stall once at WARNING with its length and the running task, and reports it', () => {
    const t = monitor();
    t.m.observe(0.02);
    t.m.observe(0.5); // not over the threshold (0.5 s by default)
    expect(t.stallLines()).toEqual([]);
    t.setRunning('sweep');
    t.m.observe(0.8125);
    t.setRunning(undefined);
    t.m.observe(2);
    expect(t.stallLines()).toMatchObject([
      {
        level: LEVEL.warn,
        msg: 'Event loop stalled for 0.813 s (threshold 0.5 s) while periodic task sweep was running',
        stallSeconds: 0.813,
        threshold: 0.5,
        task: 'sweep',
      },
      { level: LEVEL.warn, msg: 'Event loop stalled for 2.000 s (threshold 0.5 s)' },
    ]);
    expect(t.stallLines()[1]).not.toHaveProperty('task');
    expect(t.stalls).toEqual([
      { seconds: 0.8125, task: 'sweep' },
      { seconds: 2, task: undefined },
    ]);
    expect(t.m.stallCount).toBe(2);
    t.m.observe(Number.NaN);
    t.m.observe(-1);
    expect(t.m.stallCount).toBe(2);
    expect(t.m.check.name).toBe('event_loop');
  });

  it('names the task that was running when the stall began if none runs at its end', () => {
    const t = monitor();
    t.setRunning('report');
    t.m.start(); // samples the running task, as every tick does
    try {
      t.setRunning(undefined); // the run ended; the timer sees the stall only now
      t.m.observe(0.9);
      expect(t.stalls).toEqual([{ seconds: 0.9, task: 'report' }]);
    } finally {
      t.m.stop();
    }
  });

  it('a runningTask() that throws names no task and breaks nothing', () => {
    const t = monitor({
      runningTask: () => {
        throw new Error('no service');
      },
    });
    t.m.observe(1);
    expect(t.stalls).toEqual([{ seconds: 1, task: undefined }]);
  });

  it('fails while stalls are sustained (3 within 60 s) and recovers after 60 quiet seconds', async () => {
    const t = monitor({ blockThreshold: 100 });
    t.m.observe(0.7);
    await t.clock.advance(50);
    t.m.observe(0.6);
    await t.clock.advance(20); // t=70: the first stall is out of the window
    t.m.observe(0.9);
    expect(t.verdict()).toBe('ok');
    expect(t.m.degraded).toBe(false);
    await t.clock.advance(30); // t=100: stalls at 50, 70, 100
    t.m.observe(1.25);
    expect(t.m.degraded).toBe(true);
    expect(t.verdict()).toBe(
      'sustained stalls over 0.5 s: 3 since 3 came within 60 s, longest 1.250 s, last 0 s ago; healthy again after 60 s without a stall',
    );
    expect(t.logs.lines.filter((l) => /sustained/.test(l.msg))).toMatchObject([
      { level: LEVEL.warn, stalls: 3, window: 60, threshold: 0.5 },
    ]);
    t.setRunning('heavy');
    await t.clock.advance(30);
    t.m.observe(0.55); // t=130: a stall while degraded keeps it so, from now
    t.setRunning(undefined);
    await t.clock.advance(59.5);
    expect(t.verdict()).toBe(
      'sustained stalls over 0.5 s: 4 since 3 came within 60 s, longest 1.250 s, last 59.5 s ago during task heavy; healthy again after 60 s without a stall',
    );
    await t.clock.advance(0.5); // t=190: 60 s without a stall
    expect(t.verdict()).toBe('ok');
    expect(t.m.degraded).toBe(false);
    expect(t.logs.lines.at(-1)).toMatchObject({
      level: LEVEL.info,
      msg: 'Event loop healthy again: no stall for 60 s',
    });
    // One stall after recovering is one stall, not sustained.
    t.m.observe(3);
    expect(t.verdict()).toBe('ok');
    expect(t.logs.lines.filter((l) => /sustained/.test(l.msg))).toHaveLength(1);
  });

  it('takes its stall threshold, count and window from the options', async () => {
    const t = monitor({
      stallThreshold: 0.1,
      degradedAfter: 2,
      stallWindow: 5,
      blockThreshold: 100,
    });
    t.m.observe(0.15);
    await t.clock.advance(6);
    t.m.observe(0.15);
    expect(t.verdict()).toBe('ok'); // 6 s apart: never 2 within 5 s
    await t.clock.advance(4);
    t.m.observe(0.2);
    expect(t.verdict()).toMatch(/^sustained stalls over 0\.1 s: 2 since 2 came within 5 s, /);
    await t.clock.advance(5);
    expect(t.verdict()).toBe('ok');
  });

  it('one block over the block threshold fails the check by itself, for a window', async () => {
    const t = monitor({ blockThreshold: 0.3, window: 0.2, stallThreshold: 10 });
    t.m.observe(0.25);
    expect(t.verdict()).toBe('ok');
    t.m.observe(0.6);
    expect(t.verdict()).toBe('blocked for 0.600 s (threshold 0.3 s)');
    expect(t.stallLines()).toEqual([]); // not a stall at this stall threshold
    await t.clock.advance(0.1);
    expect(t.verdict()).toBe('blocked for 0.600 s (threshold 0.3 s)');
    await t.clock.advance(0.1);
    expect(t.verdict()).toBe('ok');
  });

  it('reports both reasons when both hold; stop() forgets everything', () => {
    const t = monitor({ degradedAfter: 1 });
    t.m.observe(1.5);
    expect(t.verdict()).toBe(
      'sustained stalls over 0.5 s: 1 since 1 came within 60 s, longest 1.500 s, last 0 s ago; healthy again after 60 s without a stall; blocked for 1.500 s (threshold 1 s)',
    );
    t.m.stop();
    t.m.stop();
    expect(t.verdict()).toBe('ok');
    expect(t.m.degraded).toBe(false);
  });

  it('validates its options', () => {
    expect(() => new EventLoopMonitor({ stallThreshold: 0 })).toThrow(InvalidOptionError);
    expect(() => new EventLoopMonitor({ stallWindow: Number.POSITIVE_INFINITY })).toThrow(
      /stallWindow/,
    );
    expect(() => new EventLoopMonitor({ degradedAfter: 1.5 })).toThrow(/degradedAfter/);
    expect(() => new EventLoopMonitor({ degradedAfter: 0 })).toThrow(/degradedAfter/);
    expect(() => new EventLoopMonitor({ blockThreshold: -1 })).toThrow(/blockThreshold/);
  });
});
