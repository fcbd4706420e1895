import { describe, expect, it } from 'vitest';
import { type HeapNode, IndexedHeap } from '../../src/core/index.js';
import { mulberry32 } from '../../bench/lib/random.js';

interface N extends HeapNode {
  v: number;
}
const node = (v: number): N => ({ v, heapIndex: -1 });
const byValue = (a: N, b: N): boolean => a.v < b.v;

/** Pops everything, returning the values in pop order. */
function drain(h: IndexedHeap<N>): number[] {
  const out: number[] = [];
  for (let n = h.pop(); n; n = h.pop()) out.push(n.v);
  return out;
}

describe('IndexedHeap', () => {
  it('pops in order and removes any element in place', () => {
    const h = new IndexedHeap<N>((a, b) => a.v < b.v);
    const nodes = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0].map(node);
    nodes.forEach((n) => h.push(n));
    expect(h.remove(nodes[0] as N)).toBe(true); // 5
    expect(h.remove(nodes[0] as N)).toBe(false); // twice is a no-op
    expect(h.remove(nodes[9] as N)).toBe(true); // 0, the top
    expect(h.size).toBe(8);
    const out: number[] = [];
    for (let n = h.pop(); n; n = h.pop()) out.push(n.v);
    expect(out).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
    expect(nodes.every((n) => n.heapIndex === -1)).toBe(true);
  });

  it('clear() empties it and unmarks every element', () => {
    const h = new IndexedHeap<N>((a, b) => a.v < b.v);
    const a = node(1);
    h.push(a);
    h.clear();
    expect([h.size, h.peek(), a.heapIndex, h.remove(a)]).toEqual([0, undefined, -1, false]);
  });

  it('removes a node whose replacement must move up, not down', () => {
    // [1, 10, 2, 11, 12, 3, 4]: removing 11 (a child of 10) puts 4 under 10.
    const h = new IndexedHeap<N>(byValue);
    const nodes = [1, 10, 2, 11, 12, 3, 4].map(node);
    nodes.forEach((n) => h.push(n));
    expect(h.remove(nodes[3] as N)).toBe(true);
    expect(drain(h)).toEqual([1, 2, 3, 4, 10, 12]);
  });

  it('removes the last element, the only element, and nothing from an empty heap', () => {
    const h = new IndexedHeap<N>(byValue);
    const [a, b] = [node(1), node(2)];
    h.push(a);
    h.push(b);
    expect(h.remove(b)).toBe(true);
    expect([h.size, h.peek()]).toEqual([1, a]);
    expect(h.remove(a)).toBe(true);
    expect([h.size, h.peek(), h.pop(), h.remove(a)]).toEqual([0, undefined, undefined, false]);
  });

  it('keeps its order and every position under random pushes, pops and removes', () => {
    const random = mulberry32(42);
    const h = new IndexedHeap<N>(byValue);
    const inHeap = new Set<N>();
    for (let step = 0; step < 5000; step++) {
      const r = random();
      if (r < 0.5 || inHeap.size === 0) {
        const n = node(Math.floor(random() * 50)); // many duplicates
        h.push(n);
        inHeap.add(n);
      } else if (r < 0.7) {
        const top = h.pop() as N;
        expect(Math.min(...[...inHeap].map((n) => n.v))).toBe(top.v);
        inHeap.delete(top);
        expect(top.heapIndex).toBe(-1);
      } else {
        const victim = [...inHeap][Math.floor(random() * inHeap.size)] as N;
        expect(h.remove(victim)).toBe(true);
        inHeap.delete(victim);
        expect([victim.heapIndex, h.remove(victim)]).toEqual([-1, false]);
      }
      expect(h.size).toBe(inHeap.size);
    }
    const rest = [...inHeap].map((n) => n.v).sort((a, b) => a - b);
    expect(drain(h)).toEqual(rest);
  });

  it('peek() is what pop() returns next, and duplicates pop in order of any tie-break', () => {
    interface T extends N {
      seq: number;
    }
    let seq = 0;
    const h = new IndexedHeap<T>((a, b) => a.v < b.v || (a.v === b.v && a.seq < b.seq));
    for (const v of [3, 1, 3, 2, 1, 3, 2, 1]) h.push({ v, seq: seq++, heapIndex: -1 });
    const out: string[] = [];
    for (let top = h.peek(); top; top = h.peek()) {
      expect(h.pop()).toBe(top);
      out.push(`${top.v}#${top.seq}`);
    }
    expect(out).toEqual(['1#1', '1#4', '1#7', '2#3', '2#6', '3#0', '3#2', '3#5']);
  });

  it('does not remove a node that belongs to another heap', () => {
    const a = new IndexedHeap<N>(byValue);
    const b = new IndexedHeap<N>(byValue);
    const x = node(1);
    const y = node(2);
    a.push(x);
    b.push(y);
    expect(b.remove(x)).toBe(false);
    expect([a.size, b.size, a.peek(), b.peek()]).toEqual([1, 1, x, y]);
  });

  it('takes back a node that was removed or cleared', () => {
    const h = new IndexedHeap<N>(byValue);
    const x = node(5);
    h.push(x);
    h.clear();
    h.push(x);
    h.push(node(7));
    expect(h.remove(x)).toBe(true);
    h.push(x);
    expect(drain(h)).toEqual([5, 7]);
  });
});
