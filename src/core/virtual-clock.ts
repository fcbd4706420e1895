import type { Clock } from './clock.js';
import { ClockBusyError, InvalidClockTime } from './errors.js';
import { type HeapNode, IndexedHeap } from './heap.js';

interface Sleeper extends HeapNode {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock that only moves when told to, so tests can simulate days of scheduling in milliseconds.
 *
 * `advance(s)` wakes the sleepers due within the next `s` seconds one at a time, in time order (ties
 * in the order they went to sleep), setting `now()` to each one's wake-up time and letting the
 * async work it triggers settle before moving on. Work settles when it only awaits promises and
 * this clock; real I/O is not waited for.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #advancing = false;
  readonly #sleepers = new IndexedHeap<Sleeper>(
    (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq),
  );

  constructor(start = 0) {
    if (!Number.isFinite(start))
      throw new InvalidClockTime(`start must be finite, got ${String(start)}`);
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Number of sleepers waiting for time to pass. */
  get pending(): number {
    return this.#sleepers.size;
  }

  /** When the next sleeper wakes, or `undefined` if none is waiting. */
  nextWakeup(): number | undefined {
    return this.#sleepers.peek()?.at;
  }

  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(seconds > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#sleepers.remove(sleeper);
        reject(signal?.reason);
      };
      const sleeper: Sleeper = {
        at: this.#now + seconds,
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        heapIndex: -1,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `seconds`, waking every sleeper due on the way. */
  async advance(seconds: number): Promise<void> {
    if (!(seconds >= 0))
      throw new InvalidClockTime(`advance() needs seconds >= 0, got ${String(seconds)}`);
    await this.advanceTo(this.#now + seconds);
  }

  /** Moves time forward to `time` (not backwards), waking every sleeper due on the way. */
  async advanceTo(time: number): Promise<void> {
    if (this.#advancing) throw new ClockBusyError();
    if (!(time >= this.#now)) {
      throw new InvalidClockTime(
        `advanceTo(${String(time)}) would move time backwards from ${this.#now}`,
      );
    }
    this.#advancing = true;
    try {
      await settle();
      for (let top = this.#sleepers.peek(); top && top.at <= time; top = this.#sleepers.peek()) {
        this.#sleepers.remove(top);
        this.#now = top.at;
        top.resolve();
        await settle();
      }
      this.#now = time;
      await settle();
    } finally {
      this.#advancing = false;
    }
  }
}
