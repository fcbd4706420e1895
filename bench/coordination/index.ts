/**
 * Coordination benchmark (issue 13):
 *
 *   npm run bench:coordination -- [--quick] [--parts leases,rebalance,ring,duel]
 *       [--duration S] [--rounds N] [--rebalance-rounds N] [--slots N] [--spacing S] ...
 *
 * 1. Leases (`leases.ts`): acquire (a new lease), renew, claimSlot, release per backend (memory,
 *    Redis, PostgreSQL), sequential, `--duration` s per operation and round, median of `--rounds`.
 * 2. Rebalance (`rebalance.ts`): replicas in child processes on Redis and on PostgreSQL (heartbeat
 *    `--beat`, lease_ttl `--ttl`): a 4th joins, one leaves gracefully, one is SIGKILLed; the time
 *    until every replica has the same ring and has recomputed its share of `--keys` keys.
 * 3. Ring: `ringBench()` of `ring.ts` (lookups, memory at `--ring-keys` keys, keys moved).
 * 4. Duel (`duel.ts`): a once-per-cluster job every `--spacing` s over `--slots` slots, three
 *    workers in child processes, conductor-ts vs BullMQ on one Redis, the worker running a slot
 *    killed at the half: duplicates, missed slots, takeover, Redis commands per slot. By default on
 *    a private `redis-server` of this run (so the counters see nothing else), `--duel-redis shared`
 *    for `--redis-url`.
 *
 * Names (key prefixes, tables, queues) are unique per run and removed afterwards. Markdown on
 * stdout, progress on stderr.
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger, setRootLogger } from '../../src/core/index.js';
import { bytes, fmt, markdownTable, median, shortCount } from '../lib/stats.js';
import {
  deleteRedisKeys,
  dropPgNamespace,
  hasRedisServer,
  progress,
  startPrivateRedis,
} from './common.js';
import { type DuelReport, duelBench } from './duel.js';
import { type LeaseRow, leaseBench } from './leases.js';
import { type ChangeKind, type RebalanceSample, rebalanceBench } from './rebalance.js';
import { type RingBenchResult, ringBench } from './ring.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    parts: { type: 'string', default: 'leases,rebalance,ring,duel' },
    backends: { type: 'string', default: 'memory,redis,postgresql' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    'rebalance-rounds': { type: 'string' },
    keys: { type: 'string' },
    'ring-keys': { type: 'string' },
    'name-sets': { type: 'string' },
    ttl: { type: 'string', default: '1' },
    beat: { type: 'string', default: '0.25' },
    slots: { type: 'string' },
    spacing: { type: 'string', default: '0.1' },
    'work-ms': { type: 'string', default: '20' },
    'lock-ms': { type: 'string', default: '1000' },
    'stalled-ms': { type: 'string', default: '1000' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    'duel-redis': { type: 'string', default: 'private' },
  },
  strict: true,
});
const QUICK = args.quick;
const num = (v: string | undefined, full: number, quick: number): number =>
  v === undefined ? (QUICK ? quick : full) : Number(v);
const DURATION = num(args.duration, 0.5, 0.2);
const ROUNDS = num(args.rounds, 5, 3);
const REBALANCE_ROUNDS = num(args['rebalance-rounds'], 4, 1);
const KEYS = num(args.keys, 1_000_000, 200_000);
const RING_KEYS = num(args['ring-keys'], 1_000_000, 200_000);
const NAME_SETS = num(args['name-sets'], 300, 40);
const TTL = Number(args.ttl);
const BEAT = Number(args.beat);
const SLOTS = num(args.slots, 150, 40);
const SPACING = Number(args.spacing);
const WORK_MS = Number(args['work-ms']);
const LOCK_MS = Number(args['lock-ms']);
const STALLED_MS = Number(args['stalled-ms']);
const REDIS_URL = args['redis-url'];
const PG_URL = args['pg-url'];
const RUN = `cbench_${randomBytes(3).toString('hex')}`;
const NS = RUN;
const parts = new Set(args.parts.split(',').filter(Boolean));
const URLS: Record<string, string> = {
  memory: `memory://${RUN}`,
  redis: REDIS_URL,
  postgresql: PG_URL,
};
const backends = args.backends.split(',').filter((b) => b in URLS);

// Warnings only: the coordinator logs every lease acquired at info, which would be timed too.
setRootLogger(createLogger({ level: 'warn' }));

const s3 = (x: number): string => fmt(x, 3);
const hb = (seconds: number): string => fmt(seconds / BEAT, 2);
const lines: string[] = [];
const out = (...l: string[]): void => void lines.push(...l);
const verdicts: string[][] = [];

async function leasesPart(): Promise<void> {
  const urls = Object.fromEntries(backends.map((b) => [b, URLS[b] as string]));
  const rows: LeaseRow[] = await leaseBench({
    urls,
    namespace: NS,
    duration: DURATION,
    rounds: ROUNDS,
  });
  out(
    `### 1. Lease operations, sequential (${DURATION} s per operation and round, median of ${ROUNDS} rounds)`,
    '',
    markdownTable(
      ['backend', 'operation', ' µs/op', ' ops/s', ' p50 µs', ' p99 µs', ' calls'],
      rows.map((r) => [
        r.backend,
        r.op === 'acquire' ? 'acquire (new lease)' : r.op,
        fmt(r.usPerOp, 1),
        fmt(r.opsPerSecond),
        fmt(r.p50Us, 1),
        fmt(r.p99Us, 1),
        fmt(r.ops),
      ]),
    ),
    '',
  );
}

function medMax(values: readonly number[]): string {
  return `${s3(median(values))} / ${s3(Math.max(...values))}`;
}
function medMaxHb(values: readonly number[]): string {
  return `${hb(median(values))} / ${hb(Math.max(...values))}`;
}

async function rebalancePart(): Promise<void> {
  const all: { backend: string; samples: RebalanceSample[] }[] = [];
  for (const backend of backends.filter((b) => b !== 'memory')) {
    const samples = await rebalanceBench({
      backend,
      url: URLS[backend] as string,
      namespace: NS,
      ttl: TTL,
      beat: BEAT,
      keys: KEYS,
      rounds: REBALANCE_ROUNDS,
      run: RUN,
    });
    all.push({ backend, samples });
  }
  const rows: string[][] = [];
  let worstObserved = 0;
  let worstAgree = 0;
  let worstCpu = 0;
  let sharesOk = true;
  for (const { backend, samples } of all) {
    for (const kind of ['join', 'leave', 'crash'] as ChangeKind[]) {
      const ss = samples.filter((s) => s.kind === kind);
      if (ss.length === 0) continue;
      const change = ss.map((s) => s.doneFromChange);
      const observed = ss.map((s) => s.doneFromObserved);
      worstObserved = Math.max(worstObserved, ...observed);
      worstAgree = Math.max(worstAgree, ...ss.map((s) => s.agreeFromObserved));
      const cpuDone = ss.map((s) => s.cpuDoneFromObserved);
      worstCpu = Math.max(worstCpu, ...cpuDone);
      const share = ss.flatMap((s) => s.shareMs);
      const shareCpu = ss.flatMap((s) => s.shareCpuMs);
      const owned = ss.every((s) => s.ownedSum === KEYS);
      sharesOk &&= owned;
      rows.push([
        backend,
        kind === 'join' ? 'join (3 → 4)' : kind === 'leave' ? 'leave (4 → 3)' : 'crash (4 → 3)',
        String(ss.length),
        medMax(ss.map((s) => s.observedAfter)),
        medMax(ss.map((s) => s.agreeFromChange)),
        medMax(change),
        medMaxHb(change),
        medMax(ss.map((s) => s.agreeFromObserved)),
        medMax(observed),
        medMaxHb(observed),
        medMaxHb(cpuDone),
        `${fmt(median(share), 0)} / ${fmt(Math.max(...share), 0)}`,
        `${fmt(median(shareCpu), 0)} / ${fmt(Math.max(...shareCpu), 0)}`,
        owned ? 'yes' : 'NO',
      ]);
    }
  }
  out(
    `### 2. Membership change → rebalance (child processes; heartbeat ${BEAT} s, lease_ttl ${TTL} s, ${shortCount(KEYS)} keys, ${REBALANCE_ROUNDS} rounds)`,
    '',
    'Median / max. "Backend shows it": join = the joiner\'s first heartbeat acknowledged, leave = ' +
      "the leave acknowledged, crash = the victim's last acknowledged heartbeat + lease_ttl. " +
      '"Rebalanced" = every replica (survivor) has the new ring and has recomputed its share ' +
      `(\`ring.owns\` over all ${shortCount(KEYS)} keys). "… with the share's CPU time" counts each ` +
      "replica's recomputation by its process CPU time instead of wall time: what a replica with a " +
      `core of its own would take (here 4 replicas, this process and the backend share the cores). ` +
      `hb = heartbeats of ${BEAT} s.`,
    '',
    markdownTable(
      [
        'backend',
        'change',
        ' n',
        ' change → backend shows it, s',
        ' change → rings agree, s',
        ' change → rebalanced, s',
        ' (hb)',
        ' shown → rings agree, s',
        ' shown → rebalanced, s',
        ' (hb)',
        " … with the share's CPU time, hb",
        ' share of keys, ms',
        ' its CPU, ms',
        ' shares sum to all keys',
      ],
      rows,
    ),
    '',
  );
  verdicts.push([
    'all rings agree within 2 heartbeats of the change being observed (max over all samples)',
    `${s3(worstAgree)} s = ${hb(worstAgree)} hb`,
    worstAgree <= 2 * BEAT ? 'met' : 'missed',
  ]);
  verdicts.push([
    `… and every share of ${shortCount(KEYS)} keys recomputed, wall time (max over all samples)`,
    `${s3(worstObserved)} s = ${hb(worstObserved)} hb`,
    worstObserved <= 2 * BEAT ? 'met' : 'missed',
  ]);
  verdicts.push([
    `… counting each share's CPU time instead of its wall time (one core per replica)`,
    `${s3(worstCpu)} s = ${hb(worstCpu)} hb`,
    worstCpu <= 2 * BEAT ? 'met' : 'missed',
  ]);
  verdicts.push([
    'every key owned by exactly one replica after each change',
    sharesOk ? 'shares sum to all keys' : 'shares do not sum to all keys',
    sharesOk ? 'met' : 'missed',
  ]);
}

async function ringPart(): Promise<void> {
  const r: RingBenchResult = await ringBench({
    keys: RING_KEYS,
    nameSets: NAME_SETS,
    log: (line) => progress(`ring: ${line}`),
  });
  out(
    `### 3. Hash ring (\`ringBench()\`: ${shortCount(r.keys)} UUID keys, replicas ${r.replicas}, 3 members)`,
    '',
    markdownTable(
      ['operation', ' ns/lookup', ' lookups/s'],
      r.lookups.map((l) => [l.operation, fmt(l.nsPerLookup, 1), fmt(l.lookupsPerSecond)]),
    ),
    '',
    markdownTable(
      ['memory', ' bytes'],
      [
        ...r.builds.map((b) => [
          `ring of ${b.members} members (${fmt(b.points)} points), arrays / measured`,
          `${bytes(b.arrayBytes)} / ${b.measuredBytes === undefined ? '—' : bytes(b.measuredBytes)}`,
        ]),
        ...r.assignment.map((a) => [
          `${shortCount(r.keys)} keys' owners as ${a.representation}`,
          a.bytes === undefined ? '—' : bytes(a.bytes),
        ]),
      ],
    ),
    '',
    markdownTable(
      ['change', ' keys moved', ' fraction', ' ideal 1/N', ' / ideal', ' between other members'],
      r.movement.map((m) => [
        m.change,
        fmt(m.moved),
        `${(m.fraction * 100).toFixed(2)} %`,
        `${(m.ideal * 100).toFixed(2)} %`,
        (m.fraction / m.ideal).toFixed(3),
        fmt(m.betweenOthers),
      ]),
    ),
    '',
  );
  const worst = Math.max(
    ...r.lookups.filter((l) => l.operation !== 'murmur3(key) alone').map((l) => l.nsPerLookup),
  );
  verdicts.push([
    'ring lookup ≤ 1 µs (owner / owns, UUID keys)',
    `${fmt(worst, 1)} ns`,
    worst <= 1000 ? 'met' : 'missed',
  ]);
}

async function duelPart(): Promise<void> {
  const usePrivate = args['duel-redis'] === 'private' && hasRedisServer();
  const server = usePrivate ? await startPrivateRedis() : undefined;
  const url = server?.url ?? REDIS_URL;
  let report: DuelReport;
  try {
    report = await duelBench({
      redisUrl: url,
      run: RUN,
      namespace: `${NS}_duel`,
      slots: SLOTS,
      spacing: SPACING,
      workMs: WORK_MS,
      ttl: TTL,
      beat: BEAT,
      lockMs: LOCK_MS,
      stalledMs: STALLED_MS,
      workers: 3,
    });
  } finally {
    await server?.stop();
  }
  const rs = report.results;
  out(
    `### 4. Once-per-cluster job every ${SPACING} s, 3 workers (child processes), worker running a slot SIGKILLed at the half`,
    '',
    `${SLOTS} slots per system, ${WORK_MS} ms of work per run; Redis: ${usePrivate ? 'a private `redis-server` of this run (both systems, one after the other)' : REDIS_URL}, ` +
      `${fmt(report.idleCommandsPerSecond)} commands/s before the duel. Redis commands count those run inside Lua scripts.`,
    '',
    markdownTable(
      [
        'system',
        'settings',
        ' slots',
        ' ran',
        ' duplicates',
        ' missed',
        ' started, never finished',
        ' takeover s',
        ' max gap s',
        ' killed slot re-run after s',
        ' start delay p50 / p99 ms',
        ' Redis commands / slot',
        ' scripts / slot',
        ' Redis CPU µs / slot',
      ],
      rs.map((r) => [
        r.system,
        r.settings,
        String(r.slots),
        String(r.ran),
        String(r.duplicates),
        String(r.missed),
        String(r.incomplete),
        s3(r.takeover),
        s3(r.maxGap),
        r.rerunAfter === undefined ? 'not re-run' : s3(r.rerunAfter),
        `${fmt(r.delayP50, 1)} / ${fmt(r.delayP99, 1)}`,
        fmt(r.commandsPerSlot, 1),
        fmt(r.scriptsPerSlot, 1),
        fmt(r.redisCpuUsPerSlot, 0),
      ]),
    ),
    '',
    ...rs.map(
      (r) =>
        `- ${r.system}, missed slots numbered from the killed one (in brackets: how late the slot before started, ms): ${
          r.missedAfterKill.length > 0
            ? r.missedAfterKill
                .map(
                  (x, i) =>
                    `${x > 0 ? `+${x}` : String(x)} (${fmt(r.missedPreviousDelay[i] as number, 0)})`,
                )
                .join(', ')
            : 'none'
        }`,
    ),
    ...rs.map(
      (r) =>
        `- ${r.system}, commands per slot: ${r.topCommands.map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')}`,
    ),
    '',
  );
  const c = rs.find((r) => r.system === 'conductor-ts');
  if (c) {
    verdicts.push([
      'conductor-ts: 0 duplicate slots across a crash',
      `${c.duplicates} duplicates, ${c.missed} missed`,
      c.duplicates === 0 ? 'met' : 'missed',
    ]);
  }
}

const started = performance.now();
const cpu = cpus();
out(
  `## bench:coordination — ${new Date().toISOString()}`,
  '',
  `node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${bytes(totalmem())}; ` +
    `\`npm run bench:coordination -- ${process.argv.slice(2).join(' ')}\``,
  '',
);
let failed = false;
try {
  for (const [name, part] of [
    ['leases', leasesPart],
    ['rebalance', rebalancePart],
    ['ring', ringPart],
    ['duel', duelPart],
  ] as const) {
    if (!parts.has(name)) continue;
    try {
      await part();
    } catch (err) {
      failed = true;
      progress(
        `${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      out(`### ${name}: FAILED`, '', '```', String(err), '```', '');
    }
  }
} finally {
  progress('cleaning up');
  if (backends.includes('redis'))
    await deleteRedisKeys(REDIS_URL, `${NS}:`).catch((e) => progress(`redis cleanup: ${e}`));
  if (backends.includes('postgresql'))
    await dropPgNamespace(PG_URL, NS).catch((e) => progress(`pg cleanup: ${e}`));
}
if (verdicts.length > 0) {
  out('### Verdict', '', markdownTable(['target', ' measured', 'verdict'], verdicts), '');
}
out(`Total ${fmt((performance.now() - started) / 1000, 0)} s.`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(failed ? 1 : 0);
