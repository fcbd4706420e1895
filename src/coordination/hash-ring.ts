import { InvalidCoordinationOption } from '../core/index.js';

/**
 * MurmurHash3 x86_32 (Austin Appleby's `MurmurHash3_x86_32`) of the UTF-8 bytes of `key`, as an
 * unsigned 32-bit integer. The UTF-8 encoding is done on the fly, without allocating: a
 * surrogate pair is one 4-byte code point and a lone surrogate is U+FFFD, as
 * `Buffer.from(key, 'utf8')` and `TextEncoder` encode it. So the value equals Python's
 * `mmh3.hash(key.encode(), seed, signed=False)` and Guava's
 * `murmur3_32_fixed(seed).hashString(key, UTF_8)`: another language can place keys on the same
 * ring.
 *
 * Deterministic across processes, machines and Node versions (no random seed): every replica of a
 * cluster must compute the same owners.
 */
export function murmur3(key: string, seed = 0): number {
  let h = seed | 0;
  /** Bytes not yet mixed, little-endian, `bits` of them. */
  let k = 0;
  let bits = 0;
  let length = 0;
  const n = key.length;
  let i = 0;
  for (; i < n; i++) {
    // Fast path: four ASCII characters make one whole block.
    while (bits === 0 && i + 3 < n) {
      const c0 = key.charCodeAt(i);
      const c1 = key.charCodeAt(i + 1);
      const c2 = key.charCodeAt(i + 2);
      const c3 = key.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) >= 0x80) break;
      let k1 = Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), 0xcc9e2d51);
      k1 = (k1 << 15) | (k1 >>> 17);
      h ^= Math.imul(k1, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      length += 4;
      i += 4;
    }
    if (i >= n) break;
    let c = key.charCodeAt(i);
    // The code point's UTF-8 bytes, packed little-endian into `c`, and how many there are.
    let count = 1;
    if (c >= 0x80) {
      if (c < 0x800) {
        c = 0xc0 | (c >>> 6) | ((0x80 | (c & 0x3f)) << 8);
        count = 2;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const low = i + 1 < n ? key.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          c =
            0xf0 |
            (cp >>> 18) |
            ((0x80 | ((cp >>> 12) & 0x3f)) << 8) |
            ((0x80 | ((cp >>> 6) & 0x3f)) << 16) |
            ((0x80 | (cp & 0x3f)) << 24);
          count = 4;
          i++;
        } else {
          c = 0xbdbfef; // U+FFFD
          count = 3;
        }
      } else {
        c = 0xe0 | (c >>> 12) | ((0x80 | ((c >>> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        count = 3;
      }
    }
    length += count;
    for (; count > 0; count--) {
      k |= (c & 0xff) << bits;
      c >>>= 8;
      bits += 8;
      if (bits === 32) {
        k = Math.imul(k, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        h ^= Math.imul(k, 0x1b873593);
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
        k = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Options of a {@link HashRing}. */
export interface HashRingOptions {
  /**
   * Virtual nodes (points on the ring) per member, an integer in 1–4096. More points balance the
   * keys better (the spread of a member's share is about 1/√replicas) and cost memory (up to 12
   * bytes a point) and build time. Default {@link DEFAULT_REPLICAS}. Every replica of a cluster
   * must use the same value: it changes the owners.
   */
  readonly replicas?: number;
  /** The member {@link HashRing.owns} answers for (this replica's member id). */
  readonly self?: string;
}

/**
 * Virtual nodes per member by default. A member's share spreads about 1/√replicas around 1/N.
 * Measured over 2,000 random 3-member rings (exact arc lengths), the worst member's deviation from
 * 1/3, median / p95, and how many rings have a member more than 15 % off:
 *
 *   replicas   64: 12 % / 24 %, 31 %     128: 8.5 % / 17 %, 9.4 %
 *             256: 5.8 % / 12 %, 1.1 %   512: 4.1 % / 8.6 %, 0.1 %
 *
 * At 512 the max/min load ratio is 1.07 (median; p95 1.16) and a join's or leave's moved fraction
 * is within 0.94–1.07 of the ideal 1/N (p5–p95). Lookups cost the same at any size (the bucket
 * table); what grows is memory, up to 12 bytes a point (16 KiB for 3 members, 530 KiB for 100),
 * and build time (0.3 ms for 3 members, ~12 ms for 100).
 */
export const DEFAULT_REPLICAS = 512;
const MAX_REPLICAS = 4096;
/**
 * Virtual nodes a ring may hold in all (members × replicas): about 16 MiB of arrays. While
 * building, a point and its member's index are packed in one double (`point · 2²¹ + index`), exact
 * below 2⁵³.
 */
const MAX_POINTS = 2 ** 21;
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['replicas', 'self']);

/**
 * A consistent hash ring with virtual nodes, in the manner of Ironic's conductor hash ring and
 * tooz's `HashRing`: each member is placed at `replicas` points of the 32-bit circle, and a key
 * belongs to the member of the first point at or after the key's hash (clockwise, wrapping at 2³²).
 * When a member joins or leaves a ring of N, only about 1/N of the keys move, and only to the
 * joining or from the leaving member, never between two others.
 *
 * THE PLACEMENT IS A WIRE FORMAT. A key's hash is {@link murmur3}(key) (seed 0, UTF-8 bytes); the
 * points of member `m` are `murmur3(m + '-' + r)` for r = 0 … replicas − 1 (r in decimal); the
 * members are sorted by UTF-16 code units, and two members on one point leave it to the first.
 * Changing any of this (the hash, its seed, the point names, the tie rule, the default replicas)
 * moves keys between the replicas of a running cluster: during a rolling upgrade two of them would
 * own the same key. The pinned owners in `test/coordination/hash-ring.test.ts` fail on purpose
 * when it happens.
 *
 * Immutable: {@link withMembers} builds a new ring. A lookup hashes the key and binary-searches a
 * sorted `Uint32Array` of points (with a parallel `Int32Array` of member indexes), within the
 * bucket of a lookup table over the hash's top bits: about 0.1 µs for a UUID, whatever the size.
 */
export class HashRing {
  /** The members, deduplicated and sorted. */
  readonly members: readonly string[];
  /** Virtual nodes per member. */
  readonly replicas: number;
  /** The member {@link owns} answers for, if any. */
  readonly self: string | undefined;
  /** The points, sorted ascending, distinct. */
  readonly #points: Uint32Array;
  /** Per point, the index in {@link members} of its member. */
  readonly #owners: Int32Array;
  /**
   * A lookup table over the top bits of a hash: bucket b holds the hashes with
   * `h >>> #shift === b`, and `#buckets[b]` is the index of the first point at or after the
   * bucket's start (the last entry is the number of points). A lookup binary-searches only its bucket: one or two points on
   * average, up to 32 on the largest rings (2¹⁶ buckets).
   */
  readonly #buckets: Uint32Array;
  readonly #shift: number;
  /** The index of {@link self} in {@link members}, or −1. */
  readonly #selfIndex: number;

  constructor(members: Iterable<string>, options: HashRingOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidCoordinationOption(
        `HashRing options must be an object, got ${describe(options)}`,
      );
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new InvalidCoordinationOption(
          `Unknown HashRing option '${key}' (known: replicas, self)`,
        );
      }
    }
    const replicas = options.replicas === undefined ? DEFAULT_REPLICAS : options.replicas;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
      throw new InvalidCoordinationOption(
        `HashRing replicas must be an integer in 1..${MAX_REPLICAS}, got ${describe(replicas)}`,
      );
    }
    const self = options.self;
    if (self !== undefined && (typeof self !== 'string' || self === '')) {
      throw new InvalidCoordinationOption(
        `HashRing self must be a non-empty string, got ${describe(self)}`,
      );
    }
    const sorted = memberList(members);
    if (sorted.length * replicas > MAX_POINTS) {
      throw new InvalidCoordinationOption(
        `A HashRing holds at most ${MAX_POINTS} virtual nodes (members × replicas), got ` +
          `${sorted.length} × ${replicas}`,
      );
    }
    this.members = Object.freeze(sorted);
    this.replicas = replicas;
    this.self = self;
    this.#selfIndex = self === undefined ? -1 : sorted.indexOf(self);
    [this.#points, this.#owners] = buildPoints(sorted, replicas);
    [this.#buckets, this.#shift] = buildBuckets(this.#points);
  }

  /** The number of members. */
  get size(): number {
    return this.members.length;
  }

  /** The member `key` belongs to, or undefined when the ring is empty. */
  owner(key: string): string | undefined {
    if (this.#points.length === 0) {
      checkKey(key);
      return undefined;
    }
    return this.members[this.#owners[this.#find(key)] as number];
  }

  /** True when `key` belongs to {@link self}; false when `self` is unset or not a member. */
  owns(key: string): boolean {
    if (this.#selfIndex < 0) {
      checkKey(key);
      return false;
    }
    return this.#owners[this.#find(key)] === this.#selfIndex;
  }

  /**
   * Up to `n` distinct members for `key`, in ring order from its owner: the owner first, then the
   * member the key falls to if the owner leaves, then the one after if that one leaves too, and so
   * on (where to keep copies of the key, the fail-over order). Fewer than `n` when the ring has
   * fewer members; empty on an empty ring. Walks the points from the key's: cheap for small `n`.
   */
  ownersOf(key: string, n: number): string[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidCoordinationOption(
        `HashRing.ownersOf() n must be an integer >= 0, got ${describe(n)}`,
      );
    }
    const points = this.#points.length;
    const want = Math.min(n, this.members.length);
    if (points === 0 || want === 0) {
      checkKey(key);
      return [];
    }
    const out: string[] = [];
    const seen = new Uint8Array(this.members.length);
    for (let i = this.#find(key), step = 0; out.length < want && step < points; step++) {
      const m = this.#owners[i] as number;
      if (seen[m] === 0) {
        seen[m] = 1;
        out.push(this.members[m] as string);
      }
      if (++i === points) i = 0;
    }
    return out;
  }

  /**
   * The fraction of the 32-bit hash space each member owns — the share of uniformly hashed keys it
   * gets — in member order; the fractions sum to 1 (empty on an empty ring). Exact, from the arcs.
   */
  shares(): Map<string, number> {
    const sums = new Float64Array(this.members.length);
    const p = this.#points;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      // Point i owns the hashes in (previous point, point i], wrapping past 2³² − 1 for i = 0.
      const previous = i === 0 ? (p[n - 1] as number) - 2 ** 32 : (p[i - 1] as number);
      const m = this.#owners[i] as number;
      sums[m] = (sums[m] as number) + (p[i] as number) - previous;
    }
    return new Map(this.members.map((m, i) => [m, (sums[i] as number) / 2 ** 32]));
  }

  /** A new ring of `members` with the same replicas and self. */
  withMembers(members: Iterable<string>): HashRing {
    return new HashRing(members, {
      replicas: this.replicas,
      ...(this.self !== undefined ? { self: this.self } : {}),
    });
  }

  /** Distinct points on the ring: members × replicas, less any two members landing on one point. */
  get points(): number {
    return this.#points.length;
  }

  /** Bytes of the ring's typed arrays (points, owners, lookup table); not the member strings. */
  get arrayBytes(): number {
    return this.#points.byteLength + this.#owners.byteLength + this.#buckets.byteLength;
  }

  /** The index of the first point at or after `key`'s hash, wrapping to 0 (a non-empty ring). */
  #find(key: string): number {
    checkKey(key);
    const h = murmur3(key);
    const p = this.#points;
    const b = h >>> this.#shift;
    let lo = this.#buckets[b] as number;
    let hi = this.#buckets[b + 1] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((p[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === p.length ? 0 : lo;
  }
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string') {
    throw new InvalidCoordinationOption(`A HashRing key must be a string, got ${describe(key)}`);
  }
}

/** The members as a sorted, deduplicated array, each checked. */
function memberList(members: Iterable<string>): string[] {
  if (
    typeof members === 'string' ||
    members === null ||
    typeof members !== 'object' ||
    typeof (members as Partial<Iterable<string>>)[Symbol.iterator] !== 'function'
  ) {
    throw new InvalidCoordinationOption(
      `HashRing members must be an iterable of member ids, got ${describe(members)}`,
    );
  }
  const set = new Set<string>();
  for (const m of members as Iterable<unknown>) {
    if (typeof m !== 'string' || m === '') {
      throw new InvalidCoordinationOption(
        `HashRing members must be non-empty strings, got ${describe(m)}`,
      );
    }
    set.add(m);
  }
  // Default sort: by UTF-16 code units, the same in every process (no locale).
  return [...set].sort();
}

/** The sorted, distinct points of `members` and, in parallel, the index of each one's member. */
function buildPoints(members: readonly string[], replicas: number): [Uint32Array, Int32Array] {
  const total = members.length * replicas;
  // point · 2²¹ + member index: one numeric sort orders by point, then by member (the tie rule).
  const packed = new Float64Array(total);
  let j = 0;
  for (let i = 0; i < members.length; i++) {
    const prefix = `${members[i] as string}-`;
    for (let r = 0; r < replicas; r++) packed[j++] = murmur3(prefix + r) * MAX_POINTS + i;
  }
  packed.sort();
  const points = new Uint32Array(total);
  const owners = new Int32Array(total);
  let n = 0;
  for (let i = 0; i < total; i++) {
    const v = packed[i] as number;
    const point = Math.floor(v / MAX_POINTS);
    // On a tie the point stays with the first (smallest) member.
    if (n > 0 && points[n - 1] === point) continue;
    points[n] = point;
    owners[n] = v - point * MAX_POINTS;
    n++;
  }
  return n === total ? [points, owners] : [points.slice(0, n), owners.slice(0, n)];
}

/** Bits of the bucket table at most: 2¹⁶ + 1 entries, 256 KiB. */
const MAX_BUCKET_BITS = 16;

/** The lookup table of {@link HashRing}'s `#buckets` over sorted `points`, and its shift. */
function buildBuckets(points: Uint32Array): [Uint32Array, number] {
  // 2^bits buckets, bits in 1..16 and 2^bits <= points (one point a bucket on average, or more).
  const bits = Math.min(MAX_BUCKET_BITS, Math.max(1, Math.floor(Math.log2(points.length || 1))));
  const shift = 32 - bits;
  const count = 2 ** bits;
  const buckets = new Uint32Array(count + 1);
  let j = 0;
  for (let b = 0; b < count; b++) {
    const start = b * 2 ** shift;
    while (j < points.length && (points[j] as number) < start) j++;
    buckets[b] = j;
  }
  buckets[count] = points.length;
  return [buckets, shift];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}
