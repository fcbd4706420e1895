import type { Clock } from './clock.js';
import { ClockBusyError } from './errors.js';

interface Sleeper {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
  cancelled: boolean;
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
  // Binary min-heap on (at, seq).
  readonly #heap: Sleeper[] = [];

  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new RangeError(`start must be finite, got ${String(start)}`);
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Number of sleepers waiting for time to pass. */
  get pending(): number {
    return this.#heap.filter((s) => !s.cancelled).length;
  }

  /** When the next sleeper wakes, or `undefined` if none is waiting. */
  nextWakeup(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.at;
  }

  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(seconds > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        sleeper.cancelled = true;
        reject(signal?.reason);
      };
      const sleeper: Sleeper = {
        at: this.#now + seconds,
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        cancelled: false,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#push(sleeper);
    });
  }

  /** Moves time forward by `seconds`, waking every sleeper due on the way. */
  async advance(seconds: number): Promise<void> {
    if (!(seconds >= 0))
      throw new RangeError(`advance() needs seconds >= 0, got ${String(seconds)}`);
    await this.advanceTo(this.#now + seconds);
  }

  /** Moves time forward to `time` (not backwards), waking every sleeper due on the way. */
  async advanceTo(time: number): Promise<void> {
    if (this.#advancing) throw new ClockBusyError();
    if (!(time >= this.#now)) {
      throw new RangeError(
        `advanceTo(${String(time)}) would move time backwards from ${this.#now}`,
      );
    }
    this.#advancing = true;
    try {
      await settle();
      for (;;) {
        this.#dropCancelled();
        const top = this.#heap[0];
        if (top === undefined || top.at > time) break;
        this.#pop();
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

  #dropCancelled(): void {
    while (this.#heap[0]?.cancelled) this.#pop();
  }

  #less(a: Sleeper, b: Sleeper): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(s: Sleeper): void {
    const h = this.#heap;
    let i = h.push(s) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Sleeper;
      if (!this.#less(s, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = s;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.#less(h[r] as Sleeper, h[l] as Sleeper) ? r : l;
      const child = h[c] as Sleeper;
      if (!this.#less(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}
