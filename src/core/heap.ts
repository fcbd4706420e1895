/** An element of an {@link IndexedHeap}: the heap keeps its position here (-1 when not in it). */
export interface HeapNode {
  heapIndex: number;
}

/**
 * A binary min-heap that knows where each element is, so `remove()` is O(log n): timers that are
 * cancelled leave at once instead of lingering until they would have fired.
 */
export class IndexedHeap<T extends HeapNode> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(x: T): void {
    x.heapIndex = this.#items.push(x) - 1;
    this.#up(x.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top) this.remove(top);
    return top;
  }

  /** Takes `x` out; false if it was not in the heap. */
  remove(x: T): boolean {
    const i = x.heapIndex;
    if (i < 0 || this.#items[i] !== x) return false;
    x.heapIndex = -1;
    const last = this.#items.pop() as T;
    if (i === this.#items.length) return true;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#up(i);
    this.#down(last.heapIndex);
    return true;
  }

  clear(): void {
    for (const x of this.#items) x.heapIndex = -1;
    this.#items.length = 0;
  }

  #up(i: number): void {
    const h = this.#items;
    const x = h[i] as T;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as T;
      if (!this.#less(x, parent)) break;
      h[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    h[i] = x;
    x.heapIndex = i;
  }

  #down(i: number): void {
    const h = this.#items;
    const x = h[i] as T;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.#less(h[r] as T, h[l] as T) ? r : l;
      const child = h[c] as T;
      if (!this.#less(child, x)) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = x;
    x.heapIndex = i;
  }
}
