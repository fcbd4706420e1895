import { describe, expect, it } from 'vitest';
import { MessageDeliveryFailure, VirtualClock } from '../../../../src/core/index.js';
import {
  ConfirmTracker,
  type Outstanding,
} from '../../../../src/messaging/drivers/rabbit/confirms.js';
import { DeadlineQueue } from '../../../../src/messaging/deadlines.js';

function outstanding(exchange: string, deadline: number, log: (string | Error | undefined)[]) {
  const o: Outstanding = {
    req: { exchange, routingKey: 'k', body: '{}', deadline },
    done: (err) => log.push(err ?? `${exchange} done`),
    settled: false,
  };
  return o;
}

describe('ConfirmTracker (virtual clock)', () => {
  it('serves every outstanding confirm with one deadline timer', async () => {
    const clock = new VirtualClock();
    const deadlines = new DeadlineQueue(clock);
    const tracker = new ConfirmTracker(clock, deadlines);
    const log: (string | Error | undefined)[] = [];
    const os = Array.from({ length: 100 }, (_, i) => outstanding(`x${i}`, 1 + i, log));
    for (const o of os) tracker.add(o);
    expect(deadlines.size).toBe(1);
    expect(clock.pending).toBe(1);
    // Confirmed ones are never failed.
    for (const o of os.slice(0, 50)) {
      tracker.settle(o);
      o.done(undefined);
    }
    await clock.advanceTo(50.5);
    expect(log.filter((e) => e instanceof MessageDeliveryFailure)).toEqual([]);
    await clock.advanceTo(52);
    const failed = log.filter((e): e is Error => e instanceof MessageDeliveryFailure);
    expect(failed.map((e) => e.message)).toEqual([
      "No confirm from the broker in time for a message to exchange 'x50'",
      "No confirm from the broker in time for a message to exchange 'x51'",
    ]);
    expect(os[50]?.settled).toBe(true);
    expect(deadlines.size).toBe(1);
  });

  it('re-arms for an earlier deadline and drops settled publishes from the front', async () => {
    const clock = new VirtualClock();
    const deadlines = new DeadlineQueue(clock);
    const tracker = new ConfirmTracker(clock, deadlines);
    const log: (string | Error | undefined)[] = [];
    const late = outstanding('late', 10, log);
    const early = outstanding('early', 2, log);
    tracker.add(late);
    tracker.add(early);
    expect(clock.nextWakeup()).toBe(2);
    await clock.advanceTo(2);
    expect(log.map((e) => (e instanceof Error ? e.message : e))).toEqual([
      "No confirm from the broker in time for a message to exchange 'early'",
    ]);
    expect(clock.nextWakeup()).toBe(10);
    tracker.settle(late);
    await clock.advanceTo(10);
    expect(log).toHaveLength(1);
  });

  it('disarm() forgets the timer after the deadline queue was cleared', async () => {
    const clock = new VirtualClock();
    const deadlines = new DeadlineQueue(clock);
    const tracker = new ConfirmTracker(clock, deadlines);
    const log: (string | Error | undefined)[] = [];
    tracker.add(outstanding('a', 5, log));
    deadlines.clear();
    tracker.disarm();
    await clock.advanceTo(10);
    expect(log).toEqual([]);
    // A new publish arms a new timer.
    tracker.add(outstanding('b', 12, log));
    expect(clock.nextWakeup()).toBe(12);
    await clock.advanceTo(12);
    expect(log.map((e) => (e instanceof Error ? e.message : e))).toEqual([
      "No confirm from the broker in time for a message to exchange 'a'",
      "No confirm from the broker in time for a message to exchange 'b'",
    ]);
  });
});
