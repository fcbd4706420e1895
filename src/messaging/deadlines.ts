import type { Clock } from '../core/index.js';

interface Deadline {
  readonly at: number;
  readonly onExpire: () => void;
  cancelled: boolean;
}

/**
 * Many timeouts on one clock sleep: a min-heap of deadlines and a single sleeper armed for the
 * earliest, re-armed only when an earlier one arrives. A call costs a heap push, not a timer.
 */
export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #heap: Deadline[] = [];
  #armedAt = Infinity;
  #wake: AbortController | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `onExpire` after `seconds` unless the returned function is called first. */
  add(seconds: number, onExpire: () => void): () => void {
    const d: Deadline = { at: this.#clock.now() + seconds, onExpire, cancelled: false };
    this.#push(d);
    if (d.at < this.#armedAt) this.#arm();
    return () => {
      d.cancelled = true;
    };
  }

  /** Cancels everything (on transport close). */
  clear(): void {
    for (const d of this.#heap) d.cancelled = true;
    this.#heap.length = 0;
    this.#wake?.abort();
  }

  #arm(): void {
    this.#wake?.abort();
    while (this.#heap[0]?.cancelled) this.#pop();
    const top = this.#heap[0];
    if (!top) {
      this.#armedAt = Infinity;
      this.#wake = undefined;
      return;
    }
    const wake = new AbortController();
    this.#wake = wake;
    this.#armedAt = top.at;
    this.#clock.sleep(top.at - this.#clock.now(), wake.signal).then(
      () => {
        if (this.#wake !== wake) return;
        const now = this.#clock.now();
        for (let d = this.#heap[0]; d && (d.cancelled || d.at <= now); d = this.#heap[0]) {
          this.#pop();
          if (!d.cancelled) d.onExpire();
        }
        this.#arm();
      },
      () => undefined,
    );
  }

  #push(d: Deadline): void {
    const h = this.#heap;
    let i = h.push(d) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Deadline;
      if (parent.at <= d.at) break;
      h[i] = parent;
      i = p;
    }
    h[i] = d;
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
      const c = r < h.length && (h[r] as Deadline).at < (h[l] as Deadline).at ? r : l;
      if ((h[c] as Deadline).at >= last.at) break;
      h[i] = h[c] as Deadline;
      i = c;
    }
    h[i] = last;
  }
}
