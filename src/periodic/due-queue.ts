import { InternalError, InvalidDueQueueOption } from '../core/index.js';
import { grow } from './task-table.js';

/**
 * A 4-ary min-heap of (due, id) pairs, interleaved in one Float64Array
 * `[due0, id0, due1, id1, ...]`: the four children of a node are 64 contiguous bytes, so a sift
 * touches about half the cache lines of a binary heap. Ties on `due` go to the smaller id.
 */
export class QuaternaryHeap {
  #h: Float64Array;
  #size = 0;

  constructor(capacity = 8) {
    this.#h = new Float64Array(2 * Math.max(capacity, 1));
  }

  get size(): number {
    return this.#size;
  }

  /** Due of the top pair (undefined behaviour when empty: check {@link size}). */
  topDue(): number {
    return this.#h[0] as number;
  }

  /** Id of the top pair (undefined behaviour when empty: check {@link size}). */
  topId(): number {
    return this.#h[1] as number;
  }

  /** The pair at position `i` (0 ≤ i < size), in heap order: for listing, not for popping. */
  dueAt(i: number): number {
    return this.#h[2 * i] as number;
  }

  idAt(i: number): number {
    return this.#h[2 * i + 1] as number;
  }

  clear(): void {
    this.#size = 0;
  }

  push(due: number, id: number): void {
    // `>`, not `===`: 1.5× growth can leave an odd length.
    if (2 * this.#size + 2 > this.#h.length) this.#h = grow(this.#h, 2 * this.#size + 2);
    const h = this.#h;
    let i = this.#size++;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pd = h[2 * p] as number;
      const pe = h[2 * p + 1] as number;
      if (due > pd || (due === pd && id > pe)) break;
      h[2 * i] = pd;
      h[2 * i + 1] = pe;
      i = p;
    }
    h[2 * i] = due;
    h[2 * i + 1] = id;
  }

  /** Removes the top pair. */
  pop(): void {
    const n = --this.#size;
    if (n > 0) this.#siftDown(this.#h[2 * n] as number, this.#h[2 * n + 1] as number, n);
  }

  /** Replaces the top pair with (due, id): one sift-down instead of a pop and a push. */
  replaceTop(due: number, id: number): void {
    this.#siftDown(due, id, this.#size);
  }

  /** Puts (due, id) at the root of the first `n` nodes and moves it down to its place. */
  #siftDown(due: number, id: number, n: number): void {
    const h = this.#h;
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      // The smallest of up to four children (ties: the smaller id).
      let c = first;
      let cd = h[2 * first] as number;
      let ce = h[2 * first + 1] as number;
      const last = first + 3 < n ? first + 3 : n - 1;
      for (let k = first + 1; k <= last; k++) {
        const kd = h[2 * k] as number;
        if (kd < cd || (kd === cd && (h[2 * k + 1] as number) < ce)) {
          c = k;
          cd = kd;
          ce = h[2 * k + 1] as number;
        }
      }
      if (due < cd || (due === cd && id < ce)) break;
      h[2 * i] = cd;
      h[2 * i + 1] = ce;
      i = c;
    }
    h[2 * i] = due;
    h[2 * i + 1] = id;
  }
}

/** Options of {@link DueQueue}; the defaults suit the exact scheduler. */
export interface DueQueueOptions {
  /** Seconds per bucket; a power of two. Default 1. */
  bucketWidth?: number;
  /** Number of buckets; a power of two, at least 32. Default 4096 (the wheel spans 4096 s). */
  buckets?: number;
  /** Lists per bucket: 1, 4 or 8. Default 4 from a capacity of 65,536 ids, else 1. */
  lanes?: number;
}

/** Per id: `[due, anchor, next]`, one 24-byte record. */
const REC = 3;
const DUE = 0;
const ANCHOR = 1;
const NEXT = 2;

/**
 * The exact scheduler's queue of due times: a priority queue of small integer ids (task entries),
 * each in it at most once, popped in (due, id) order — exactly as a heap would, ties to the smaller
 * id — but built as a calendar queue, so that a run at a million tasks touches a few cache lines
 * instead of sifting through a 20-level heap spread over 16 MB.
 *
 * - The **front** is a small 4-ary heap holding every id whose bucket, `⌊(due − origin) / width⌋`, is
 *   the current one or earlier; the top of the queue is always its top.
 * - The **wheel** is a ring of buckets for the `buckets − 1` buckets after the current one. A bucket
 *   is a singly linked list through the ids' records (an O(1) insert), and a bitmap of the non-empty
 *   buckets makes finding the next one a scan of words, not of buckets.
 * - The **far** heap (4-ary) holds ids due beyond the wheel's span (spacings longer than about
 *   `width × buckets`) until their bucket becomes the current one.
 *
 * When the front empties, the current bucket moves to the earliest non-empty one (wheel or far) and
 * its ids move to the front. Every id outside the front is in a later bucket than every id in the
 * front, so the front's top is the queue's minimum.
 *
 * Each id's record also holds the anchor of its grid (`due = anchor + k·spacing`), set by the
 * scheduler, so that a run reads its due time, anchor and link from one record.
 *
 * Memory: 24 bytes per id, plus the buckets (4 bytes each per lane, 16 KiB by default) and the two
 * heaps (16 bytes per id they hold: the ids of one bucket, and those due beyond the wheel).
 */
export class DueQueue {
  readonly #mask: number;
  readonly #scale: number;
  readonly #origin: number;
  /** Per id: `[due, anchor, next]` (next: the next id in its wheel bucket, -1 at the end). */
  #rec: Float64Array;
  /** Ids that fit in `#rec`. */
  #capacity: number;
  /**
   * Per bucket slot and lane: first id, -1 when empty. A slot's ids are spread over `lanes` lists
   * (by id) so that moving a bucket to the front follows independent chains, several cache misses
   * at a time, instead of one chain of misses.
   */
  readonly #head: Int32Array;
  readonly #laneMask: number;
  /** One bit per bucket slot: 1 when non-empty. */
  readonly #bits: Uint32Array;
  /** The current bucket number: the front holds the ids of this bucket and of earlier ones. */
  #cur = 0;
  #inWheel = 0;
  readonly #front = new QuaternaryHeap(64);
  readonly #far = new QuaternaryHeap(8);
  #size = 0;

  /**
   * @param origin time of the start of bucket 0 (typically now)
   * @param capacity initial number of ids (the records grow as needed)
   */
  constructor(origin: number, capacity = 8, options: DueQueueOptions = {}) {
    const width = options.bucketWidth ?? 1;
    const buckets = options.buckets ?? 4096;
    if (!(width > 0) || Math.log2(width) % 1 !== 0) {
      throw new InvalidDueQueueOption('bucketWidth', 'a power of two', String(width));
    }
    if (!(buckets >= 32) || Math.log2(buckets) % 1 !== 0 || buckets > 2 ** 24) {
      throw new InvalidDueQueueOption('buckets', 'a power of two in [32, 2^24]', String(buckets));
    }
    this.#origin = origin;
    this.#scale = 1 / width;
    this.#mask = buckets - 1;
    const lanes = options.lanes ?? (capacity >= 65536 ? 4 : 1);
    if (lanes !== 1 && lanes !== 4 && lanes !== 8) {
      throw new InvalidDueQueueOption('lanes', '1, 4 or 8', String(lanes));
    }
    this.#laneMask = lanes - 1;
    this.#head = new Int32Array(buckets * lanes).fill(-1);
    this.#bits = new Uint32Array(buckets >>> 5);
    this.#capacity = Math.max(capacity, 8);
    this.#rec = new Float64Array(REC * this.#capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** The earliest due time, Infinity when empty. */
  peekDue(): number {
    if (this.#front.size === 0) {
      if (this.#size === 0) return Infinity;
      this.#advance();
    }
    return this.#front.topDue();
  }

  /** The id with the earliest due time, -1 when empty. */
  peekId(): number {
    if (this.#front.size === 0) {
      if (this.#size === 0) return -1;
      this.#advance();
    }
    return this.#front.topId();
  }

  /** Takes the top id out. */
  pop(): void {
    if (this.peekId() < 0) return;
    this.#front.pop();
    this.#size--;
  }

  /** Queues `id`, which must not be queued, at `due`. */
  push(id: number, due: number): void {
    if (id >= this.#capacity) this.#reserve(id + 1);
    this.#size++;
    const rec = this.#rec;
    rec[REC * id + DUE] = due;
    const b = Math.floor((due - this.#origin) * this.#scale);
    const ahead = b - this.#cur;
    if (ahead <= 0) {
      this.#front.push(due, id);
    } else if (ahead <= this.#mask) {
      // `&` wraps modulo 2^32, a multiple of the ring size: the slot is right for any integer b.
      const s = b & this.#mask;
      const h = s * (this.#laneMask + 1) + (id & this.#laneMask);
      rec[REC * id + NEXT] = this.#head[h] as number;
      this.#head[h] = id;
      this.#bits[s >>> 5] = (this.#bits[s >>> 5] as number) | (1 << (s & 31));
      this.#inWheel++;
    } else {
      this.#far.push(due, id);
    }
  }

  /** The anchor of `id`'s grid (0 until set; kept while the id is out of the queue). */
  anchor(id: number): number {
    return id < this.#capacity ? (this.#rec[REC * id + ANCHOR] as number) : 0;
  }

  setAnchor(id: number, anchor: number): void {
    if (id >= this.#capacity) this.#reserve(id + 1);
    this.#rec[REC * id + ANCHOR] = anchor;
  }

  /** Calls `fn(id, due)` for every queued id, in no particular order. */
  forEach(fn: (id: number, due: number) => void): void {
    const front = this.#front;
    for (let i = 0; i < front.size; i++) fn(front.idAt(i), front.dueAt(i));
    const rec = this.#rec;
    for (let h = 0; h < this.#head.length; h++) {
      for (let id = this.#head[h] as number; id >= 0; id = rec[REC * id + NEXT] as number) {
        fn(id, rec[REC * id + DUE] as number);
      }
    }
    const far = this.#far;
    for (let i = 0; i < far.size; i++) fn(far.idAt(i), far.dueAt(i));
  }

  #reserve(ids: number): void {
    const capacity = Math.max(ids, Math.ceil(this.#capacity * 1.5));
    const rec = new Float64Array(REC * capacity);
    rec.set(this.#rec);
    this.#rec = rec;
    this.#capacity = capacity;
  }

  /** Front empty, queue not: make the earliest non-empty bucket the current one, fill the front. */
  #advance(): void {
    let next = Infinity;
    if (this.#inWheel > 0) {
      next = this.#cur + 1 + this.#distanceToNonEmpty((this.#cur + 1) & this.#mask);
    }
    const far = this.#far;
    if (far.size > 0) {
      const b = Math.floor((far.topDue() - this.#origin) * this.#scale);
      if (b < next) next = b;
    }
    this.#cur = next;
    const front = this.#front;
    // The slot of bucket `next` holds only ids of that bucket: the wheel spans less than one turn,
    // and when `next` came from the far heap the wheel has nothing that early.
    const s = next & this.#mask;
    if (this.#inWheel > 0 && ((this.#bits[s >>> 5] as number) & (1 << (s & 31))) !== 0) {
      const rec = this.#rec;
      const head = this.#head;
      const lanes = this.#laneMask + 1;
      const h0 = s * lanes;
      let moved = 0;
      if (lanes === 1) {
        for (let id = head[h0] as number; id >= 0; id = rec[REC * id + NEXT] as number) {
          front.push(rec[REC * id + DUE] as number, id);
          moved++;
        }
      } else {
        // Four chains at a time: their loads are independent, so their cache misses overlap.
        for (let l = 0; l < lanes; l += 4) {
          let a = head[h0 + l] as number;
          let b = head[h0 + l + 1] as number;
          let c = head[h0 + l + 2] as number;
          let d = head[h0 + l + 3] as number;
          while (a >= 0 && b >= 0 && c >= 0 && d >= 0) {
            const na = rec[REC * a + NEXT] as number;
            const nb = rec[REC * b + NEXT] as number;
            const nc = rec[REC * c + NEXT] as number;
            const nd = rec[REC * d + NEXT] as number;
            front.push(rec[REC * a + DUE] as number, a);
            front.push(rec[REC * b + DUE] as number, b);
            front.push(rec[REC * c + DUE] as number, c);
            front.push(rec[REC * d + DUE] as number, d);
            moved += 4;
            a = na;
            b = nb;
            c = nc;
            d = nd;
          }
          // What is left of the four chains, one after another.
          for (let k = 0; k < 4; k++) {
            let id = k === 0 ? a : k === 1 ? b : k === 2 ? c : d;
            for (; id >= 0; id = rec[REC * id + NEXT] as number) {
              front.push(rec[REC * id + DUE] as number, id);
              moved++;
            }
          }
        }
      }
      head.fill(-1, h0, h0 + lanes);
      this.#bits[s >>> 5] = (this.#bits[s >>> 5] as number) & ~(1 << (s & 31));
      this.#inWheel -= moved;
    }
    while (far.size > 0 && Math.floor((far.topDue() - this.#origin) * this.#scale) <= next) {
      front.push(far.topDue(), far.topId());
      far.pop();
    }
  }

  /** Slots from `start` (circularly) to the first non-empty one; the wheel must not be empty. */
  #distanceToNonEmpty(start: number): number {
    const bits = this.#bits;
    const words = bits.length;
    let w = start >>> 5;
    let word = (bits[w] as number) & (-1 << (start & 31));
    for (let k = 0; k <= words; k++) {
      if (word !== 0) {
        const slot = (w << 5) + (31 - Math.clz32(word & -word));
        return (slot - start) & this.#mask;
      }
      w = (w + 1) & (words - 1);
      word = bits[w] as number;
    }
    throw new InternalError('DueQueue: the wheel count says non-empty but no bucket is');
  }
}
