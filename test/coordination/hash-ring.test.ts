import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/lib/random.js';
import { DEFAULT_REPLICAS, HashRing, murmur3 } from '../../src/coordination/hash-ring.js';
import { InvalidCoordinationOption, InvalidOptionError } from '../../src/core/index.js';

const THREE = ['conductor-a', 'conductor-b', 'conductor-c'];

/** `n` UUID v4 strings from a seeded PRNG: the same keys on every run. */
function uuids(n: number, seed: number): string[] {
  const rnd = mulberry32(seed);
  const hex = (digits: number): string => {
    let s = '';
    for (let i = 0; i < digits; i++) s += Math.floor(rnd() * 16).toString(16);
    return s;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const variant = (8 + Math.floor(rnd() * 4)).toString(16);
    out.push(`${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`);
  }
  return out;
}

const KEYS = uuids(100_000, 20240601);

/** Keys per member. */
function loads(ring: HashRing, keys: readonly string[]): Map<string, number> {
  const out = new Map<string, number>(ring.members.map((m) => [m, 0]));
  for (const k of keys) {
    const o = ring.owner(k) as string;
    out.set(o, (out.get(o) ?? 0) + 1);
  }
  return out;
}

/** MurmurHash3 x86_32 over bytes, written from the reference C, to check the string version. */
function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  const mix = (k: number): number =>
    Math.imul(((k = Math.imul(k, 0xcc9e2d51)), (k << 15) | (k >>> 17)), 0x1b873593);
  let h = seed | 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    h ^= mix(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let t = 0;
  for (let i = bytes.length - 1; i >= blocks; i--) t = (t << 8) | (bytes[i] as number);
  if (bytes.length > blocks) h ^= mix(t);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A random string of UTF-16 code units: ASCII, 2- and 3-byte, astral pairs and lone surrogates. */
function randomString(rnd: () => number): string {
  let s = '';
  const length = Math.floor(rnd() * 14);
  for (let i = 0; i < length; i++) {
    const r = rnd();
    if (r < 0.4) s += String.fromCharCode(Math.floor(rnd() * 0x80));
    else if (r < 0.55) s += String.fromCharCode(0x80 + Math.floor(rnd() * 0x780));
    else if (r < 0.75) s += String.fromCharCode(0x800 + Math.floor(rnd() * 0xf800));
    else if (r < 0.9) s += String.fromCodePoint(0x10000 + Math.floor(rnd() * 0xfffff));
    else s += String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800));
  }
  return s;
}

function expectInvalid(f: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidCoordinationOption);
  expect(caught).toBeInstanceOf(InvalidOptionError);
  expect((caught as InvalidCoordinationOption).code).toBe('CONDUCTOR_COORDINATION_INVALID_OPTION');
  expect((caught as Error).message).toMatch(message);
}

describe('murmur3', () => {
  it('matches the published MurmurHash3 x86_32 vectors', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello')).toBe(0x248bfa47);
    expect(murmur3('hello', 1)).toBe(0xbb4abcad);
    expect(murmur3('hello, world')).toBe(0x149bbb7f);
    expect(murmur3('19 Jan 2038 at 3:14:07 AM')).toBe(0xe31e8a70);
    expect(murmur3('The quick brown fox jumps over the lazy dog.')).toBe(0xd5c48bfc);
    expect(murmur3('Turn me into a hash', 1234)).toBe(4138100590);
    expect(murmur3('Life, the Universe, and Everything.', 42)).toBe(458076548);
  });

  it("hashes the string's UTF-8 bytes, as Buffer.from(key, 'utf8') encodes them", () => {
    const rnd = mulberry32(7);
    for (let i = 0; i < 20_000; i++) {
      const s = randomString(rnd);
      const seed = i % 3 === 0 ? Math.floor(rnd() * 2 ** 32) : 0;
      expect(murmur3(s, seed), JSON.stringify(s)).toBe(murmur3Bytes(Buffer.from(s, 'utf8'), seed));
    }
    // Every length around the 4-byte blocks, and multi-byte characters that straddle them.
    for (const unit of ['a', 'é', '中', '🌵', '\ud800']) {
      for (let n = 0; n < 12; n++) {
        const s = `${'x'.repeat(n % 5)}${unit.repeat(n)}`;
        expect(murmur3(s)).toBe(murmur3Bytes(Buffer.from(s, 'utf8')));
      }
    }
  });

  it('is pinned for unicode keys (a lone surrogate hashes as U+FFFD)', () => {
    expect(murmur3('täst-ü')).toBe(0x5d0457f9);
    expect(murmur3('🌵 cactus')).toBe(0x6ce4d498);
    expect(murmur3('中文键')).toBe(0x7e32ef92);
    expect(murmur3('a\ud800b')).toBe(murmur3('a\ufffdb'));
    expect(murmur3('a\udc00')).toBe(murmur3('a\ufffd'));
    expect(murmur3('\ud83c\udf35')).toBe(murmur3('🌵'));
  });

  it('is an unsigned 32-bit integer', () => {
    for (const k of KEYS.slice(0, 1000)) {
      const h = murmur3(k);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
    }
  });
});

describe('HashRing', () => {
  it('places keys as pinned: a change of the hash or placement fails here', () => {
    // These owners are what every replica of a running cluster computes. If this test fails, the
    // change moves keys between replicas: do not "fix" the table, revert the change.
    const ring = new HashRing(THREE);
    expect(ring.replicas).toBe(512);
    expect(DEFAULT_REPLICAS).toBe(512);
    const pinned: [string, string][] = [
      ['', 'conductor-b'],
      ['a', 'conductor-a'],
      ['vnf-1', 'conductor-a'],
      ['vnf-3', 'conductor-c'],
      ['vnf-11', 'conductor-c'],
      ['ns/42', 'conductor-b'],
      ['alarm-7', 'conductor-c'],
      ['0b8c5a5e-6a43-4e8e-9d7e-2f6f1c0d4b3a', 'conductor-b'],
      ['e4b3c2d1-0f1e-4d2c-9b3a-48576a6b7c8d', 'conductor-a'],
      ['中文键', 'conductor-a'],
    ];
    for (const [key, owner] of pinned) expect(ring.owner(key), key).toBe(owner);
    // The points of a member are murmur3(`${member}-${r}`); a key goes to the first point at or
    // after its hash, wrapping past 2³² − 1 to the lowest point.
    const one = new HashRing(['a', 'b'], { replicas: 1 });
    const pa = murmur3('a-0');
    const pb = murmur3('b-0');
    expect(pa).toBe(0xa2931584);
    expect(pb).toBe(0x42df9608);
    expect(murmur3('k1')).toBeGreaterThan(pa);
    expect(one.owner('k1')).toBe('b'); // wrapped
    const seen = new Set<string>();
    for (const k of KEYS.slice(0, 200)) {
      const h = murmur3(k);
      const owner = h > pb && h <= pa ? 'a' : 'b';
      expect(one.owner(k)).toBe(owner);
      seen.add(owner);
    }
    expect(seen.size).toBe(2);
  });

  it('is deterministic: members in any order, with duplicates, give the same owners', () => {
    const a = new HashRing(THREE);
    const b = new HashRing(['conductor-c', 'conductor-a', 'conductor-b', 'conductor-a']);
    const c = new HashRing(new Set([...THREE].reverse()));
    function* gen(): Generator<string> {
      yield 'conductor-b';
      yield 'conductor-c';
      yield 'conductor-a';
    }
    const d = new HashRing(gen());
    for (const ring of [b, c, d]) {
      expect(ring.members).toEqual(THREE);
      expect(ring.size).toBe(3);
    }
    for (const k of KEYS.slice(0, 20_000)) {
      const o = a.owner(k);
      expect(b.owner(k) === o && c.owner(k) === o && d.owner(k) === o).toBe(true);
    }
  });

  it('sorts its members by UTF-16 code units and freezes them', () => {
    const ring = new HashRing(['b', 'B', 'a', 'é', 'Z', '10', '9']);
    expect(ring.members).toEqual(['10', '9', 'B', 'Z', 'a', 'b', 'é']);
    expect(Object.isFrozen(ring.members)).toBe(true);
  });

  it('an empty ring owns nothing', () => {
    for (const ring of [new HashRing([]), new HashRing([], { self: 'x', replicas: 3 })]) {
      expect(ring.size).toBe(0);
      expect(ring.members).toEqual([]);
      expect(ring.owner('key')).toBeUndefined();
      expect(ring.owner('')).toBeUndefined();
      expect(ring.owns('key')).toBe(false);
      expect(ring.ownersOf('key', 3)).toEqual([]);
    }
  });

  it('a single member owns every key', () => {
    const ring = new HashRing(['only'], { self: 'only' });
    expect(ring.size).toBe(1);
    for (const k of KEYS.slice(0, 5000)) {
      expect(ring.owner(k)).toBe('only');
      expect(ring.owns(k)).toBe(true);
    }
    expect(ring.ownersOf('k', 5)).toEqual(['only']);
    expect(new HashRing(['only'], { replicas: 1 }).owner('anything')).toBe('only');
  });

  it('owns() answers for self: owner === self, false when self is unset or absent', () => {
    const mine = new HashRing(THREE, { self: 'conductor-b' });
    const unset = new HashRing(THREE);
    const absent = new HashRing(THREE, { self: 'conductor-z' });
    expect(mine.self).toBe('conductor-b');
    expect(unset.self).toBeUndefined();
    let owned = 0;
    let wrong = 0;
    for (const k of KEYS.slice(0, 30_000)) {
      if (mine.owns(k)) owned++;
      if (mine.owns(k) !== (mine.owner(k) === 'conductor-b')) wrong++;
      if (unset.owns(k) || absent.owns(k)) wrong++;
    }
    expect(wrong).toBe(0);
    expect(owned).toBeGreaterThan(8000);
    // Every key is owned by exactly one of the members' rings.
    const rings = THREE.map((self) => new HashRing(THREE, { self }));
    let notOne = 0;
    for (const k of KEYS) if (rings.filter((r) => r.owns(k)).length !== 1) notOne++;
    expect(notOne).toBe(0);
  });

  it('splits two members on the same point by the tie rule: the first in sort order', () => {
    // murmur3('node-5325-0') === murmur3('node-91713-0'): one point, and 'node-5325' sorts first.
    expect(murmur3('node-5325-0')).toBe(murmur3('node-91713-0'));
    for (const members of [
      ['node-5325', 'node-91713'],
      ['node-91713', 'node-5325'],
    ]) {
      const ring = new HashRing(members, { replicas: 1 });
      expect(ring.size).toBe(2);
      for (const k of KEYS.slice(0, 200)) expect(ring.owner(k)).toBe('node-5325');
      expect(ring.ownersOf('x', 2)).toEqual(['node-5325']);
      expect(ring.points).toBe(1);
      expect(ring.arrayBytes).toBe(4 + 4 + 4 * 3); // one point, one owner, two buckets + end
    }
  });

  it('validates its arguments with InvalidCoordinationOption', () => {
    for (const replicas of [0, -1, 4097, 1.5, NaN, Infinity, '3', null]) {
      expectInvalid(
        () => new HashRing(THREE, { replicas: replicas as number }),
        /^HashRing replicas must be an integer in 1\.\.4096, got /,
      );
    }
    expect(new HashRing(THREE, { replicas: 1 }).replicas).toBe(1);
    expect(new HashRing(THREE, { replicas: 4096 }).replicas).toBe(4096);
    expect(new HashRing(THREE, { replicas: undefined }).replicas).toBe(DEFAULT_REPLICAS);

    expectInvalid(
      () => new HashRing('abc' as never),
      /^HashRing members must be an iterable of member ids, got "abc"/,
    );
    for (const members of [null, undefined, 3, {}, () => []]) {
      expectInvalid(() => new HashRing(members as never), /members must be an iterable/);
    }
    for (const member of ['', 1, null, undefined, {}, ['a']]) {
      expectInvalid(
        () => new HashRing(['ok', member] as never),
        /^HashRing members must be non-empty strings, got /,
      );
    }
    expectInvalid(() => new HashRing(THREE, { self: '' }), /^HashRing self must be a non-empty/);
    expectInvalid(() => new HashRing(THREE, { self: 7 as never }), /self must be a non-empty/);
    expectInvalid(
      () => new HashRing(THREE, { replica: 3 } as never),
      /^Unknown HashRing option 'replica' \(known: replicas, self\)$/,
    );
    expectInvalid(() => new HashRing(THREE, null as never), /options must be an object, got null/);
    expectInvalid(() => new HashRing(THREE, 5 as never), /options must be an object, got 5/);
    const many = Array.from({ length: 513 }, (_, i) => `m${i}`);
    expectInvalid(
      () => new HashRing(many, { replicas: 4096 }),
      /^A HashRing holds at most 2097152 virtual nodes \(members × replicas\), got 513 × 4096$/,
    );

    const ring = new HashRing(THREE);
    for (const n of [-1, 1.5, NaN, '2']) {
      expectInvalid(() => ring.ownersOf('k', n as number), /ownersOf\(\) n must be an integer/);
    }
    for (const r of [ring, new HashRing([]), new HashRing([], { self: 'a' })]) {
      expectInvalid(() => r.owner(42 as never), /^A HashRing key must be a string, got 42$/);
      expectInvalid(() => r.owns(undefined as never), /key must be a string, got undefined/);
      expectInvalid(() => r.ownersOf(null as never, 1), /key must be a string, got null/);
    }
  });

  it(`balances 100k keys over 3 members within ±15 % of 1/3 at the default replicas`, () => {
    const ring = new HashRing(THREE);
    const load = loads(ring, KEYS);
    const shares = [...load.values()].map((n) => n / KEYS.length);
    const spread = shares.map((s) => s * 3 - 1);
    const ratio = Math.max(...shares) / Math.min(...shares);
    console.info(
      `hash-ring balance, 3 members × ${ring.replicas}, 100k keys: shares ` +
        `${shares.map((s) => s.toFixed(4)).join(' / ')} (vs 1/3: ` +
        `${spread.map((d) => `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)} %`).join(', ')}), ` +
        `max/min ${ratio.toFixed(3)}`,
    );
    for (const d of spread) expect(Math.abs(d)).toBeLessThanOrEqual(0.15);
    expect([...load.values()].reduce((a, b) => a + b, 0)).toBe(KEYS.length);
  });

  it('balances larger rings too: 10 members within ±25 % of 1/10', () => {
    const members = Array.from({ length: 10 }, (_, i) => `conductor-${i}`);
    const load = loads(new HashRing(members), KEYS);
    for (const n of load.values()) expect(Math.abs((n / KEYS.length) * 10 - 1)).toBeLessThan(0.25);
  });

  /** Keys whose owner differs, and how many moved between two members both in both rings. */
  function movement(
    before: HashRing,
    after: HashRing,
    keys: readonly string[],
  ): { moved: number; fromTo: Map<string, number>; between: number } {
    const stay = new Set(before.members.filter((m) => after.members.includes(m)));
    let moved = 0;
    let between = 0;
    const fromTo = new Map<string, number>();
    for (const k of keys) {
      const a = before.owner(k) as string;
      const b = after.owner(k) as string;
      if (a === b) continue;
      moved++;
      if (stay.has(a) && stay.has(b)) between++;
      fromTo.set(`${a}→${b}`, (fromTo.get(`${a}→${b}`) ?? 0) + 1);
    }
    return { moved, fromTo, between };
  }

  it('on a join (3 → 4) moves only keys to the new member, about 1/4 of them', () => {
    const three = new HashRing(THREE);
    const four = three.withMembers([...THREE, 'conductor-d']);
    const { moved, fromTo, between } = movement(three, four, KEYS);
    expect(between).toBe(0);
    for (const edge of fromTo.keys()) expect(edge).toMatch(/→conductor-d$/);
    // Every key of the new member came from another: its whole share moved.
    expect(moved).toBe(loads(four, KEYS).get('conductor-d'));
    const fraction = moved / KEYS.length;
    console.info(
      `hash-ring join 3 → 4: ${moved} of 100k keys moved ` +
        `(${(fraction * 100).toFixed(2)} %, ideal 25 %)`,
    );
    expect(fraction).toBeGreaterThanOrEqual(0.6 / 4);
    expect(fraction).toBeLessThanOrEqual(1.5 / 4);
  });

  it('on a leave (3 → 2) moves only the leaving member’s keys, about 1/3 of them', () => {
    const three = new HashRing(THREE);
    const two = three.withMembers(['conductor-a', 'conductor-c']);
    const { moved, fromTo, between } = movement(three, two, KEYS);
    expect(between).toBe(0);
    for (const edge of fromTo.keys()) expect(edge).toMatch(/^conductor-b→/);
    // All of the leaving member's keys moved, and nothing else.
    expect(moved).toBe(loads(three, KEYS).get('conductor-b'));
    const fraction = moved / KEYS.length;
    console.info(
      `hash-ring leave 3 → 2: ${moved} of 100k keys moved ` +
        `(${(fraction * 100).toFixed(2)} %, ideal 33.3 %)`,
    );
    expect(fraction).toBeGreaterThanOrEqual(0.6 / 3);
    expect(fraction).toBeLessThanOrEqual(1.5 / 3);
  });

  it('never moves a key between two unaffected members, over a run of joins and leaves', () => {
    const rnd = mulberry32(99);
    const keys = KEYS.slice(0, 20_000);
    let members = Array.from({ length: 8 }, (_, i) => `replica-${i}`);
    let ring = new HashRing(members);
    for (let step = 0; step < 12; step++) {
      const join = members.length < 4 || rnd() < 0.5;
      const changed = join
        ? `replica-${8 + step}`
        : (members[Math.floor(rnd() * members.length)] as string);
      members = join ? [...members, changed] : members.filter((m) => m !== changed);
      const next = ring.withMembers(members);
      const { moved, fromTo, between } = movement(ring, next, keys);
      expect(between).toBe(0);
      for (const edge of fromTo.keys()) {
        expect(edge.startsWith(`${changed}→`) || edge.endsWith(`→${changed}`)).toBe(true);
      }
      const n = Math.max(ring.size, next.size);
      expect(moved / keys.length).toBeGreaterThan(0.4 / n);
      expect(moved / keys.length).toBeLessThan(2 / n);
      ring = next;
    }
  });

  it('places unicode keys and members, deterministically', () => {
    const members = ['conducteur-é', '指挥-1', '🎼-2', 'plain'];
    const ring = new HashRing(members);
    const again = new HashRing([...members].reverse());
    const keys = ['ключ', '鍵', '🔑🔑', 'e\u0301', '\u00e9', 'a\ud800', 'a\ufffd', '', ' '];
    for (const k of keys) {
      expect(members).toContain(ring.owner(k));
      expect(again.owner(k)).toBe(ring.owner(k));
    }
    // A lone surrogate is U+FFFD in UTF-8, so both strings are one key on the ring.
    expect(ring.owner('a\ud800')).toBe(ring.owner('a\ufffd'));
    // Unicode keys spread like ASCII ones.
    const rnd = mulberry32(3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const o = ring.owner(`${randomString(rnd)}#${i}`) as string;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const m of members) expect((counts.get(m) ?? 0) / 20_000).toBeGreaterThan(0.15);
  });

  it('withMembers() builds a new ring with the same options and leaves the old one alone', () => {
    const ring = new HashRing(THREE, { replicas: 32, self: 'conductor-a' });
    const next = ring.withMembers(['conductor-a', 'conductor-d']);
    expect(next).not.toBe(ring);
    expect(next.replicas).toBe(32);
    expect(next.self).toBe('conductor-a');
    expect(next.members).toEqual(['conductor-a', 'conductor-d']);
    expect(ring.members).toEqual(THREE);
    const fresh = new HashRing(['conductor-d', 'conductor-a'], {
      replicas: 32,
      self: 'conductor-a',
    });
    for (const k of KEYS.slice(0, 5000)) {
      expect(next.owner(k)).toBe(fresh.owner(k));
      expect(next.owns(k)).toBe(fresh.owns(k));
    }
    expect(new HashRing(THREE).withMembers(['x']).self).toBeUndefined();
    expect(ring.withMembers([]).owner('k')).toBeUndefined();
    // Self leaving: owns nothing, though the ring still answers owner().
    const without = ring.withMembers(['conductor-b', 'conductor-c']);
    expect(KEYS.slice(0, 1000).some((k) => without.owns(k))).toBe(false);
    expect(without.owner('k')).toBeDefined();
  });

  it('ownersOf() lists distinct members in fail-over order, the owner first', () => {
    const members = Array.from({ length: 6 }, (_, i) => `m${i}`);
    const ring = new HashRing(members);
    const without = new Map(
      members.map((m) => [m, ring.withMembers(members.filter((x) => x !== m))]),
    );
    for (const k of KEYS.slice(0, 2000)) {
      const all = ring.ownersOf(k, 10);
      expect(all).toHaveLength(6);
      expect(new Set(all).size).toBe(6);
      expect(all[0]).toBe(ring.owner(k));
      expect(ring.ownersOf(k, 2)).toEqual(all.slice(0, 2));
      expect(ring.ownersOf(k, 0)).toEqual([]);
      // When the owner leaves, the key falls to the next one listed.
      expect(without.get(all[0] as string)?.owner(k)).toBe(all[1]);
    }
  });

  it('shares() gives each member its exact fraction of the hash space', () => {
    const ring = new HashRing(THREE);
    const shares = ring.shares();
    expect([...shares.keys()]).toEqual(THREE);
    expect([...shares.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // 100k keys sample the shares to within about ±0.5 % (absolute, 3.5 σ).
    for (const [m, n] of loads(ring, KEYS)) {
      expect(Math.abs(n / KEYS.length - (shares.get(m) as number))).toBeLessThan(0.005);
    }
    expect(new HashRing([]).shares()).toEqual(new Map());
    expect(new HashRing(['solo'], { replicas: 1 }).shares()).toEqual(new Map([['solo', 1]]));
    expect(new HashRing(['node-91713', 'node-5325'], { replicas: 1 }).shares()).toEqual(
      new Map([
        ['node-5325', 1],
        ['node-91713', 0],
      ]),
    );
    // A join's moved fraction is the new member's share; a leave's, the leaving member's.
    const four = ring.withMembers([...THREE, 'conductor-d']);
    const moved = KEYS.filter((k) => ring.owner(k) !== four.owner(k)).length / KEYS.length;
    expect(Math.abs(moved - (four.shares().get('conductor-d') as number))).toBeLessThan(0.005);
  });

  it('holds 12 bytes a point at most: 3 members at the default replicas in about 16 KiB', () => {
    const ring = new HashRing(THREE);
    // 1536 points × (4 + 4) + (1024 + 1) buckets × 4.
    expect(ring.points).toBe(1536);
    expect(ring.arrayBytes).toBe(1536 * 8 + 1025 * 4);
    expect(new HashRing([]).points).toBe(0);
    expect(new HashRing([]).arrayBytes).toBe(12);
    const big = new HashRing(
      Array.from({ length: 100 }, (_, i) => `m${i}`),
      { replicas: 1024 },
    );
    // 102,400 points: the bucket table stops at 2^16 entries.
    expect(big.arrayBytes).toBe(big.points * 8 + (2 ** 16 + 1) * 4);
    expect(big.points).toBeGreaterThan(102_390);
  });
});
