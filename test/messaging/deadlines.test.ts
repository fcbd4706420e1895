import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/index.js';
import { DeadlineQueue } from '../../src/messaging/deadlines.js';

describe('DeadlineQueue', () => {
  it('fires deadlines in time order on one sleeper, re-arming for an earlier one', async () => {
    const clock = new VirtualClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    q.add(10, () => fired.push(`a@${clock.now()}`));
    q.add(5, () => fired.push(`b@${clock.now()}`));
    q.add(7, () => fired.push(`c@${clock.now()}`));
    expect(clock.pending).toBe(1);
    await clock.advance(20);
    expect(fired).toEqual(['b@5', 'c@7', 'a@10']);
    expect(q.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('removes cancelled deadlines at once, so the heap holds only waiting ones', async () => {
    const clock = new VirtualClock();
    const q = new DeadlineQueue(clock);
    const fired: number[] = [];
    const cancels = Array.from({ length: 100 }, (_, i) => q.add(60 + i, () => fired.push(i)));
    cancels.forEach((cancel, i) => i % 2 === 0 && cancel());
    cancels[0]?.(); // twice is harmless
    expect(q.size).toBe(50);
    await clock.advance(200);
    expect(fired).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
  });

  it('clear() drops everything', async () => {
    const clock = new VirtualClock();
    const q = new DeadlineQueue(clock);
    let fired = false;
    q.add(1, () => (fired = true));
    q.clear();
    await clock.advance(5);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
  });
});
