import type { Clock } from '../core/index.js';

interface Deadline {
  readonly at: number;
  readonly onExpire: () => void;
  /** Position in the heap, -1 once removed. */
  index: number;
}

/**
 * Many timeouts on one clock sleep: an indexed min-heap of deadlines and a single sleeper armed for
 * the earliest. A call costs a heap push and, when it completes, a removal — so the heap only ever
 * holds the calls still waiting (completed calls are not kept until their timeout would have fired).
 */
export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #heap: Deadline[] = [];
  #armedAt = Infinity;
  #wake: AbortController | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Number of deadlines still waiting. */
  get size(): number {
    return this.#heap.length;
  }

  /** Calls `onExpire` after `seconds` unless the returned function is called first. */
  add(seconds: number, onExpire: () => void): () => void {
    const d: Deadline = { at: this.#clock.now() + seconds, onExpire, index: -1 };
    this.#insert(d);
    if (d.at < this.#armedAt) this.#arm();
    return () => this.#remove(d);
  }

  /** Cancels everything (on transport close). */
  clear(): void {
    for (const d of this.#heap) d.index = -1;
    this.#heap.length = 0;
    this.#wake?.abort();
    this.#wake = undefined;
    this.#armedAt = Infinity;
  }

  #arm(): void {
    this.#wake?.abort();
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
        for (let d = this.#heap[0]; d && d.at <= now; d = this.#heap[0]) {
          this.#remove(d);
          d.onExpire();
        }
        this.#arm();
      },
      () => undefined,
    );
  }

  #insert(d: Deadline): void {
    d.index = this.#heap.push(d) - 1;
    this.#up(d.index);
  }

  #remove(d: Deadline): void {
    const i = d.index;
    if (i < 0) return;
    d.index = -1;
    const last = this.#heap.pop() as Deadline;
    if (i === this.#heap.length) return;
    this.#heap[i] = last;
    last.index = i;
    this.#up(i);
    this.#down(last.index);
  }

  #up(i: number): void {
    const h = this.#heap;
    const d = h[i] as Deadline;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Deadline;
      if (parent.at <= d.at) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = d;
    d.index = i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const d = h[i] as Deadline;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as Deadline).at < (h[l] as Deadline).at ? r : l;
      const child = h[c] as Deadline;
      if (child.at >= d.at) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = d;
    d.index = i;
  }
}
