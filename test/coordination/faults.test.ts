/**
 * Faults of the coordination backend, seen from whole services:
 *
 * 1. The backend is unreachable at start: a required one fails the start cleanly
 *    (`CoordinationUnavailable`, password masked, `cleanupHost` ran, nothing retries); one that is
 *    not required starts degraded (health fails, no cluster task runs, nothing is owned) and
 *    recovers by itself once the backend appears. The same through the real `conductor run`.
 * 2. The backend goes away mid-run (a redis-server SIGKILLed and restarted on its port; PostgreSQL
 *    behind a TCP proxy that blocks): the holder's run signal aborts with `LeaseLostError` before
 *    its lease can expire at the backend, no task runs while it is down, a holder takes over once
 *    it is back, and no slot ever runs twice.
 * 3. Clock skew between replicas: a replica whose clock runs slow believes it still holds a lease
 *    the backend expired and gave to another; its slot claims and its fenced writes are refused.
 *    A replica whose clock runs ahead leaves a gap (never a repeat) when another takes over.
 *
 * Real clocks and real servers where the fault needs them (Redis, PostgreSQL); the virtual clock
 * and the memory backend where it does not. Required under CI=true; skipped loudly elsewhere.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Coordinator,
  getCoordinator,
  type Lease,
  MemoryBackend,
  MemorySpace,
} from '../../src/coordination/index.js';
import {
  type Clock,
  CoordinationUnavailable,
  HealthCheckError,
  LeaseLostError,
  realClock,
  type RequestContext,
  VirtualClock,
} from '../../src/core/index.js';
import { getRpcTransport, type Transport } from '../../src/messaging/index.js';
import { periodicTask, type TaskRun } from '../../src/periodic/index.js';
import { Manager, Service, type ServiceCoordinationOptions } from '../../src/service/index.js';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { startClusterService } from '../helpers/cluster-service.js';
import { captureLogs } from '../helpers/log-capture.js';
import {
  hasRedisServer,
  type RedisServer,
  startRedisServer,
  stopRedisServers,
} from '../helpers/redis-server.js';
import {
  dropCoordinationTables,
  freePort,
  PG_URL,
  pgAdmin,
  requirePostgres,
  requireService,
} from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const pgTarget = new URL(PG_URL);
const PG_PORT = Number(pgTarget.port || 5432);

const redisOk = await requireService('redis-server on PATH', hasRedisServer());
const pgOk = await requirePostgres();

/** This file's namespace (keys, tables) and topic stem: unique per run. */
const RUN = `t_faults_${process.pid}_${randomBytes(3).toString('hex')}`;
const TTL = 1;
const BEAT = 0.25;
const SPACING = 0.05;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `ok` every 10 ms until it holds; fails with `what` after `ms`. */
async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** What the replicas did, shared by the tests (reset after each). */
interface SlotRun {
  host: string;
  slot: number;
  token: number;
  /** Date.now() when the run started. */
  at: number;
  signal: AbortSignal;
}
const journal: SlotRun[] = [];
const probes: { host: string; at: number; owned: number }[] = [];
const cleanedUp: string[] = [];
const KEYS = Array.from({ length: 64 }, (_, i) => `vim-${i}`);

class FaultReplica extends Manager {
  @periodicTask({ spacing: SPACING, placement: 'once-per-cluster' })
  tick(_ctx: RequestContext, run: TaskRun): void {
    journal.push({
      host: this.host,
      slot: run.slot as number,
      token: run.fencingToken as number,
      at: Date.now(),
      signal: run.signal,
    });
  }

  @periodicTask({ spacing: 0.1, placement: 'sharded' })
  probe(_ctx: RequestContext, run: TaskRun): void {
    probes.push({ host: this.host, at: Date.now(), owned: run.shard(KEYS).length });
  }

  override cleanupHost(): void {
    cleanedUp.push(this.host);
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  journal.length = 0;
  probes.length = 0;
  cleanedUp.length = 0;
});
afterAll(stopRedisServers);

let topics = 0;
const topic = (): string => `${RUN}_${++topics}`.toUpperCase();

async function memoryTransport(): Promise<Transport> {
  const t = await getRpcTransport({ transportUrl: `memory://${randomUUID()}` });
  cleanups.push(() => t.close());
  return t;
}

/** A service of {@link FaultReplica} with short leases on `backendUrl`; stopped after the test. */
async function replica(
  topicName: string,
  host: string,
  transport: Transport,
  coordination: ServiceCoordinationOptions,
) {
  const logs = captureLogs();
  const service = await Service.create({
    topic: topicName,
    manager: FaultReplica,
    host,
    transport,
    reportInterval: 0,
    periodicFuzzyDelay: 0,
    logger: logs.logger,
    coordination: {
      leaseTtl: TTL,
      heartbeatInterval: BEAT,
      namespace: RUN,
      memberId: host,
      ...coordination,
    },
  });
  cleanups.push(() => service.stop());
  return { service, logs, host };
}

/** The reason the service's `coordination` health check fails, or 'ok'. */
async function coordinationHealth(service: Service): Promise<string> {
  const check = service.healthChecks().find((c) => c.name === 'coordination');
  if (!check) throw new Error('no coordination health check');
  try {
    await check.check();
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(HealthCheckError);
    return (err as Error).message;
  }
}

const unique = (xs: number[]): boolean => new Set(xs).size === xs.length;

/** Measured figures (times to abort, to recover), printed at the end with CONDUCTOR_TEST_FIGURES=1. */
const figures: Record<string, string> = {};
afterAll(() => {
  if (process.env['CONDUCTOR_TEST_FIGURES'] && Object.keys(figures).length > 0)
    console.log('fault figures:', JSON.stringify(figures, null, 1));
});

// ---- 1. unreachable at start ------------------------------------------------------------------

describe.runIf(redisOk)('backend unreachable at start', () => {
  it('required (the default): start() rejects CoordinationUnavailable naming the masked URL; cleanupHost ran; nothing is left running or retrying', async () => {
    const port = await freePort();
    const { service, logs } = await replica(topic(), 'down-1', await memoryTransport(), {
      backendUrl: `redis://:s3cret@127.0.0.1:${port}`,
    });
    const t0 = Date.now();
    const err = await service.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    figures['1a start rejected after (ms)'] = String(Date.now() - t0);
    expect(err).toBeInstanceOf(CoordinationUnavailable);
    const message = (err as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^Coordination backend redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unavailable: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`,
      ),
    );
    expect(JSON.stringify(logs.lines)).not.toContain('s3cret');
    expect(cleanedUp).toEqual(['down-1']);
    expect(service.state).toBe('stopped');
    expect(service.coordinator).toBeUndefined();
    expect(logs.messages()).not.toContain('Coordinator started');
    // Nothing keeps trying: a server that appears on the port gets no connection, and no task runs.
    let connections = 0;
    const server = createServer((s: Socket) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      await sleep(4 * BEAT * 1000);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(connections).toBe(0);
    expect(journal).toEqual([]);
    expect(probes).toEqual([]);
  });

  it('required_at_start false: starts degraded (health fails, no once-per-cluster run, sharded owns nothing), then recovers once the backend appears', async () => {
    const port = await freePort();
    const { service } = await replica(topic(), 'degraded-1', await memoryTransport(), {
      backendUrl: `redis://127.0.0.1:${port}`,
      requiredAtStart: false,
    });
    await service.start();
    expect(service.state).toBe('running');
    expect(await coordinationHealth(service)).toMatch(
      new RegExp(`^redis redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`),
    );
    await sleep(3 * BEAT * 1000);
    // Still degraded after several heartbeats: nothing once-per-cluster ran; the sharded task ran
    // and owned no key (its membership is not confirmed).
    expect(await coordinationHealth(service)).toMatch(/ECONNREFUSED/);
    expect(journal).toEqual([]);
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(probes.every((p) => p.owned === 0)).toBe(true);

    const redis = await startRedisServer(port);
    const upAt = Date.now();
    await waitFor('health ok', async () => (await coordinationHealth(service)) === 'ok');
    const healthyMs = Date.now() - upAt;
    await waitFor('a once-per-cluster run', () => journal.length > 0);
    const firstRunMs = Date.now() - upAt;
    await waitFor('a sharded run owning every key', () => probes.at(-1)?.owned === KEYS.length);
    figures['1b healthy after backend up (ms)'] = String(healthyMs);
    figures['1b first once-per-cluster run after backend up (ms)'] = String(firstRunMs);
    // Within a heartbeat or two (+ the client's reconnect), never more than a lease TTL or so.
    expect(firstRunMs).toBeLessThan(2000);
    await sleep(300);
    expect(unique(journal.map((r) => r.slot))).toBe(true);
    expect(service.coordinator?.stats()).toMatchObject({ healthy: true, leasesHeld: 1 });
    await service.stop();
    await redis.kill();
  });
});

// ---- 2. the backend goes away mid-run ---------------------------------------------------------

/** How one backend goes down and comes back. */
interface Outage {
  /** `redis` or `postgresql`, as health reasons name it. */
  readonly kind: string;
  readonly url: string;
  down(): Promise<void>;
  up(): Promise<void>;
}

/**
 * Three replicas on `outage.url`: runs for a while, takes the backend down for longer than a lease
 * TTL, brings it back, runs on; checks the abort, the silence, the takeover and that no slot ran
 * twice. Puts the measured times in {@link figures}.
 */
async function survivesOutage(outage: Outage, label: string): Promise<void> {
  const name = topic();
  const transport = await memoryTransport();
  const rs: Awaited<ReturnType<typeof replica>>[] = [];
  for (const host of ['r-1', 'r-2', 'r-3'])
    rs.push(await replica(name, `${label}-${host}`, transport, { backendUrl: outage.url }));
  for (const r of rs) await r.service.start();
  await waitFor('20 slots run', () => journal.length >= 20);
  expect(new Set(journal.map((r) => r.host)).size).toBe(1); // one holder at a time
  const before = journal.length;
  const last = journal.at(-1) as SlotRun;
  const holder = rs.find((r) => r.host === last.host);
  const aborted = new Promise<{ at: number; reason: unknown }>((resolve) =>
    last.signal.addEventListener('abort', () =>
      resolve({ at: Date.now(), reason: last.signal.reason }),
    ),
  );

  const downAt = Date.now();
  await outage.down();
  const downDone = Date.now();
  const lost = await Promise.race([aborted, sleep(3000).then(() => undefined)]);
  expect(lost, 'the holder run signal did not abort').toBeDefined();
  const abortMs = (lost as { at: number }).at - downAt;
  expect((lost as { reason: unknown }).reason).toBeInstanceOf(LeaseLostError);
  expect(String((lost as { reason: Error }).reason.message)).toMatch(/not renewed in time/);
  // Before the backend could expire it (lease_ttl after the last renewal): within the TTL.
  expect(abortMs).toBeLessThan(TTL * 1000);
  for (const r of rs) {
    expect(await coordinationHealth(r.service)).toMatch(new RegExp(`^${outage.kind} `));
  }
  expect(holder?.service.coordinator?.stats()).toMatchObject({
    healthy: false,
    leasesHeld: 0,
    leaseLosses: 1,
  });
  // Down for longer than a TTL, so that every lease the backend had is gone by its own clock too.
  await sleep(Math.max(0, downAt + 1.6 * TTL * 1000 - Date.now()));
  const upAt = Date.now();
  // Nothing ran while it was down (a reply already on its way at the kill may land just after).
  expect(journal.filter((r) => r.at > downDone + 50 && r.at < upAt)).toEqual([]);
  expect(journal.length - before).toBeLessThanOrEqual(1);

  await outage.up();
  const upDone = Date.now();
  await waitFor('a slot after the outage', () => journal.some((r) => r.at >= upDone), 6000);
  const resumeMs = (journal.find((r) => r.at >= upDone) as SlotRun).at - upDone;
  await waitFor(
    'every replica healthy',
    async () =>
      (await Promise.all(rs.map((r) => coordinationHealth(r.service)))).every((h) => h === 'ok'),
    3000,
  );
  const healthyMs = Date.now() - upDone;
  await waitFor(
    '20 slots after the outage',
    () => journal.filter((r) => r.at >= upDone).length >= 20,
  );

  const slots = journal.map((r) => r.slot);
  expect(unique(slots), 'a slot ran twice').toBe(true);
  for (let i = 1; i < slots.length; i++) expect(slots[i]).toBeGreaterThan(slots[i - 1] as number);
  const after = journal.filter((r) => r.at >= upDone);
  const tokenBefore = Math.max(...journal.filter((r) => r.at < downAt).map((r) => r.token));
  // A new holding: its fencing token is larger than every one before the outage.
  expect(Math.min(...after.map((r) => r.token))).toBeGreaterThan(tokenBefore);
  figures[`2 ${label}: holder signal aborted after (ms)`] = String(abortMs);
  figures[`2 ${label}: first slot after backend back (ms)`] = String(resumeMs);
  figures[`2 ${label}: all healthy after backend back (ms)`] = String(healthyMs);
  expect(resumeMs).toBeLessThan(3000);
  for (const r of rs) await r.service.stop();
}

describe.runIf(redisOk)('backend restarted mid-run: redis-server SIGKILLed', () => {
  it('three replicas: the holder run signal aborts, nothing runs while it is down, a holder re-acquires after the restart, no slot twice', async () => {
    const redis: RedisServer = await startRedisServer();
    await survivesOutage(
      {
        kind: 'redis',
        url: redis.url,
        down: () => redis.kill('SIGKILL'),
        up: () => redis.restart(),
      },
      'redis',
    );
    await redis.kill();
  });
});

/** Every PostgreSQL prefix this file used; their tables are dropped at the end. */
const pgPrefixes = new Set<string>();
const pgFenced = new Set<string>();

if (pgOk) {
  afterAll(async () => {
    await pgAdmin(async (c) => {
      for (const p of pgPrefixes) await dropCoordinationTables(c, p);
      for (const t of pgFenced) await c.query(`DROP TABLE IF EXISTS ${t}`);
    });
  });
}

/** `PG_URL` on 127.0.0.1:`port`. */
function pgUrlAt(port: number): string {
  const u = new URL(PG_URL);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

describe.runIf(pgOk)('backend away mid-run: PostgreSQL behind a blocked proxy', () => {
  let proxy: TcpProxy | undefined;
  afterEach(async () => proxy?.close());

  it('three replicas: the holder run signal aborts, nothing runs while blocked, a holder re-acquires after unblock, no slot twice', async () => {
    proxy = await startTcpProxy(PG_PORT, pgTarget.hostname);
    pgPrefixes.add(RUN);
    const p = proxy;
    await survivesOutage(
      {
        kind: 'postgresql',
        url: pgUrlAt(p.port),
        down: async () => p.block(),
        up: async () => p.unblock(),
      },
      'postgresql',
    );
  });
});

// ---- 3. clock skew ----------------------------------------------------------------------------

/** A clock that runs at `rate` times its base (slow below 1), shifted by `offset` seconds. */
class SkewedClock implements Clock {
  constructor(
    readonly base: Clock,
    readonly rate: number,
    readonly offset = 0,
  ) {}

  now(): number {
    return this.offset + this.base.now() * this.rate;
  }

  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    return this.base.sleep(seconds > 0 ? seconds / this.rate : seconds, signal);
  }
}

/** A resource that only accepts writes whose fencing token is at least the last one accepted. */
class FencedStore {
  token = 0;
  readonly values: string[] = [];
  write(token: number, value: string): boolean {
    if (token < this.token) return false;
    this.token = token;
    this.values.push(value);
    return true;
  }
}

/** The runs of {@link SkewReplica}, with the true (virtual) time. */
const skewRuns: { host: string; slot: number; at: number }[] = [];
let skewTime = new VirtualClock(0);

class SkewReplica extends Manager {
  @periodicTask({ spacing: 1, placement: 'once-per-cluster' })
  tick(_ctx: RequestContext, run: TaskRun): void {
    skewRuns.push({ host: this.host, slot: run.slot as number, at: skewTime.now() });
  }
}

const stopAll = (cs: Coordinator[]) => () => Promise.all(cs.map((c) => c.stop()));

describe('clock skew between replicas (virtual time, memory backend)', () => {
  it('a replica whose clock runs 10x slow still believes it holds an expired lease; the other takes over; the stale claimSlot and fenced write are refused', async () => {
    const time = new VirtualClock(0);
    // The backend's clock is the truth (as Redis' or PostgreSQL's own is).
    const space = new MemorySpace(time);
    const make = (memberId: string, clock: Clock) =>
      getCoordinator('memory://', {
        memberId,
        clock,
        leaseTtl: 3,
        heartbeatInterval: 1,
        backend: new MemoryBackend(space),
        logger: captureLogs().logger,
      });
    // Slow, and an hour ahead too: the offset changes nothing (expiry is the backend's), the rate
    // makes its heartbeat and its local deadline ten times late.
    const slow = make('slow', new SkewedClock(time, 0.1, 3600));
    const fast = make('fast', time);
    cleanups.push(stopAll([slow, fast]));
    await slow.start();
    await fast.start();
    const stale = (await slow.acquire('job')) as Lease;
    expect(stale.token).toBeGreaterThan(0);
    const store = new FencedStore();
    expect(await slow.claimSlot(stale, 1)).toBe(true);
    expect(store.write(stale.token, 'slow@1')).toBe(true);
    const candidacy = fast.campaign('job');
    await time.advance(0.5);
    expect(candidacy.lease).toBeUndefined(); // held by slow

    // The backend expires slow's lease at t = 3 (no renewal arrived: slow's next heartbeat is at
    // t = 10); fast's heartbeat at t = 3 takes it.
    await time.advance(3);
    const taken = candidacy.lease as Lease;
    expect(taken).toBeDefined();
    expect(taken.token).toBeGreaterThan(stale.token);
    expect(await fast.holder('job')).toMatchObject({ holder: 'fast', token: taken.token });
    // The stale replica still believes: by its own clock its lease is valid for seconds more.
    expect(stale.held).toBe(true);
    expect(stale.signal.aborted).toBe(false);
    expect(stale.validUntil).toBeGreaterThan(slow.clock.now() + 2);
    expect(slow.stats().leasesHeld).toBe(1);
    // Fencing: its claims are refused (a later slot too: the token is what counts), the new
    // holder's are granted, and a store that keeps the largest token refuses its write.
    expect(await slow.claimSlot(stale, 2)).toBe(false);
    expect(await fast.claimSlot(taken, 2)).toBe(true);
    expect(await slow.claimSlot(stale, 3)).toBe(false);
    expect(store.write(taken.token, 'fast@2')).toBe(true);
    expect(store.write(stale.token, 'slow@3')).toBe(false);
    expect(store.values).toEqual(['slow@1', 'fast@2']);
    expect(await fast.lastSlot('job')).toBe(2);

    // Slow's heartbeat at t = 10 (its t + 1) finds the lease another's: lost, signal aborted.
    await time.advanceTo(10.5);
    expect(stale.held).toBe(false);
    expect(stale.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((stale.signal.reason as Error).message).toBe(
      "Lease 'job' lost: taken or expired at the backend",
    );
    expect(taken.held).toBe(true);
    expect(slow.stats()).toMatchObject({ leasesHeld: 0, leaseLosses: 1 });
  });

  it('services whose clocks disagree by 5 s: when the one ahead dies, the other resumes after the last slot run: the skew costs a gap, never a repeat', async () => {
    const time = new VirtualClock(0);
    skewTime = time;
    const space = new MemorySpace(time);
    const transport = await getRpcTransport({
      transportUrl: `memory://${randomUUID()}`,
      clock: time,
    });
    cleanups.push(() => transport.close());
    const name = topic();
    const made = [];
    // The one ahead starts first, so it holds the lease.
    for (const [host, clock] of [
      ['ahead', new SkewedClock(time, 1, 5)],
      ['behind', time],
    ] as const) {
      const backend = new MemoryBackend(space);
      const coordinator = getCoordinator('memory://', {
        memberId: host,
        clock,
        leaseTtl: 3,
        heartbeatInterval: 1,
        backend,
        logger: captureLogs().logger,
      });
      await coordinator.start();
      await startClusterService(
        { topic: name, manager: SkewReplica, host, transport, clock, coordination: coordinator },
        cleanups,
      );
      made.push({ host, backend, clock });
    }
    skewRuns.length = 0;
    await time.advance(20);
    expect(new Set(skewRuns.map((r) => r.host))).toEqual(new Set(['ahead']));
    const lastAhead = Math.max(...skewRuns.map((r) => r.slot));
    expect(lastAhead).toBeGreaterThanOrEqual(24); // its grid is 5 s ahead: slot = (t + 5) / 1
    await made[0]?.backend.close(); // the one ahead dies: no renewals, nothing released
    const diedAt = time.now();
    await time.advance(20);
    const behind = skewRuns.filter((r) => r.host === 'behind');
    expect(behind.length).toBeGreaterThan(5);
    const slots = skewRuns.map((r) => r.slot);
    expect(unique(slots)).toBe(true);
    // The first slot behind runs is past the last slot ahead ran: the lease moved at about
    // diedAt + ttl, but behind's slots until lastAhead were already "run" at the backend.
    expect((behind[0] as (typeof behind)[number]).slot).toBe(lastAhead + 1);
    expect((behind[0] as (typeof behind)[number]).at).toBeGreaterThan(diedAt + 3);
    figures['3 skew 5 s: first slot of the new holder after the old died (virtual s)'] = String(
      (behind[0] as (typeof behind)[number]).at - diedAt,
    );
  });
});

describe.runIf(redisOk && pgOk)('clock skew on Redis with a PostgreSQL fenced row', () => {
  it('a replica whose clock runs 10x slow keeps believing after Redis expired its lease; claimSlot refuses it and UPDATE ... WHERE token <= $1 refuses its write', async () => {
    const redis = await startRedisServer();
    const table = `${RUN}_fenced`;
    pgFenced.add(table);
    await pgAdmin(async (c) => {
      await c.query(
        `CREATE TABLE ${table} (id int PRIMARY KEY, token bigint NOT NULL, value text)`,
      );
      await c.query(`INSERT INTO ${table} VALUES (1, 0, NULL)`);
    });
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    cleanups.push(() => db.end());
    /** The fenced write: accepted only with a token at least the stored one. */
    const write = async (token: number, value: string): Promise<boolean> => {
      const r = await db.query(
        `UPDATE ${table} SET token = $1, value = $2 WHERE id = 1 AND token <= $1`,
        [token, value],
      );
      return r.rowCount === 1;
    };
    const make = (memberId: string, clock: Clock) =>
      getCoordinator(redis.url, {
        memberId,
        clock,
        leaseTtl: TTL,
        heartbeatInterval: BEAT,
        namespace: RUN,
        logger: captureLogs().logger,
      });
    const slow = make('slow', new SkewedClock(realClock, 0.1));
    const fast = make('fast', realClock);
    cleanups.push(stopAll([slow, fast]));
    await slow.start();
    await fast.start();
    const stale = (await slow.acquire('job')) as Lease;
    const acquiredAt = Date.now();
    expect(await slow.claimSlot(stale, 1)).toBe(true);
    expect(await write(stale.token, 'slow@1')).toBe(true);
    const candidacy = fast.campaign('job');
    // Redis expires the lease one TTL after it was taken (slow's first renewal is 2.5 s away);
    // fast's next heartbeat takes it.
    await waitFor('fast to take the lease', () => candidacy.lease !== undefined, 3000);
    const takenMs = Date.now() - acquiredAt;
    const taken = candidacy.lease as Lease;
    expect(takenMs).toBeGreaterThanOrEqual(TTL * 1000 - 50);
    expect(taken.token).toBeGreaterThan(stale.token);
    expect(stale.held).toBe(true); // still believes
    expect(await slow.claimSlot(stale, 2)).toBe(false);
    expect(await fast.claimSlot(taken, 2)).toBe(true);
    expect(await write(taken.token, 'fast@2')).toBe(true);
    expect(await write(stale.token, 'slow@2')).toBe(false);
    const row = await db.query(`SELECT token, value FROM ${table} WHERE id = 1`);
    expect(row.rows[0]).toEqual({ token: String(taken.token), value: 'fast@2' });
    // Its first heartbeat (2.5 s real) finds the lease another's.
    const lost = await new Promise<{ at: number; reason: unknown }>((resolve) =>
      stale.signal.addEventListener('abort', () =>
        resolve({ at: Date.now(), reason: stale.signal.reason }),
      ),
    );
    expect(lost.reason).toBeInstanceOf(LeaseLostError);
    expect((lost.reason as Error).message).toMatch(/taken or expired at the backend/);
    figures['3 redis slow clock: takeover after (ms)'] = String(takenMs);
    figures['3 redis slow clock: stale holder learns after (ms)'] = String(lost.at - acquiredAt);
    await redis.kill();
  });
});

// ---- 1c. the real CLI -------------------------------------------------------------------------

interface Proc {
  readonly child: ChildProcess;
  out: string;
  err: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function conductor(args: string[]): Proc {
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = {
    child,
    out: '',
    err: '',
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on('data', (d: Buffer) => (p.out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (p.err += d.toString('utf8')));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return p;
}

describe.runIf(redisOk)(
  'conductor run with the coordination backend unreachable (real process)',
  () => {
    beforeAll(() => ensureBuilt(), 120_000);

    const args = (opsPort: number, ...extra: string[]) => [
      'run',
      '--manager',
      `${join(ROOT, 'test/fixtures/cli/manager.mjs')}#FixtureManager`,
      '--topic',
      topic(),
      '--host',
      'cli-1',
      '--set',
      `transport_url=memory://${RUN}`,
      '--set',
      'periodic_fuzzy_delay=0',
      '--set',
      'report_interval=0',
      '--set',
      `ops.listen=127.0.0.1:${opsPort}`,
      ...extra,
    ];

    it('required: exits 1 with one clear line on stderr, the password never shown', async () => {
      const port = await freePort();
      const p = conductor(
        args(
          await freePort(),
          '--set',
          `coordination.backend_url=redis://:s3cret@127.0.0.1:${port}`,
        ),
      );
      const { code } = await p.exited;
      expect(code).toBe(1);
      expect(p.err).toMatch(
        new RegExp(
          `^conductor: the service did not start: Coordination backend redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unavailable: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\n$`,
        ),
      );
      expect(p.out).toMatch(/"msg":"Error starting service"/);
      expect(p.out + p.err).not.toContain('s3cret');
    });

    it('required_at_start=false: starts, /healthz answers 503 naming coordination, SIGTERM exits 0', async () => {
      const port = await freePort();
      const opsPort = await freePort();
      const p = conductor(
        args(
          opsPort,
          '--set',
          `coordination.backend_url=redis://:s3cret@127.0.0.1:${port}`,
          '--set',
          'coordination.required_at_start=false',
        ),
      );
      await waitFor(
        '"Service started"',
        () => p.out.includes('"msg":"Service started"') || p.child.exitCode !== null,
        10_000,
      );
      expect(p.out).toContain('"msg":"Service started"');
      const res = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
      const text = await res.text();
      expect(res.status).toBe(503);
      const body = JSON.parse(text) as { status: string; checks: Record<string, string> };
      expect(body.status).toBe('fail');
      expect(body.checks['coordination']).toMatch(
        new RegExp(`redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}.*ECONNREFUSED`),
      );
      expect(body.checks['transport']).toBe('ok');
      expect(text).not.toContain('s3cret');
      p.child.kill('SIGTERM');
      const { code, signal } = await p.exited;
      expect({ code, signal, err: p.err }).toEqual({ code: 0, signal: null, err: '' });
      expect(p.out).not.toContain('s3cret');
    });
  },
);
