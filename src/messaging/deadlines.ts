import { type Clock, type HeapNode, IndexedHeap } from '../core/index.js';

interface Deadline extends HeapNode {
  readonly at: number;
  readonly onExpire: () => void;
}

/**
 * Many timeouts on one clock sleep: an indexed min-heap of deadlines and a single sleeper armed for
 * the earliest. A call costs a heap push and, when it completes, a removal — so the heap only ever
 * holds the calls still waiting (completed calls are not kept until their timeout would have fired).
 */
export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #heap = new IndexedHeap<Deadline>((a, b) => a.at < b.at);
  #armedAt = Infinity;
  #wake: AbortController | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Number of deadlines still waiting. */
  get size(): number {
    return this.#heap.size;
  }

  /** Calls `onExpire` after `seconds` unless the returned function is called first. */
  add(seconds: number, onExpire: () => void): () => void {
    const d: Deadline = { at: this.#clock.now() + seconds, onExpire, heapIndex: -1 };
    this.#heap.push(d);
    if (d.at < this.#armedAt) this.#arm();
    return () => void this.#heap.remove(d);
  }

  /** Cancels everything (on transport close). */
  clear(): void {
    this.#heap.clear();
    this.#wake?.abort();
    this.#wake = undefined;
    this.#armedAt = Infinity;
  }

  #arm(): void {
    this.#wake?.abort();
    const top = this.#heap.peek();
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
        for (let d = this.#heap.peek(); d && d.at <= now; d = this.#heap.peek()) {
          this.#heap.remove(d);
          d.onExpire();
        }
        this.#arm();
      },
      () => undefined, // aborted: re-armed for an earlier deadline, or cleared
    );
  }
}
