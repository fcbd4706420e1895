import { describe, expect, it } from 'vitest';
import { ClockBusyError, VirtualClock } from '../../src/core/index.js';

describe('VirtualClock', () => {
  it('starts at the given time and only moves when advanced', async () => {
    const clock = new VirtualClock(100);
    expect(clock.now()).toBe(100);
    await clock.advance(5);
    expect(clock.now()).toBe(105);
  });

  it('wakes sleepers in time order, ties in the order they slept, with now() at each wake time', async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const nap = (label: string, s: number) =>
      clock.sleep(s).then(() => seen.push(`${label}@${clock.now()}`));
    void nap('c', 3);
    void nap('a', 1);
    void nap('b1', 2);
    void nap('b2', 2);
    await clock.advance(2.5);
    expect(seen).toEqual(['a@1', 'b1@2', 'b2@2']);
    expect(clock.now()).toBe(2.5);
    await clock.advance(1);
    expect(seen).toEqual(['a@1', 'b1@2', 'b2@2', 'c@3']);
  });

  it('lets async work triggered by a wake-up settle, including new sleeps within the window', async () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(10);
        await Promise.resolve();
        await clock.sleep(0);
        ticks.push(clock.now());
      }
    };
    const done = loop();
    await clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    await clock.advance(100);
    await done;
    expect(ticks).toEqual([10, 20, 30, 40, 50]);
  });

  it('sleep(0), negative and NaN never wait for advance()', async () => {
    const clock = new VirtualClock();
    await clock.sleep(0);
    await clock.sleep(-1);
    await clock.sleep(Number.NaN);
    expect(clock.pending).toBe(0);
  });

  it('an aborted sleep rejects with the reason and is not woken later', async () => {
    const clock = new VirtualClock();
    const ac = new AbortController();
    const p = clock.sleep(10, ac.signal);
    expect(clock.pending).toBe(1);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
    expect(clock.nextWakeup()).toBeUndefined();
    await clock.advance(20);
    await expect(clock.sleep(1, ac.signal)).rejects.toThrow('stop');
  });

  it('reports the next wake-up', () => {
    const clock = new VirtualClock(5);
    void clock.sleep(3);
    expect(clock.nextWakeup()).toBe(8);
  });

  it('rejects concurrent advances, backwards moves and bad input', async () => {
    const clock = new VirtualClock(10);
    const first = clock.advance(1);
    await expect(clock.advance(1)).rejects.toBeInstanceOf(ClockBusyError);
    await first;
    await expect(clock.advanceTo(5)).rejects.toThrow(/backwards/);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    expect(() => new VirtualClock(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('simulates a day of one-second ticks quickly', async () => {
    const clock = new VirtualClock();
    let count = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        await clock.sleep(1);
        count++;
      }
    })();
    await clock.advance(86_400);
    stop = true;
    await clock.advance(1);
    await loop;
    expect(count).toBe(86_401);
  });
});
