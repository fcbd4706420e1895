/**
 * Part 2: membership change → rebalance, with replicas in child processes (`replica.ts`) on one
 * backend. Three replicas run; then, per round: a 4th joins (3 → 4), the oldest stops gracefully
 * (4 → 3), another joins, and a random one is SIGKILLed (4 → 3, its membership expires after
 * lease_ttl). For each change: the time until every replica (survivor) has the same ring — the
 * expected members — and until each has also recomputed its share of the keys, measured from the
 * change and from when the backend shows it (join: the joiner's first heartbeat landed; leave: the
 * leave landed; crash: the victim's last heartbeat + lease_ttl).
 */
import { median } from '../lib/stats.js';
import { mulberry32 } from '../lib/random.js';
import { Child, type ChildMessage, progress, sleep, wallMs } from './common.js';

export interface RebalanceOptions {
  readonly backend: string;
  readonly url: string;
  readonly namespace: string;
  readonly ttl: number;
  readonly beat: number;
  readonly keys: number;
  readonly rounds: number;
  readonly run: string;
}

export type ChangeKind = 'join' | 'leave' | 'crash';

/** One membership change, times in seconds. */
export interface RebalanceSample {
  readonly kind: ChangeKind;
  /** Change → all rings agree. */
  readonly agreeFromChange: number;
  /** Change → all rings agree and every share recomputed. */
  readonly doneFromChange: number;
  /** Backend shows the change → all rings agree. */
  readonly agreeFromObserved: number;
  readonly doneFromObserved: number;
  /**
   * Backend shows the change → the last replica has its ring plus its share's CPU time: the wall
   * time a replica with a core of its own would take (here 4 replicas share 2 cores).
   */
  readonly cpuDoneFromObserved: number;
  /** Change → backend shows it (0 for join and leave, about lease_ttl for a crash). */
  readonly observedAfter: number;
  /** Milliseconds of each replica's `ring.owns` over all keys. */
  readonly shareMs: readonly number[];
  /** CPU milliseconds of the same (the process's user + system time). */
  readonly shareCpuMs: readonly number[];
  /** Sum of the replicas' shares: the key count when no key is owned twice or by nobody. */
  readonly ownedSum: number;
}

interface RingReport {
  readonly members: readonly string[];
  readonly at: number;
  readonly doneAt: number;
  readonly shareMs: number;
  readonly shareCpuMs: number;
  readonly owned: number;
}

interface Replica {
  readonly member: string;
  readonly child: Child;
  ring: RingReport | undefined;
  lastHb: number;
  hbs: number[];
}

export async function rebalanceBench(o: RebalanceOptions): Promise<RebalanceSample[]> {
  const group = `rebalance-${o.backend}`;
  const rnd = mulberry32(1234);
  const replicas: Replica[] = [];
  let serial = 0;
  const samples: RebalanceSample[] = [];

  const spawn = async (): Promise<Replica> => {
    const member = `${o.run}-${o.backend}-r${serial++}`;
    const child = new Child(member, 'replica.js', {
      BENCH_URL: o.url,
      BENCH_MEMBER: member,
      BENCH_NS: o.namespace,
      BENCH_GROUP: group,
      BENCH_TTL: String(o.ttl),
      BENCH_BEAT: String(o.beat),
      BENCH_KEYS: String(o.keys),
    });
    const r: Replica = { member, child, ring: undefined, lastHb: NaN, hbs: [] };
    child.onMessage((m: ChildMessage) => {
      if (m.type === 'ring') r.ring = m as unknown as RingReport;
      else if (m.type === 'hb') {
        r.lastHb = m['at'] as number;
        r.hbs.push(r.lastHb);
      }
    });
    await child.next('ready', 60_000);
    return r;
  };

  /** Until every one of `among` has a ring of exactly `expected`; the latest times. */
  const agree = async (among: readonly Replica[], timeoutMs = 15_000) => {
    const expected = among
      .map((r) => r.member)
      .sort()
      .join(',');
    const until = performance.now() + timeoutMs;
    while (!among.every((r) => r.ring?.members.join(',') === expected)) {
      if (performance.now() > until) {
        const seen = among.map((r) => `${r.member}: ${r.ring?.members.join(',') ?? '—'}`);
        throw new Error(
          `rings did not agree on ${expected} in ${timeoutMs} ms:\n${seen.join('\n')}`,
        );
      }
      await sleep(2);
    }
    const rings = among.map((r) => r.ring as RingReport);
    return {
      agreeAt: Math.max(...rings.map((x) => x.at)),
      doneAt: Math.max(...rings.map((x) => x.doneAt)),
      cpuDoneAt: Math.max(...rings.map((x) => x.at + x.shareCpuMs)),
      shareMs: rings.map((x) => x.shareMs),
      shareCpuMs: rings.map((x) => x.shareCpuMs),
      ownedSum: rings.reduce((s, x) => s + x.owned, 0),
    };
  };

  const record = (
    kind: ChangeKind,
    changedAt: number,
    observedAt: number,
    a: Awaited<ReturnType<typeof agree>>,
  ): void => {
    samples.push({
      kind,
      agreeFromChange: (a.agreeAt - changedAt) / 1000,
      doneFromChange: (a.doneAt - changedAt) / 1000,
      agreeFromObserved: (a.agreeAt - observedAt) / 1000,
      doneFromObserved: (a.doneAt - observedAt) / 1000,
      cpuDoneFromObserved: (a.cpuDoneAt - observedAt) / 1000,
      observedAfter: (observedAt - changedAt) / 1000,
      shareMs: a.shareMs,
      shareCpuMs: a.shareCpuMs,
      ownedSum: a.ownedSum,
    });
  };

  const join = async (r: Replica): Promise<void> => {
    const joined = r.child.next('joined');
    r.child.send({ cmd: 'join' });
    const m = await joined;
    replicas.push(r);
    const a = await agree(replicas);
    const changedAt = m['at'] as number;
    // The joiner's first heartbeat acknowledged after the command: the backend shows it.
    const observedAt = r.hbs.find((t) => t >= changedAt) ?? (m['done'] as number);
    record('join', changedAt, observedAt, a);
  };

  const pause = (): Promise<void> => sleep(rnd() * o.beat * 1000);

  try {
    progress(`rebalance ${o.backend}: starting 3 replicas (${o.keys.toLocaleString()} keys each)`);
    const first = await Promise.all([spawn(), spawn(), spawn()]);
    for (const r of first) {
      r.child.send({ cmd: 'join' });
      await r.child.next('joined');
      replicas.push(r);
    }
    await agree(replicas);
    samples.length = 0;
    for (let round = 0; round < o.rounds; round++) {
      progress(`rebalance ${o.backend}: round ${round + 1}/${o.rounds}`);
      // (a) a 4th joins.
      await join(await spawn());
      await pause();
      // (b) the oldest leaves gracefully.
      const leaving = replicas.shift() as Replica;
      const left = leaving.child.next('left');
      const stopped = leaving.child.next('stopped');
      leaving.child.send({ cmd: 'stop' });
      const l = await left;
      const s = await stopped;
      record('leave', s['at'] as number, l['at'] as number, await agree(replicas));
      await leaving.child.exited;
      await pause();
      // (c) another joins, then a random one crashes.
      await join(await spawn());
      await pause();
      const victim = replicas.splice(Math.floor(rnd() * replicas.length), 1)[0] as Replica;
      const killedAt = wallMs();
      await victim.child.kill();
      const expiresAt = victim.lastHb + o.ttl * 1000;
      record('crash', killedAt, expiresAt, await agree(replicas));
      await pause();
    }
  } finally {
    await Promise.all(replicas.map((r) => r.child.stop()));
  }
  return samples;
}

/** Median and max of one field over samples. */
export function medMax(values: readonly number[]): [number, number] {
  return [median(values), Math.max(...values)];
}
