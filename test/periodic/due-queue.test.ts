import { describe, expect, it } from 'vitest';
import { DueQueue, type DueQueueOptions, QuaternaryHeap } from '../../src/periodic/due-queue.js';
import { mulberry32 as rng } from '../../bench/lib/random.js';

type Pair = [due: number, id: number];
const byDueThenId = (a: Pair, b: Pair): number => a[0] - b[0] || a[1] - b[1];

/** The reference: the smallest (due, id) of a plain list. */
function minOf(pairs: Map<number, number>): Pair | undefined {
  let best: Pair | undefined;
  for (const [id, due] of pairs) {
    if (!best || due < best[0] || (due === best[0] && id < best[1])) best = [due, id];
  }
  return best;
}

describe('QuaternaryHeap', () => {
  it('pops in (due, id) order, ties to the smaller id, across growth from a tiny capacity', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = rng(seed);
      const h = new QuaternaryHeap(1);
      const pairs: Pair[] = [];
      // Few distinct dues: many ties. 1,000 pushes go through several 1.5× growths, some of them
      // to an odd array length.
      for (let id = 0; id < 1000; id++) {
        const due = Math.floor(r() * 50);
        pairs.push([due, id]);
        h.push(due, id);
      }
      expect(h.size).toBe(1000);
      const listed: Pair[] = [];
      for (let i = 0; i < h.size; i++) listed.push([h.dueAt(i), h.idAt(i)]);
      expect(listed.sort(byDueThenId)).toEqual([...pairs].sort(byDueThenId));
      const out: Pair[] = [];
      while (h.size > 0) {
        out.push([h.topDue(), h.topId()]);
        h.pop();
      }
      expect(out).toEqual(pairs.sort(byDueThenId));
    }
  });

  it('keeps the heap order under random pushes, pops and replaceTop', () => {
    const r = rng(42);
    const h = new QuaternaryHeap(4);
    const ref = new Map<number, number>();
    let nextId = 0;
    for (let step = 0; step < 20_000; step++) {
      const op = r();
      if (op < 0.45 || ref.size === 0) {
        const due = Math.floor(r() * 1000) / 4;
        h.push(due, nextId);
        ref.set(nextId++, due);
      } else if (op < 0.75) {
        const top = minOf(ref) as Pair;
        expect([h.topDue(), h.topId()]).toEqual(top);
        h.pop();
        ref.delete(top[1]);
      } else {
        const top = minOf(ref) as Pair;
        expect([h.topDue(), h.topId()]).toEqual(top);
        const due = top[0] + Math.floor(r() * 100) / 4;
        h.replaceTop(due, top[1]);
        ref.set(top[1], due);
      }
      expect(h.size).toBe(ref.size);
    }
  });

  it('clear() empties it', () => {
    const h = new QuaternaryHeap();
    h.push(1, 1);
    h.clear();
    expect(h.size).toBe(0);
  });
});

describe('DueQueue', () => {
  /**
   * Random pushes and pops against the reference, with dues before the origin, in the current
   * bucket, anywhere on the wheel, beyond it (the far heap) and on bucket boundaries, many ties.
   */
  function randomized(seed: number, options: DueQueueOptions, span: number): void {
    const r = rng(seed);
    const origin = 1000;
    const q = new DueQueue(origin, 4, options);
    const ref = new Map<number, number>();
    const out: number[] = [];
    let last = origin;
    for (let step = 0; step < 6000; step++) {
      const op = r();
      if (op < 0.5 || ref.size === 0) {
        if (ref.size === 300) continue;
        // A free id (ids are reused once popped, as task entries are).
        let id = Math.floor(r() * 300);
        while (ref.has(id)) id = (id + 1) % 300;
        const kind = r();
        let due: number;
        if (kind < 0.1)
          due = last - r() * 10; // overdue
        else if (kind < 0.2)
          due = last + Math.floor(r() * 4); // ties and whole buckets
        else if (kind < 0.8)
          due = last + r() * span; // on the wheel
        else due = last + span + r() * span * 20; // far beyond it
        q.push(id, due);
        ref.set(id, due);
      } else {
        const top = minOf(ref) as Pair;
        expect(q.peekDue()).toBe(top[0]);
        expect(q.peekId()).toBe(top[1]);
        q.pop();
        ref.delete(top[1]);
        out.push(top[0]);
        // Mostly move forward, as a scheduler does (it never pops what is not due yet).
        last = Math.max(last, top[0]);
      }
      expect(q.size).toBe(ref.size);
    }
    const listed: Pair[] = [];
    q.forEach((id, due) => listed.push([due, id]));
    expect(listed.sort(byDueThenId)).toEqual(
      [...ref].map(([id, due]): Pair => [due, id]).sort(byDueThenId),
    );
    // Drain: still in order.
    while (ref.size > 0) {
      const top = minOf(ref) as Pair;
      expect([q.peekDue(), q.peekId()]).toEqual(top);
      q.pop();
      ref.delete(top[1]);
    }
    expect([q.size, q.peekDue(), q.peekId()]).toEqual([0, Infinity, -1]);
  }

  it('pops in (due, id) order like a heap: default wheel', () => {
    for (const seed of [1, 2, 3]) randomized(seed, {}, 3000);
  });

  it('pops in (due, id) order like a heap: a small wheel that wraps often, fractional buckets', () => {
    for (const seed of [4, 5, 6]) randomized(seed, { buckets: 32, bucketWidth: 0.25 }, 12);
  });

  it('pops in (due, id) order like a heap with 4 and 8 lanes per bucket', () => {
    randomized(7, { buckets: 64, lanes: 4, bucketWidth: 0.5 }, 100);
    randomized(8, { buckets: 64, lanes: 4 }, 100);
    randomized(9, { buckets: 64, lanes: 8, bucketWidth: 2 }, 100);
  });

  it('follows a scheduler: each popped id comes back one spacing later, in order, for a long time', () => {
    const r = rng(11);
    const n = 2000;
    const q = new DueQueue(0, n, { buckets: 64, lanes: 4 });
    const spacing = Array.from({ length: n }, () => 0.5 + r() * 200);
    for (let id = 0; id < n; id++) q.push(id, r() * (spacing[id] as number));
    let prev: Pair = [-Infinity, -1];
    for (let run = 0; run < 50_000; run++) {
      const cur: Pair = [q.peekDue(), q.peekId()];
      expect(byDueThenId(prev, cur)).toBeLessThan(0);
      prev = cur;
      q.pop();
      q.push(cur[1], cur[0] + (spacing[cur[1]] as number));
    }
    expect(q.size).toBe(n);
  });

  it('keeps each id’s anchor next to it, across growth and while out of the queue', () => {
    const q = new DueQueue(0, 2);
    q.setAnchor(0, 5);
    for (let id = 0; id < 100; id++) q.push(id, id);
    q.setAnchor(99, NaN);
    q.pop(); // id 0
    expect(q.anchor(0)).toBe(5);
    expect(q.anchor(99)).toBeNaN();
    expect(q.anchor(1000)).toBe(0);
  });

  it('validates its options', () => {
    expect(() => new DueQueue(0, 8, { bucketWidth: 3 })).toThrow(RangeError);
    expect(() => new DueQueue(0, 8, { bucketWidth: 0 })).toThrow(RangeError);
    expect(() => new DueQueue(0, 8, { buckets: 16 })).toThrow(RangeError);
    expect(() => new DueQueue(0, 8, { buckets: 100 })).toThrow(RangeError);
    expect(() => new DueQueue(0, 8, { lanes: 2 })).toThrow(RangeError);
  });
});
