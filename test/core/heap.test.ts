import { describe, expect, it } from 'vitest';
import { type HeapNode, IndexedHeap } from '../../src/core/index.js';

interface N extends HeapNode {
  v: number;
}
const node = (v: number): N => ({ v, heapIndex: -1 });

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
});
