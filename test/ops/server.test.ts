import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  getAdminContext,
  InvalidOptionError,
  OpsListenError,
  VirtualClock,
} from '../../src/core/index.js';
import { RpcClient, type Transport } from '../../src/messaging/index.js';
import { createServiceMetrics, OpsServer, type ServiceMetrics } from '../../src/ops/index.js';
import {
  MemoryTaskStateStore,
  periodicTask,
  type TaskStateStore,
} from '../../src/periodic/index.js';
import type { Service } from '../../src/service/index.js';
import { type HealthCheck, Manager, type ManagerClass } from '../../src/service/index.js';
import { captureLogs, LEVEL, type LogLine } from '../helpers/log-capture.js';
import { serviceWithMetrics, startOps } from './helpers.js';

const ctx = getAdminContext();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class Ops extends Manager {
  database: 'up' | 'down' | 'hang' | 'broken' = 'up';
  @periodicTask({ spacing: 10 })
  tick(): void {}
  @periodicTask({ spacing: 30, runImmediately: true })
  sweep(): void {
    throw new Error('sweep failed');
  }
  override healthChecks(): HealthCheck[] {
    if (this.database === 'broken') throw new Error('no checks today');
    return [
      {
        name: 'database',
        check: () => {
          if (this.database === 'down') throw new Error('database unreachable');
          if (this.database === 'hang') return new Promise<void>(() => undefined);
        },
      },
    ];
  }
  hello(): string {
    return 'hi';
  }
}

interface Setup {
  clock: VirtualClock;
  lines: LogLine[];
  transport: Transport;
  service: Service;
  metrics: ServiceMetrics;
  ops: OpsServer;
  base: string;
  /** What the ops server's service getter returns. */
  current: { service: Service | undefined };
}

interface SetupOptions {
  checkTimeout?: number;
  eventLoopThreshold?: number;
  stallThreshold?: number;
  stallDegradedAfter?: number;
  stallWindow?: number;
  /** The ops server's clock (check timeout, stall windows); default the real one. */
  opsClock?: VirtualClock;
  manager?: ManagerClass;
  taskStateStore?: TaskStateStore;
  /** The service's clock; default a virtual one at 0. */
  clock?: VirtualClock;
}

async function setup(options: SetupOptions = {}): Promise<Setup> {
  const { logger, lines } = captureLogs();
  const { clock, transport, metrics, service } = await serviceWithMetrics(
    cleanups,
    options.manager ?? Ops,
    logger,
    {
      ...(options.clock ? { clock: options.clock } : {}),
      extra: options.taskStateStore ? { taskStateStore: options.taskStateStore } : {},
    },
  );
  const current: { service: Service | undefined } = { service };
  const { ops, base } = await startOps(cleanups, {
    service: () => current.service,
    metrics,
    logger,
    checkTimeout: options.checkTimeout ?? 2,
    ...(options.eventLoopThreshold ? { eventLoopThreshold: options.eventLoopThreshold } : {}),
    ...(options.stallThreshold ? { stallThreshold: options.stallThreshold } : {}),
    ...(options.stallDegradedAfter ? { stallDegradedAfter: options.stallDegradedAfter } : {}),
    ...(options.stallWindow ? { stallWindow: options.stallWindow } : {}),
    ...(options.opsClock ? { clock: options.opsClock } : {}),
  });
  expect(ops.address?.port).toBeGreaterThan(0);
  return { clock, lines, transport, service, metrics, ops, base, current };
}

async function get(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  const text = await res.text();
  return { res, text, json: (): unknown => JSON.parse(text) };
}

/** One sample of a Prometheus scrape. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('OpsServer /healthz', () => {
  it('says starting (503) until the service runs, then ok with every check', async () => {
    const { base, current, service } = await setup();
    const saved = current.service;
    current.service = undefined;
    let r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toEqual({ status: 'starting' });
    current.service = saved;
    expect((await get(`${base}/healthz`)).json()).toEqual({ status: 'starting' }); // created
    await service.start();
    r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(200);
    expect(r.res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.res.headers.get('cache-control')).toBe('no-store');
    expect(r.json()).toEqual({
      status: 'ok',
      checks: { transport: 'ok', coordination: 'ok', database: 'ok', event_loop: 'ok' },
    });
    const head = await get(`${base}/healthz`, { method: 'HEAD' });
    expect(head.res.status).toBe(200);
    expect(head.text).toBe('');
    await service.stop();
    r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toEqual({ status: 'stopped' });
  });

  it('503 with the reason when the transport is not connected', async () => {
    const { base, service, transport } = await setup();
    await service.start();
    await transport.close();
    const r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toEqual({
      status: 'fail',
      checks: {
        transport: 'not connected',
        coordination: 'ok',
        database: 'ok',
        event_loop: 'ok',
      },
    });
  });

  it("503 with the message of a manager's failing check, and when healthChecks() itself throws", async () => {
    const { base, service } = await setup();
    await service.start();
    (service.manager as Ops).database = 'down';
    let r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toMatchObject({
      status: 'fail',
      checks: { database: 'database unreachable' },
    });
    expect(r.text).not.toMatch(/\bat\b.*\.ts/); // no stack
    (service.manager as Ops).database = 'broken';
    r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toEqual({
      status: 'fail',
      checks: { health_checks: 'no checks today', event_loop: 'ok' },
    });
  });

  it('a hanging check fails after checkTimeout; the endpoint never hangs', async () => {
    const { base, service } = await setup({ checkTimeout: 0.1 });
    await service.start();
    (service.manager as Ops).database = 'hang';
    const started = performance.now();
    const r = await get(`${base}/healthz`);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(r.res.status).toBe(503);
    expect(r.json()).toMatchObject({ checks: { database: 'timed out after 0.1 s' } });
  });

  it('503 while event-loop stalls are sustained, with the reason; 200 after a quiet period', async () => {
    const opsClock = new VirtualClock(0);
    const { base, service, ops } = await setup({ opsClock });
    await service.start();
    ops.eventLoop.observe(0.7);
    await opsClock.advance(1);
    ops.eventLoop.observe(0.6);
    let r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(200); // two stalls are not sustained yet
    await opsClock.advance(1);
    ops.eventLoop.observe(0.9);
    r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toEqual({
      status: 'fail',
      checks: {
        transport: 'ok',
        coordination: 'ok',
        database: 'ok',
        event_loop:
          'sustained stalls over 0.5 s: 3 since 3 came within 60 s, longest 0.900 s, last 0 s ago; healthy again after 60 s without a stall',
      },
    });
    const t = (await get(`${base}/metrics`)).text;
    expect(sample(t, 'conductor_event_loop_stalls_total')).toBe(3);
    expect(sample(t, 'conductor_event_loop_stall_seconds_sum')).toBeCloseTo(2.2, 9);
    await opsClock.advance(59);
    expect((await get(`${base}/healthz`)).res.status).toBe(503);
    await opsClock.advance(1);
    r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(200);
    expect(r.json()).toMatchObject({ checks: { event_loop: 'ok' } });
  });
});

/** A task that blocks the event loop 300 ms on its first run. */
class Heavy extends Manager {
  static blocked = false;
  @periodicTask({ spacing: 10 })
  heavy(): void {
    if (Heavy.blocked) return;
    Heavy.blocked = true;
    const end = performance.now() + 300;
    while (performance.now() < end) {
      /* busy: the event loop is blocked */
    }
  }
}

describe('OpsServer event-loop stalls (real time)', () => {
  it('a task that blocks the loop 300 ms: one stall logged naming it, counted, and /healthz 503', async () => {
    const { base, service, clock, lines } = await setup({
      manager: Heavy,
      stallThreshold: 0.2,
      eventLoopThreshold: 0.25,
    });
    await service.start();
    await clock.advance(10); // heavy runs, blocking, and returns before the probe timer fires
    const stalls = () => lines.filter((l) => l.msg.startsWith('Event loop stalled'));
    await vi.waitFor(() => expect(stalls().length).toBeGreaterThan(0), { timeout: 3000 });
    const mine = stalls().filter((l) => l['task'] === 'heavy');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ level: LEVEL.warn, threshold: 0.2 });
    expect(mine[0]?.['stallSeconds']).toBeGreaterThanOrEqual(0.25);
    expect(mine[0]?.msg).toMatch(
      /^Event loop stalled for 0\.\d{3} s \(threshold 0\.2 s\) while periodic task heavy was running$/,
    );
    const t = (await get(`${base}/metrics`)).text;
    expect(sample(t, 'conductor_event_loop_stalls_total')).toBeGreaterThanOrEqual(1);
    expect(sample(t, 'conductor_event_loop_stall_seconds_count')).toBeGreaterThanOrEqual(1);
    // One block over eventLoopThreshold fails the check by itself (for 10 s).
    const r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toMatchObject({
      status: 'fail',
      checks: {
        transport: 'ok',
        event_loop: expect.stringMatching(/^blocked for 0\.\d{3} s \(threshold 0\.25 s\)$/),
      },
    });
  });
});

describe('OpsServer /metrics', () => {
  it('counts task runs, failures and RPC calls by method and outcome; heartbeat age after a report', async () => {
    const { base, service, clock, transport } = await setup();
    let scrape = await get(`${base}/metrics`);
    expect(scrape.res.status).toBe(200);
    expect(scrape.res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(scrape.res.headers.get('cache-control')).toBe('no-store');
    expect(sample(scrape.text, 'conductor_service_up')).toBe(0);
    await service.start();
    await clock.advance(5);
    scrape = await get(`${base}/metrics`);
    expect(sample(scrape.text, 'conductor_service_up')).toBe(1);
    expect(scrape.text).not.toMatch(/^conductor_heartbeat_age_seconds /m);

    await clock.advance(10); // now 15: sweep ran at 0 (failed), tick at 10, a report at 10
    const client = new RpcClient(transport, { topic: 'T' });
    await client.call(ctx, 'hello');
    await client.call(ctx, 'hello');
    await expect(client.call(ctx, `evil_${randomUUID()}`)).rejects.toThrow();
    await vi.waitFor(async () => {
      const t = (await get(`${base}/metrics`)).text;
      expect(sample(t, 'conductor_rpc_messages_total{method="_unknown_",outcome="refused"}')).toBe(
        1,
      );
    });
    scrape = await get(`${base}/metrics`);
    const t = scrape.text;
    expect(sample(t, 'conductor_task_runs_total{task="sweep"}')).toBe(1);
    expect(sample(t, 'conductor_task_failures_total{task="sweep"}')).toBe(1);
    expect(sample(t, 'conductor_task_runs_total{task="tick"}')).toBe(1);
    expect(sample(t, 'conductor_task_failures_total{task="tick"}')).toBeUndefined();
    expect(sample(t, 'conductor_task_duration_seconds_count{task="tick"}')).toBe(1);
    expect(sample(t, 'conductor_task_lateness_seconds_count{task="tick"}')).toBe(1);
    expect(sample(t, 'conductor_rpc_messages_total{method="hello",outcome="ok"}')).toBe(2);
    expect(sample(t, 'conductor_rpc_duration_seconds_count{method="hello"}')).toBe(2);
    expect(t).not.toMatch(/evil_/);
    expect(sample(t, 'conductor_heartbeat_age_seconds')).toBe(5);
  });
});

describe('OpsServer /tasks', () => {
  it('lists the tasks with ISO times, last duration and last error', async () => {
    const { base, service, clock } = await setup();
    let r = await get(`${base}/tasks`);
    const never = {
      cron: null,
      timezone: null,
      placement: 'every-replica',
      timeout: null,
      lastRun: null,
      lastDuration: null,
      lateness: null,
      outcome: null,
      lastError: null,
      runs: 0,
      missed: 0,
      skipped: 0,
      timeouts: 0,
    };
    expect(r.json()).toEqual([
      { name: 'tick', spacing: 10, ...never, nextDue: expect.any(String) },
      { name: 'sweep', spacing: 30, ...never, nextDue: null },
    ]);
    // Every field, in this order.
    expect(Object.keys((r.json() as object[])[0] as object)).toEqual([
      'name',
      'spacing',
      'cron',
      'timezone',
      'placement',
      'timeout',
      'lastRun',
      'lastDuration',
      'nextDue',
      'lateness',
      'outcome',
      'lastError',
      'runs',
      'missed',
      'skipped',
      'timeouts',
    ]);
    await service.start();
    await clock.advance(15);
    const before = Date.now();
    r = await get(`${base}/tasks`);
    const after = Date.now();
    expect(r.res.status).toBe(200);
    expect(r.res.headers.get('cache-control')).toBe('no-store');
    const rows = r.json() as Array<Record<string, unknown>>;
    expect(
      rows.map((row) => [
        row['name'],
        row['spacing'],
        row['lastDuration'],
        row['lateness'],
        row['outcome'],
        row['lastError'],
        row['runs'],
      ]),
    ).toEqual([
      ['tick', 10, 0, 0, 'ok', null, 1],
      ['sweep', 30, 0, 0, 'error', 'sweep failed', 1],
    ]);
    // Clock seconds become wall time: tick ran at 10 (5 s ago) and is due at 20 (in 5 s).
    const at = (v: unknown) => Date.parse(v as string);
    const tick = rows[0] as Record<string, unknown>;
    expect(tick['lastRun']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(at(tick['lastRun'])).toBeGreaterThanOrEqual(before - 5000 - 1);
    expect(at(tick['lastRun'])).toBeLessThanOrEqual(after - 5000 + 1);
    expect(at(tick['nextDue']) - at(tick['lastRun'])).toBe(10_000);
    const sweep = rows[1] as Record<string, unknown>;
    expect(at(sweep['nextDue']) - at(sweep['lastRun'])).toBe(30_000);
  });
});

/** Tasks with run policies, for the state /tasks shows. */
class Policies extends Manager {
  static clock: VirtualClock;
  /** Ends 4 s after it starts: the next task starts 4 s late. */
  @periodicTask({ spacing: 10 })
  async first(): Promise<void> {
    await Policies.clock.sleep(4);
  }
  @periodicTask({ spacing: 10 })
  second(): void {}
  /** Never ends: it times out, and its next slots are skipped (overlap). */
  @periodicTask({ spacing: 10, timeout: 2, overlap: 'skip' })
  hung(): Promise<void> {
    return new Promise<void>(() => undefined);
  }
  /** Stored state from an earlier process; the slots since are missed and skipped. */
  @periodicTask({ spacing: 60, missed: 'skip' })
  report(): void {}
  @periodicTask({ cron: '*/30 * * * * *', timezone: 'UTC' })
  cronned(): void {}
}

describe('OpsServer /tasks with task states', () => {
  it('shows the state the service keeps: outcome, lateness, counts, a timeout, restored runs', async () => {
    const clock = new VirtualClock(1000);
    Policies.clock = clock;
    const store = new MemoryTaskStateStore();
    const { base, service } = await setup({ manager: Policies, taskStateStore: store, clock });
    const cls = service.manager.constructor.name;
    await store.save({
      service: 'T',
      task: `${cls}.report`,
      scope: 'h',
      lastScheduled: 400,
      lastStart: 401,
      lastEnd: 401.5,
      outcome: 'ok',
      error: null,
      runCount: 7,
      missedCount: 2,
      skippedCount: 1,
      timeoutCount: 0,
    });
    await service.start();
    // first runs at 1010 and 1020 (4 s each: second, hung and cronned start 4 s late); hung times
    // out at 1016 and its 1024 slot is skipped; report's slots since 400 were missed (skip policy).
    await clock.advance(30);
    const r = await get(`${base}/tasks`);
    const rows = r.json() as Array<Record<string, unknown>>;
    const row = (name: string) => rows.find((x) => x['name'] === name) as Record<string, unknown>;
    const pick = (name: string, keys: string[]) => keys.map((k) => row(name)[k]);
    const keys = ['lastDuration', 'lateness', 'outcome', 'runs', 'missed', 'skipped', 'timeouts'];
    expect(pick('first', keys)).toEqual([4, 0, 'ok', 2, 0, 0, 0]);
    expect(pick('second', keys)).toEqual([0, 4, 'ok', 2, 0, 0, 0]);
    // A timed-out run: its timeout as duration, outcome timeout, a timeout (not a run) counted.
    expect(pick('hung', keys)).toEqual([2, 4, 'timeout', 0, 0, 1, 1]);
    expect(row('hung')['timeout']).toBe(2);
    expect(row('hung')['lastError']).toMatch(
      /^Periodic task \w*Policies\.hung ran past its timeout of 2 s$/,
    );
    // Restored from the store, and 10 more slots missed since.
    expect(pick('report', keys)).toEqual([0.5, 1, 'ok', 7, 12, 1, 0]);
    expect(row('cronned')).toMatchObject({
      spacing: 30,
      cron: '*/30 * * * * *',
      timezone: 'UTC',
      outcome: 'ok',
      runs: 1,
      lateness: 4,
    });
    // Stored Unix seconds become wall time on the same anchor as the clock's.
    const at = (v: unknown) => Date.parse(v as string);
    expect(at(row('hung')['nextDue']) - at(row('hung')['lastRun'])).toBe(16_000); // 1014 → 1030
    expect(at(row('report')['nextDue']) - at(row('report')['lastRun'])).toBe(659_000); // 401 → 1060

    const t = (await get(`${base}/metrics`)).text;
    expect(sample(t, 'conductor_task_timeouts_total{task="hung"}')).toBe(1);
    expect(sample(t, 'conductor_task_failures_total{task="hung"}')).toBe(1);
    expect(sample(t, 'conductor_task_duration_seconds_sum{task="hung"}')).toBe(2);
    expect(sample(t, 'conductor_task_skipped_total{task="hung"}')).toBe(1);
    expect(sample(t, 'conductor_task_missed_total{task="report"}')).toBe(10);
    expect(sample(t, 'conductor_task_lateness_seconds_sum{task="second"}')).toBe(8);
  });

  it('without a state store, shows what the metrics saw in this process', async () => {
    const clock = new VirtualClock(1000);
    Policies.clock = clock;
    const { base, service } = await setup({ manager: Policies, clock });
    await service.start();
    await clock.advance(30);
    expect(service.tasks().some((x) => x.state !== undefined)).toBe(false);
    const rows = (await get(`${base}/tasks`)).json() as Array<Record<string, unknown>>;
    const row = (name: string) => rows.find((x) => x['name'] === name);
    expect(row('hung')).toMatchObject({
      lastDuration: 2,
      lateness: 4,
      outcome: 'timeout',
      lastError: expect.stringMatching(/ran past its timeout of 2 s$/),
      runs: 0,
      skipped: 1,
      timeouts: 1,
    });
    expect(row('second')).toMatchObject({ lateness: 4, outcome: 'ok', runs: 2 });
    // The report task never ran: no stored state says it missed anything.
    expect(row('report')).toMatchObject({ lastRun: null, outcome: null, runs: 0, missed: 0 });
  });
});

describe('OpsServer HTTP', () => {
  it('404 for unknown paths, 405 with Allow for other methods, 500 without details', async () => {
    const { base, current } = await setup();
    let r = await get(`${base}/nope`);
    expect(r.res.status).toBe(404);
    expect(r.json()).toEqual({ error: 'not found' });
    expect(r.res.headers.get('cache-control')).toBe('no-store');
    r = await get(`${base}/healthz`, { method: 'POST', body: 'x' });
    expect(r.res.status).toBe(405);
    expect(r.res.headers.get('allow')).toBe('GET, HEAD');
    expect(r.json()).toEqual({ error: 'method not allowed' });
    expect((await get(`${base}/metrics?x=1`)).res.status).toBe(200);
    Object.defineProperty(current, 'service', {
      get() {
        throw new Error('secret internals');
      },
    });
    r = await get(`${base}/tasks`);
    expect(r.res.status).toBe(500);
    expect(r.json()).toEqual({ error: 'internal error' });
  });

  it('refuses an address in use with an error naming it', async () => {
    const { ops, metrics } = await setup();
    const port = ops.address?.port as number;
    const other = new OpsServer({ listen: `127.0.0.1:${port}`, service: () => undefined, metrics });
    const err = (await other.start().catch((e: unknown) => e)) as OpsListenError;
    expect(err).toBeInstanceOf(OpsListenError);
    expect(err.code).toBe('CONDUCTOR_OPS_LISTEN');
    expect(err.address).toBe(`127.0.0.1:${port}`);
    expect(err.message).toBe(
      `Ops endpoint cannot listen on 127.0.0.1:${port}: the address is already in use`,
    );
    expect(other.address).toBeUndefined();
    await other.stop();
  });

  it('stop() closes keep-alive connections at once, is idempotent, and start() works again', async () => {
    const { ops, base } = await setup();
    const r = await fetch(`${base}/healthz`, { headers: { connection: 'keep-alive' } });
    await r.text(); // the socket stays open in the pool
    const started = performance.now();
    await Promise.all([ops.stop(), ops.stop()]);
    await ops.stop();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(ops.address).toBeUndefined();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    await ops.start();
    expect(ops.address?.port).toBeGreaterThan(0);
    await ops.stop();
  });

  it('validates its options', () => {
    const metrics = createServiceMetrics({ collectDefault: false });
    const service = () => undefined;
    expect(() => new OpsServer({ listen: '0', service, metrics })).toThrow(InvalidOptionError);
    expect(() => new OpsServer({ listen: 'nope', service, metrics })).toThrow(/Invalid listen/);
    expect(() => new OpsServer({ listen: ':0', service, metrics, checkTimeout: 0 })).toThrow(
      /checkTimeout/,
    );
    expect(() => new OpsServer({ listen: ':0', service, metrics, eventLoopThreshold: -1 })).toThrow(
      /eventLoopThreshold/,
    );
    expect(() => new OpsServer({ listen: ':0', service, metrics, stallThreshold: 0 })).toThrow(
      /stallThreshold/,
    );
    expect(
      () => new OpsServer({ listen: ':0', service, metrics, stallWindow: Number.NaN }),
    ).toThrow(/stallWindow/);
    expect(() => new OpsServer({ listen: ':0', service, metrics, stallDegradedAfter: 0 })).toThrow(
      /stallDegradedAfter/,
    );
    expect(
      () => new OpsServer({ listen: { host: '127.0.0.1', port: 70000 }, service, metrics }),
    ).toThrow(/port/);
  });
});
