/**
 * Hash ring benchmark (`src/coordination/hash-ring.ts`):
 *
 *   node --expose-gc dist/bench/coordination/ring.js [--keys N] [--name-sets N]
 *
 * - Lookups: `owner()`, `owns()` and `murmur3()` alone over `--keys` (default 1M) UUID v4
 *   strings pre-generated from a seeded PRNG, on a 3-member ring at the default replicas; two
 *   warm-up passes, then the median of 5 timed passes.
 * - Build time (median of several builds) and memory of a ring of 3, 10 and 100 members. Memory is
 *   `heapUsed + arrayBuffers` after `gc()` around building many rings, divided by their number
 *   (the member strings are shared with the caller and not counted); `arrayBytes` is the ring's
 *   own count.
 * - Memory of an owner assignment of all the keys: an `Int8Array` of member indexes, an array of
 *   owner strings and a `Map<key, owner>` (the key strings exist already and are not counted).
 * - Keys moved on a join (3 → 4) and a leave (3 → 2), against the ideal 1/N, and how many moved
 *   between two members that did not change (0 by construction); the max/min load ratio.
 * - A replicas sweep: the exact shares (`HashRing.shares()`) over `--name-sets` random 3-member
 *   name sets, since one ring's balance depends on its member names as much as on the replicas.
 *
 * Needs `--expose-gc` for the memory figures (without it they are skipped). Markdown on stdout,
 * progress on stderr. `ringBench()` is exported for a runner that aggregates benchmarks.
 */
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_REPLICAS, HashRing, murmur3 } from '../../src/coordination/hash-ring.js';
import { mulberry32 } from '../lib/random.js';
import { bytes, fmt, markdownTable, median, percentile, shortCount } from '../lib/stats.js';

export interface RingBenchOptions {
  /** Keys looked up, assigned and moved. Default 1,000,000. */
  readonly keys?: number;
  /** Random 3-member name sets in the replicas sweep. Default 300. */
  readonly nameSets?: number;
  /** Seed of the keys and name sets. */
  readonly seed?: number;
  /** Progress lines; default none. */
  readonly log?: (line: string) => void;
}

export interface LookupRow {
  readonly operation: string;
  /** Median of the timed rounds. */
  readonly nsPerLookup: number;
  readonly lookupsPerSecond: number;
  readonly roundsNs: readonly number[];
}

export interface BuildRow {
  readonly members: number;
  readonly replicas: number;
  readonly points: number;
  readonly buildMs: number;
  /** The ring's typed arrays (`HashRing.arrayBytes`). */
  readonly arrayBytes: number;
  /** Measured heap + array buffers per ring; undefined without `global.gc`. */
  readonly measuredBytes: number | undefined;
}

export interface AssignmentRow {
  readonly representation: string;
  /** Undefined without `global.gc` (the Int8Array's is exact). */
  readonly bytes: number | undefined;
}

export interface MovementRow {
  readonly change: string;
  readonly moved: number;
  readonly fraction: number;
  readonly ideal: number;
  /** Keys that moved between two members present before and after: must be 0. */
  readonly betweenOthers: number;
}

export interface BalanceRow {
  readonly members: number;
  /** Measured over the keys. */
  readonly minShare: number;
  readonly maxShare: number;
  readonly maxMin: number;
  /** Largest |share · N − 1|. */
  readonly worstDeviation: number;
  /** Largest |share · N − 1| of the exact shares. */
  readonly exactWorstDeviation: number;
}

export interface SweepRow {
  readonly replicas: number;
  readonly maxMinMedian: number;
  readonly maxMinP95: number;
  readonly worstDevMedian: number;
  readonly worstDevP95: number;
  /** Fraction of name sets with a member more than 15 % off 1/3. */
  readonly over15: number;
  /** Moved fraction / ideal on a join (3 → 4): p5 and p95. */
  readonly joinP5: number;
  readonly joinP95: number;
  /** Moved fraction / ideal on a leave (3 → 2): p5 and p95. */
  readonly leaveP5: number;
  readonly leaveP95: number;
  readonly build3Ms: number;
  readonly build100Ms: number;
  readonly arrayBytes3: number;
  readonly arrayBytes100: number;
}

export interface RingBenchResult {
  readonly keys: number;
  readonly nameSets: number;
  readonly replicas: number;
  readonly gc: boolean;
  readonly lookups: readonly LookupRow[];
  readonly builds: readonly BuildRow[];
  readonly assignment: readonly AssignmentRow[];
  readonly movement: readonly MovementRow[];
  readonly balance: readonly BalanceRow[];
  readonly sweep: readonly SweepRow[];
}

const ROUNDS = 5;
const WARMUP = 2;
const SWEEP = [64, 128, 256, 512, 1024];

/** `n` UUID v4 strings from a seeded PRNG (the warm-up passes flatten them). */
function uuids(n: number, seed: number): string[] {
  const rnd = mulberry32(seed);
  const hex = (digits: number): string => {
    let s = '';
    for (let i = 0; i < digits; i++) s += ((rnd() * 16) | 0).toString(16);
    return s;
  };
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const variant = (8 + ((rnd() * 4) | 0)).toString(16);
    out[i] = `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
  }
  return out;
}

const names = (n: number, prefix = 'conductor'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** Wall time of `pass()` over all keys: WARMUP untimed passes, then ROUNDS timed ones. */
function timeLookups(operation: string, keys: readonly string[], pass: () => number): LookupRow {
  let sink = 0;
  for (let r = 0; r < WARMUP; r++) sink += pass();
  const roundsNs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    sink += pass();
    roundsNs.push(((performance.now() - t0) * 1e6) / keys.length);
  }
  if (sink === -1) console.error('unreachable'); // keeps the passes' results alive
  const ns = median(roundsNs);
  return { operation, nsPerLookup: ns, lookupsPerSecond: 1e9 / ns, roundsNs };
}

function gcNow(): boolean {
  const gc = globalThis.gc;
  if (!gc) return false;
  gc();
  gc();
  return true;
}

/** Heap + array buffers, after a full GC. */
function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Bytes retained by what `make()` returns, measured around it; undefined without `gc`. */
function retained<T>(make: () => T): [T, number | undefined] {
  if (!gcNow()) return [make(), undefined];
  const before = used();
  const value = make();
  gcNow();
  return [value, used() - before];
}

/** Median build time of a ring, in ms. */
function buildMs(members: readonly string[], replicas: number, builds: number): number {
  const ts: number[] = [];
  for (let i = 0; i < builds; i++) {
    const t0 = performance.now();
    new HashRing(members, { replicas });
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Each key's owner as an index into `ring.members` (at most 127 members). */
function assign(ring: HashRing, keys: readonly string[]): Int8Array {
  const index = new Map(ring.members.map((m, i) => [m, i]));
  const out = new Int8Array(keys.length);
  for (let i = 0; i < keys.length; i++)
    out[i] = index.get(ring.owner(keys[i] as string) as string) as number;
  return out;
}

function movement(
  change: string,
  before: HashRing,
  after: HashRing,
  a: Int8Array,
  b: Int8Array,
): MovementRow {
  const stays = before.members.map((m) => after.members.includes(m));
  const remap = before.members.map((m) => after.members.indexOf(m));
  let moved = 0;
  let betweenOthers = 0;
  for (let i = 0; i < a.length; i++) {
    const from = a[i] as number;
    const to = b[i] as number;
    if (remap[from] === to) continue;
    moved++;
    if (stays[from] && before.members.includes(after.members[to] as string)) betweenOthers++;
  }
  const n = Math.max(before.size, after.size);
  return { change, moved, fraction: moved / a.length, ideal: 1 / n, betweenOthers };
}

function balance(ring: HashRing, owners: Int8Array): BalanceRow {
  const n = ring.size;
  const counts = new Float64Array(n);
  for (let i = 0; i < owners.length; i++) {
    const o = owners[i] as number;
    counts[o] = (counts[o] as number) + 1;
  }
  const shares = Array.from(counts, (c) => c / owners.length);
  const exact = [...ring.shares().values()];
  return {
    members: n,
    minShare: Math.min(...shares),
    maxShare: Math.max(...shares),
    maxMin: Math.max(...shares) / Math.min(...shares),
    worstDeviation: Math.max(...shares.map((s) => Math.abs(s * n - 1))),
    exactWorstDeviation: Math.max(...exact.map((s) => Math.abs(s * n - 1))),
  };
}

function sweepRow(replicas: number, nameSets: number, seed: number): SweepRow {
  const rnd = mulberry32(seed ^ replicas);
  const id = (): string => `conductor-${((rnd() * 2 ** 32) >>> 0).toString(16).padStart(8, '0')}`;
  const maxMin: number[] = [];
  const worst: number[] = [];
  const join: number[] = [];
  const leave: number[] = [];
  for (let s = 0; s < nameSets; s++) {
    const members = [id(), id(), id()];
    const three = new HashRing(members, { replicas });
    const shares = [...three.shares().values()];
    maxMin.push(Math.max(...shares) / Math.min(...shares));
    worst.push(Math.max(...shares.map((x) => Math.abs(x * 3 - 1))));
    // The moved fraction is exactly the joining member's share, or the leaving member's.
    const joiner = id();
    join.push(
      (three
        .withMembers([...members, joiner])
        .shares()
        .get(joiner) as number) * 4,
    );
    leave.push((three.shares().get(members[0] as string) as number) * 3);
  }
  const hundred = names(100);
  return {
    replicas,
    maxMinMedian: median(maxMin),
    maxMinP95: percentile(maxMin, 95),
    worstDevMedian: median(worst),
    worstDevP95: percentile(worst, 95),
    over15: worst.filter((w) => w > 0.15).length / worst.length,
    joinP5: percentile(join, 5),
    joinP95: percentile(join, 95),
    leaveP5: percentile(leave, 5),
    leaveP95: percentile(leave, 95),
    build3Ms: buildMs(names(3), replicas, 21),
    build100Ms: buildMs(hundred, replicas, 5),
    arrayBytes3: new HashRing(names(3), { replicas }).arrayBytes,
    arrayBytes100: new HashRing(hundred, { replicas }).arrayBytes,
  };
}

export async function ringBench(options: RingBenchOptions = {}): Promise<RingBenchResult> {
  const n = options.keys ?? 1_000_000;
  const nameSets = options.nameSets ?? 300;
  const seed = options.seed ?? 20240601;
  const log = options.log ?? ((): void => {});
  if (!Number.isInteger(n) || n < 1000) throw new RangeError(`keys must be an integer >= 1000`);
  const gc = gcNow();

  log(`generating ${shortCount(n)} keys`);
  const keys = uuids(n, seed);
  const three = new HashRing(names(3), { self: 'conductor-0' });

  log('lookups');
  const lookups: LookupRow[] = [
    timeLookups('murmur3(key) alone', keys, () => {
      let x = 0;
      for (let i = 0; i < keys.length; i++) x ^= murmur3(keys[i] as string);
      return x;
    }),
    timeLookups('owner(key)', keys, () => {
      let x = 0;
      for (let i = 0; i < keys.length; i++)
        if (three.owner(keys[i] as string) === 'conductor-1') x++;
      return x;
    }),
    timeLookups('owns(key)', keys, () => {
      let x = 0;
      for (let i = 0; i < keys.length; i++) if (three.owns(keys[i] as string)) x++;
      return x;
    }),
  ];
  await Promise.resolve();

  log('builds and ring memory');
  const builds: BuildRow[] = [];
  for (const [members, copies, runs] of [
    [3, 200, 51],
    [10, 100, 21],
    [100, 10, 5],
  ] as const) {
    const list = names(members);
    const ms = buildMs(list, DEFAULT_REPLICAS, runs);
    const [rings, total] = retained(() => Array.from({ length: copies }, () => new HashRing(list)));
    const ring = rings[0] as HashRing;
    builds.push({
      members,
      replicas: ring.replicas,
      points: ring.points,
      buildMs: ms,
      arrayBytes: ring.arrayBytes,
      measuredBytes: total === undefined ? undefined : total / copies,
    });
  }

  log('assignment memory and movement');
  const [a3, int8Bytes] = retained(() => assign(three, keys));
  const [ownerArray, arrayBytes] = retained(() => {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = three.members[a3[i] as number] as string;
    return out;
  });
  const [ownerMap, mapBytes] = retained(() => {
    const out = new Map<string, string>();
    for (let i = 0; i < n; i++) out.set(keys[i] as string, ownerArray[i] as string);
    return out;
  });
  const assignment: AssignmentRow[] = [
    { representation: 'Int8Array of member indexes', bytes: int8Bytes ?? a3.byteLength },
    { representation: 'Array of owner string references', bytes: arrayBytes },
    { representation: 'Map<key, owner>', bytes: mapBytes },
  ];
  ownerArray.length = 0;
  ownerMap.clear();

  const four = three.withMembers(names(4));
  const two = three.withMembers(['conductor-0', 'conductor-2']);
  const a4 = assign(four, keys);
  const a2 = assign(two, keys);
  const moves = [
    movement('join 3 → 4 (conductor-3)', three, four, a3, a4),
    movement('leave 3 → 2 (conductor-1)', three, two, a3, a2),
  ];
  const ten = new HashRing(names(10));
  const hundred = new HashRing(names(100));
  const balances = [
    balance(three, a3),
    balance(four, a4),
    balance(ten, assign(ten, keys)),
    balance(hundred, assign(hundred, keys)),
  ];
  await Promise.resolve();

  log(`replicas sweep over ${nameSets} name sets`);
  const sweep = SWEEP.map((r) => sweepRow(r, nameSets, seed));

  return {
    keys: n,
    nameSets,
    replicas: DEFAULT_REPLICAS,
    gc,
    lookups,
    builds,
    assignment,
    movement: moves,
    balance: balances,
    sweep,
  };
}

const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)} %`;
const ratio = (x: number): string => x.toFixed(3);

/** The result as markdown. */
export function formatRingBench(r: RingBenchResult): string {
  const cpu = cpus()[0]?.model ?? 'CPU';
  const out: string[] = [];
  out.push(`## Hash ring (\`bench/coordination/ring.ts\`)`);
  out.push('');
  out.push(
    `Node ${process.version}, ${cpus().length} × ${cpu}. ${shortCount(r.keys)} UUID v4 keys ` +
      `(seeded), default replicas ${r.replicas}, murmur3 x86_32 over UTF-8.` +
      (r.gc ? '' : ' No `--expose-gc`: memory figures skipped.'),
  );
  out.push('');
  out.push(
    `### Lookups (3 members; ${WARMUP} warm-up passes, median of ${ROUNDS} passes over all keys)`,
  );
  out.push('');
  out.push(
    markdownTable(
      ['operation', ' ns/lookup', ' lookups/s', ' rounds (ns/lookup)'],
      r.lookups.map((l) => [
        l.operation,
        fmt(l.nsPerLookup, 1),
        fmt(l.lookupsPerSecond),
        l.roundsNs.map((x) => x.toFixed(0)).join(' '),
      ]),
    ),
  );
  out.push('');
  out.push('### Build and memory of a ring (default replicas)');
  out.push('');
  out.push(
    markdownTable(
      ['members', ' points', ' build (median)', ' arrayBytes', ' measured heap + buffers per ring'],
      r.builds.map((b) => [
        String(b.members),
        fmt(b.points),
        `${b.buildMs.toFixed(3)} ms`,
        bytes(b.arrayBytes),
        b.measuredBytes === undefined ? '—' : bytes(b.measuredBytes),
      ]),
    ),
  );
  out.push('');
  out.push(
    `### Owner assignment of ${shortCount(r.keys)} keys (measured; key strings not counted)`,
  );
  out.push('');
  out.push(
    markdownTable(
      ['representation', ' bytes', ' per key'],
      r.assignment.map((a) => [
        a.representation,
        a.bytes === undefined ? '—' : bytes(a.bytes),
        a.bytes === undefined ? '—' : `${(a.bytes / r.keys).toFixed(1)} B`,
      ]),
    ),
  );
  out.push('');
  out.push(`### Movement (${shortCount(r.keys)} keys)`);
  out.push('');
  out.push(
    markdownTable(
      ['change', ' moved', ' fraction', ' ideal 1/N', ' / ideal', ' between other members'],
      r.movement.map((m) => [
        m.change,
        fmt(m.moved),
        pct(m.fraction, 2),
        pct(m.ideal, 2),
        ratio(m.fraction / m.ideal),
        fmt(m.betweenOthers),
      ]),
    ),
  );
  out.push('');
  out.push(`### Balance (members conductor-0 …, ${shortCount(r.keys)} keys)`);
  out.push('');
  out.push(
    markdownTable(
      ['members', ' min share', ' max share', ' max/min', ' worst vs 1/N', ' worst, exact'],
      r.balance.map((b) => [
        String(b.members),
        pct(b.minShare, 2),
        pct(b.maxShare, 2),
        ratio(b.maxMin),
        pct(b.worstDeviation),
        pct(b.exactWorstDeviation),
      ]),
    ),
  );
  out.push('');
  out.push(
    `### Replicas sweep (exact shares over ${r.nameSets} random 3-member name sets; build and ` +
      'arrays for conductor-0 …)',
  );
  out.push('');
  out.push(
    markdownTable(
      [
        ' replicas',
        ' max/min p50',
        ' p95',
        ' worst vs 1/3 p50',
        ' p95',
        ' sets > 15 % off',
        ' join moved / ideal p5–p95',
        ' leave p5–p95',
        ' build 3',
        ' build 100',
        ' arrays 3',
        ' arrays 100',
      ],
      r.sweep.map((s) => [
        s.replicas === r.replicas ? `**${s.replicas}**` : String(s.replicas),
        ratio(s.maxMinMedian),
        ratio(s.maxMinP95),
        pct(s.worstDevMedian),
        pct(s.worstDevP95),
        pct(s.over15),
        `${s.joinP5.toFixed(2)}–${s.joinP95.toFixed(2)}`,
        `${s.leaveP5.toFixed(2)}–${s.leaveP95.toFixed(2)}`,
        `${s.build3Ms.toFixed(2)} ms`,
        `${s.build100Ms.toFixed(1)} ms`,
        bytes(s.arrayBytes3),
        bytes(s.arrayBytes100),
      ]),
    ),
  );
  out.push('');
  const owner = r.lookups.find((l) => l.operation === 'owner(key)');
  const join = r.movement[0];
  const leave = r.movement[1];
  const bal3 = r.balance[0];
  const rows: string[][] = [];
  if (owner) {
    rows.push([
      'owner() ≤ 1 µs (UUID, 3 members)',
      `${fmt(owner.nsPerLookup, 1)} ns`,
      owner.nsPerLookup <= 1000 ? 'met' : 'missed',
    ]);
  }
  for (const m of [join, leave]) {
    if (!m) continue;
    const ok = m.betweenOthers === 0 && m.fraction >= 0.6 * m.ideal && m.fraction <= 1.5 * m.ideal;
    rows.push([
      `${m.change.split(' (')[0] as string}: moved in [0.6, 1.5] × 1/N, none between others`,
      `${ratio(m.fraction / m.ideal)} × ideal, ${m.betweenOthers} between others`,
      ok ? 'met' : 'missed',
    ]);
  }
  if (bal3) {
    rows.push([
      '3 members within ±15 % of 1/3',
      `worst ${pct(bal3.worstDeviation)}`,
      bal3.worstDeviation <= 0.15 ? 'met' : 'missed',
    ]);
  }
  out.push(markdownTable(['target', ' measured', 'verdict'], rows));
  return out.join('\n');
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: '1000000' },
      'name-sets': { type: 'string', default: '300' },
    },
    strict: true,
  });
  const t0 = performance.now();
  const result = await ringBench({
    keys: Number(values.keys),
    nameSets: Number(values['name-sets']),
    log: (line) => process.stderr.write(`[ring] ${line}\n`),
  });
  process.stdout.write(`${formatRingBench(result)}\n`);
  process.stderr.write(`[ring] done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
