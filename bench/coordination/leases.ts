/**
 * Part 1: what a lease costs on each backend, sequentially, through the `Coordinator` API: acquire
 * (a new lease each time), renew, claimSlot and release, `duration` seconds per operation and
 * round, the median of the rounds. The heartbeat is set far off (lease_ttl 60 s, heartbeat 30 s)
 * so that no renewal loop runs beside the timed calls. Beside them, renew on the backend object
 * alone (no coordinator: no local deadline to move, no watchdog to re-arm).
 */
import {
  type CoordinationBackend,
  getCoordinator,
  type Lease,
  MemoryBackend,
  MemorySpace,
} from '../../src/coordination/index.js';
import { PostgresBackend } from '../../src/coordination/postgresql.js';
import { RedisBackend } from '../../src/coordination/redis.js';
import { median, percentile } from '../lib/stats.js';
import { progress } from './common.js';

export interface LeaseRow {
  readonly backend: string;
  readonly op: string;
  /** Median over rounds of (round time / ops). */
  readonly usPerOp: number;
  readonly opsPerSecond: number;
  /** Over every call of every round. */
  readonly p50Us: number;
  readonly p99Us: number;
  readonly ops: number;
  readonly rounds: number;
}

export interface LeaseBenchOptions {
  readonly urls: Readonly<Record<string, string>>;
  readonly namespace: string;
  readonly duration: number;
  readonly rounds: number;
}

interface Round {
  readonly ops: number;
  readonly seconds: number;
}

/** Calls `op(i)` one after another for `seconds`; latencies in µs go into `lat`. */
async function timed(
  seconds: number,
  lat: number[],
  op: (i: number) => Promise<unknown>,
): Promise<Round> {
  const end = performance.now() + seconds * 1000;
  let i = 0;
  const t0 = performance.now();
  let t = t0;
  while (t < end) {
    await op(i++);
    const t1 = performance.now();
    lat.push((t1 - t) * 1000);
    t = t1;
  }
  return { ops: i, seconds: (t - t0) / 1000 };
}

function openBackend(url: string, namespace: string): CoordinationBackend {
  if (url.startsWith('memory')) return new MemoryBackend(new MemorySpace(), url);
  if (url.startsWith('redis')) return new RedisBackend(url, { keyPrefix: namespace });
  return new PostgresBackend(url, { keyPrefix: namespace });
}

export async function leaseBench(o: LeaseBenchOptions): Promise<LeaseRow[]> {
  const rows: LeaseRow[] = [];
  for (const [backend, url] of Object.entries(o.urls)) {
    progress(`leases: ${backend}`);
    const c = getCoordinator(url, {
      memberId: `lease-bench-${process.pid}`,
      leaseTtl: 60,
      heartbeatInterval: 30,
      namespace: o.namespace,
    });
    await c.start();
    const raw = openBackend(url, o.namespace);
    await raw.connect();
    const ops = ['acquire', 'renew', 'claimSlot', 'release', 'renew (backend alone)'];
    const rawMember = `lease-bench-raw-${process.pid}`;
    try {
      const rounds: Record<string, Round[]> = Object.fromEntries(ops.map((op) => [op, []]));
      const lat: Record<string, number[]> = Object.fromEntries(ops.map((op) => [op, []]));
      const rawLease = (await raw.acquire('raw', rawMember, 60)) as { token: number };
      for (let i = 0; i < 50; i++) await raw.renew('raw', rawMember, rawLease.token, 60);
      // Warm-up: connections, prepared scripts and statements, JIT.
      const warm: Lease[] = [];
      for (let i = 0; i < 50; i++) warm.push((await c.acquire(`warm-${i}`)) as Lease);
      for (const l of warm) await l.renew();
      for (let i = 0; i < 50; i++) await c.claimSlot(warm[0] as Lease, i);
      for (const l of warm) await l.release();
      let slot = 1000;
      for (let r = 0; r < o.rounds; r++) {
        const held: Lease[] = [];
        rounds['acquire']?.push(
          await timed(o.duration, lat['acquire'] as number[], async (i) => {
            const l = await c.acquire(`lease-${r}-${i}`);
            if (!l) throw new Error('acquire of a free lease returned null');
            held.push(l);
          }),
        );
        const one = held[0] as Lease;
        rounds['renew']?.push(
          await timed(o.duration, lat['renew'] as number[], async () => {
            if (!(await one.renew())) throw new Error('renew failed');
          }),
        );
        rounds['claimSlot']?.push(
          await timed(o.duration, lat['claimSlot'] as number[], async () => {
            if (!(await c.claimSlot(one, slot++))) throw new Error('claimSlot refused');
          }),
        );
        // Release every lease of the round (at most `duration` seconds of them).
        const t0 = performance.now();
        let t = t0;
        for (const l of held) {
          await l.release();
          const t1 = performance.now();
          lat['release']?.push((t1 - t) * 1000);
          t = t1;
        }
        rounds['release']?.push({ ops: held.length, seconds: (t - t0) / 1000 });
        rounds['renew (backend alone)']?.push(
          await timed(o.duration, lat['renew (backend alone)'] as number[], async () => {
            if (!(await raw.renew('raw', rawMember, rawLease.token, 60)))
              throw new Error('renew failed');
          }),
        );
      }
      for (const op of ops) {
        const rs = rounds[op] as Round[];
        const us = median(rs.map((x) => (x.seconds * 1e6) / x.ops));
        const l = lat[op] as number[];
        rows.push({
          backend,
          op,
          usPerOp: us,
          opsPerSecond: 1e6 / us,
          p50Us: percentile(l, 50),
          p99Us: percentile(l, 99),
          ops: rs.reduce((s, x) => s + x.ops, 0),
          rounds: rs.length,
        });
      }
    } finally {
      await raw.close();
      await c.stop();
    }
  }
  return rows;
}
