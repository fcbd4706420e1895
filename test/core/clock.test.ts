import { describe, expect, it } from 'vitest';
import { RealClock, realClock } from '../../src/core/index.js';

// Lower bounds and aborts only: nothing here depends on how late a timer fires.
describe('RealClock', () => {
  it('is monotonic, in seconds', () => {
    const a = realClock.now();
    const b = realClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(a).toBeLessThan(1e7);
  });

  it('never wakes before the deadline', async () => {
    for (const preciseWindow of [0, 0.002, 0.02]) {
      const clock = new RealClock({ preciseWindow });
      const start = clock.now();
      await clock.sleep(0.015);
      expect(clock.now() - start).toBeGreaterThanOrEqual(0.015);
    }
  });

  it('an abort interrupts the sleep at once with the signal reason', async () => {
    const ac = new AbortController();
    const p = realClock.sleep(3600, ac.signal);
    ac.abort(new Error('bye'));
    await expect(p).rejects.toThrow('bye');
    await expect(realClock.sleep(1, ac.signal)).rejects.toThrow('bye');
  });

  it('sleep(0) is a yield', async () => {
    await realClock.sleep(0);
  });

  it('validates its options', () => {
    expect(() => new RealClock({ preciseWindow: -1 })).toThrow(RangeError);
    expect(() => new RealClock({ preciseWindow: Infinity })).toThrow(RangeError);
    // The option's old name is refused, not silently ignored.
    expect(() => new RealClock({ spinThreshold: 0.002 } as never)).toThrow(/renamed preciseWindow/);
    expect(() => new RealClock({ precise: 1 } as never)).toThrow(
      /Unknown RealClock option 'precise'/,
    );
  });
});
