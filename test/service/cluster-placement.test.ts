/**
 * Three replicas of one service in this process, on one virtual clock and one shared
 * `memory://name` backend: hours of once-per-cluster and sharded runs in milliseconds. A crash is a
 * replica whose backend link closes (no more heartbeats, nothing released), as a killed process.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  getCoordinator,
  MemoryBackend,
  type MemorySpace,
  memorySpace,
  forgetMemorySpace,
} from '../../src/coordination/index.js';
import { type RequestContext, VirtualClock } from '../../src/core/index.js';
import { getRpcTransport } from '../../src/messaging/index.js';
import { periodicTask, type TaskRun } from '../../src/periodic/index.js';
import { Manager } from '../../src/service/index.js';
import { startClusterService } from '../helpers/cluster-service.js';
import { captureLogs } from '../helpers/log-capture.js';

const TTL = 3;
const BEAT = 1;
const SPACING = 2;

interface Run {
  slot: number | undefined;
  host: string;
  token: number | undefined;
  at: number;
}

/** What the replicas did, shared by the test. */
const journal = { once: [] as Run[], probes: [] as { key: string; host: string; at: number }[] };
const KEYS = Array.from({ length: 300 }, (_, i) => `vim-${i}`);

class Replica extends Manager {
  static clock: VirtualClock;

  @periodicTask({ spacing: SPACING, placement: 'once-per-cluster' })
  report(_ctx: RequestContext, run: TaskRun): void {
    journal.once.push({
      slot: run.slot,
      host: this.host,
      token: run.fencingToken,
      at: Replica.clock.now(),
    });
  }

  @periodicTask({ spacing: 10, placement: 'sharded' })
  probe(_ctx: RequestContext, run: TaskRun): void {
    for (const key of run.shard(KEYS))
      journal.probes.push({ key, host: this.host, at: Replica.clock.now() });
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  journal.once.length = 0;
  journal.probes.length = 0;
});

async function replicas(n: number) {
  const clock = new VirtualClock(0);
  Replica.clock = clock;
  const spaceName = `cluster-${randomUUID()}`;
  const space: MemorySpace = memorySpace(`${spaceName}#conductor`, clock);
  cleanups.push(async () => forgetMemorySpace(`${spaceName}#conductor`));
  const transport = await getRpcTransport({ transportUrl: `memory://${randomUUID()}`, clock });
  cleanups.push(() => transport.close());
  const made = [];
  for (let i = 0; i < n; i++) {
    const host = `node-${i}`;
    const backend = new MemoryBackend(space, 'memory://cluster');
    const coordinator = getCoordinator('memory://', {
      memberId: host,
      clock,
      leaseTtl: TTL,
      heartbeatInterval: BEAT,
      backend,
      logger: captureLogs().logger,
    });
    await coordinator.start();
    const service = await startClusterService(
      { topic: 'CLUSTER', manager: Replica, host, transport, clock, coordination: coordinator },
      cleanups,
    );
    made.push({ host, service, coordinator, backend });
  }
  return { clock, space, replicas: made };
}

const countBy = <T>(items: T[], key: (t: T) => string | number) => {
  const m = new Map<string | number, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
};

describe('once-per-cluster across replicas', () => {
  it('runs every slot exactly once over 200 slots, on the cluster grid', async () => {
    const { clock, replicas: rs } = await replicas(3);
    await clock.advance(200 * SPACING);
    const slots = journal.once.map((r) => r.slot as number);
    expect(new Set(slots).size).toBe(slots.length); // no slot twice
    expect(slots.length).toBeGreaterThanOrEqual(199);
    for (let i = 1; i < slots.length; i++) expect(slots[i]).toBe((slots[i - 1] as number) + 1);
    // On the grid: each run at its slot's time.
    for (const r of journal.once) expect(r.at).toBe((r.slot as number) * SPACING);
    // One holder all along, with one token; tasks() says which replica holds the lease.
    expect(new Set(journal.once.map((r) => r.host)).size).toBe(1);
    const held = rs.map((r) => r.service.tasks().find((t) => t.name === 'report'));
    expect(held.map((t) => t?.leaseHeld)).toEqual(rs.map((r) => r.host === journal.once[0]?.host));
    expect(held[0]?.placement).toBe('once-per-cluster');
  });

  it('a crashed holder is replaced within lease_ttl + one heartbeat; no slot runs twice; tokens grow', async () => {
    const { clock, replicas: rs } = await replicas(3);
    await clock.advance(20 * SPACING);
    const holder = rs.find((r) => r.host === journal.once.at(-1)?.host);
    expect(holder).toBeDefined();
    const crashedAt = clock.now();
    await holder?.backend.close(); // the holder's process dies: nothing renewed, nothing released
    await clock.advance(40 * SPACING);
    const after = journal.once.filter((r) => r.at > crashedAt && r.host !== holder?.host);
    const firstTakeover = after[0] as Run;
    expect(firstTakeover.at - crashedAt).toBeLessThanOrEqual(TTL + BEAT + SPACING);
    expect(firstTakeover.token).toBeGreaterThan(journal.once[0]?.token as number);
    const slots = journal.once.map((r) => r.slot as number);
    expect(new Set(slots).size).toBe(slots.length);
    // The crashed replica ran nothing after its crash (its claims cannot reach the backend).
    expect(journal.once.filter((r) => r.host === holder?.host && r.at > crashedAt)).toEqual([]);
  });
});

describe('sharded across replicas', () => {
  it('each key is handled by exactly one replica per interval; after a crash, by the survivors, once each', async () => {
    const { clock, replicas: rs } = await replicas(3);
    await clock.advance(35); // runs at 0 (immediately, before the others joined: ignored), 10, 20, 30
    const window = (at: number) => Math.floor(at / 10);
    const stable = journal.probes.filter((p) => window(p.at) >= 1 && window(p.at) <= 3);
    for (const [, n] of countBy(stable, (p) => `${window(p.at)}:${p.key}`)) expect(n).toBe(1);
    expect(countBy(stable, (p) => window(p.at)).get(2)).toBe(300);
    expect(new Set(stable.map((p) => p.host)).size).toBe(3);
    const dead = rs[1] as (typeof rs)[number];
    await dead.backend.close();
    const crashedAt = clock.now();
    await clock.advance(40);
    // Within lease_ttl + two heartbeats the survivors see it gone; from the next interval on, every
    // key is probed once per interval by a live replica.
    const settled = Math.ceil((crashedAt + TTL + 2 * BEAT) / 10);
    const later = journal.probes.filter((p) => window(p.at) >= settled);
    expect(later.length).toBeGreaterThan(0);
    for (const [, n] of countBy(later, (p) => `${window(p.at)}:${p.key}`)) expect(n).toBe(1);
    for (const [w, n] of countBy(later, (p) => window(p.at))) expect([w, n]).toEqual([w, 300]);
    expect(later.some((p) => p.host === dead.host)).toBe(false);
  });
});

describe('the first sharded run of a starting replica', () => {
  const firstRuns: { keys: number; at: number }[] = [];
  class Starter extends Manager {
    static clock: VirtualClock;
    @periodicTask({ spacing: 10, placement: 'sharded', runImmediately: true })
    probe(_ctx: RequestContext, run: TaskRun): void {
      firstRuns.push({ keys: run.shard(KEYS).length, at: Starter.clock.now() });
    }
  }
  afterEach(() => {
    firstRuns.length = 0;
  });

  async function start(clock: VirtualClock, coordination?: ReturnType<typeof getCoordinator>) {
    Starter.clock = clock;
    const transport = await getRpcTransport({ transportUrl: `memory://${randomUUID()}`, clock });
    cleanups.push(() => transport.close());
    if (coordination) await coordination.start();
    await startClusterService(
      {
        topic: 'STARTER',
        manager: Starter,
        host: 'only',
        transport,
        clock,
        ...(coordination ? { coordination } : {}),
      },
      cleanups,
    );
  }

  it('on the private memory:// (a cluster of one) handles every key at once', async () => {
    const clock = new VirtualClock(0);
    await start(clock);
    await clock.advance(0.01);
    expect(firstRuns).toEqual([{ keys: 300, at: 0 }]);
  });

  it('on a shared backend waits one heartbeat and the margin for the others to let go, then handles its share', async () => {
    const clock = new VirtualClock(0);
    const spaceName = `starter-${randomUUID()}`;
    cleanups.push(async () => forgetMemorySpace(`${spaceName}#conductor`));
    const coordinator = getCoordinator('memory://', {
      memberId: 'only',
      clock,
      leaseTtl: TTL,
      heartbeatInterval: BEAT,
      backend: new MemoryBackend(memorySpace(`${spaceName}#conductor`, clock), 'memory://x'),
      logger: captureLogs().logger,
    });
    await start(clock, coordinator);
    await clock.advance(1);
    expect(firstRuns).toEqual([]);
    await clock.advance(0.5);
    expect(firstRuns).toEqual([{ keys: 300, at: BEAT + TTL * 0.1 }]);
  });
});
