import { describe, expect, it, vi } from 'vitest';
import { HealthCheckError, VirtualClock } from '../../src/core/index.js';
import { EventLoopMonitor } from '../../src/ops/health.js';
import { runHealthChecks } from '../../src/ops/index.js';

const blockFor = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy: the event loop is blocked */
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

describe('EventLoopMonitor', () => {
  // Generous margins: a loaded test machine lags by itself, never by half a second here.
  it('fails after the loop was blocked past the threshold, and clears once that is old', async () => {
    const monitor = new EventLoopMonitor(0.3, 0.2);
    monitor.start();
    try {
      blockFor(600);
      await sleep(30);
      expect(() => monitor.check.check()).toThrow(/^blocked for 0\.\d+ s \(threshold 0.3 s\)$/);
      expect(monitor.check.name).toBe('event_loop');
      // Two windows later the stall is forgotten.
      await vi.waitFor(() => expect(() => monitor.check.check()).not.toThrow(), {
        timeout: 3000,
        interval: 50,
      });
    } finally {
      monitor.stop();
      monitor.stop();
    }
    expect(monitor.maxDelay).toBe(0);
  });
});
