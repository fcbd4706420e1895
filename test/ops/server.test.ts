import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  getAdminContext,
  InvalidOptionError,
  OpsListenError,
  VirtualClock,
} from '../../src/core/index.js';
import { getRpcTransport, RpcClient, type Transport } from '../../src/messaging/index.js';
import { createServiceMetrics, OpsServer, type ServiceMetrics } from '../../src/ops/index.js';
import { periodicTask } from '../../src/periodic/index.js';
import { type HealthCheck, Manager, Service } from '../../src/service/index.js';
import { captureLogs } from '../helpers/log-capture.js';

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
  transport: Transport;
  service: Service;
  metrics: ServiceMetrics;
  ops: OpsServer;
  base: string;
  /** What the ops server's service getter returns. */
  current: { service: Service | undefined };
}

async function setup(
  options: { checkTimeout?: number; eventLoopThreshold?: number } = {},
): Promise<Setup> {
  const clock = new VirtualClock(0);
  const { logger } = captureLogs();
  const transport = await getRpcTransport({ transportUrl: `memory://${randomUUID()}`, clock });
  cleanups.push(() => transport.close());
  const metrics = createServiceMetrics({ collectDefault: false });
  const service = await Service.create({
    topic: 'T',
    manager: Ops,
    host: 'h',
    transport,
    clock,
    logger,
    periodicMode: 'exact',
    periodicFuzzyDelay: 0,
    reportInterval: 10,
    managerOptions: { random: () => 0 },
    onTaskRun: metrics.onTaskRun,
    onRpc: metrics.onRpc,
  });
  cleanups.push(() => service.kill());
  const current: { service: Service | undefined } = { service };
  const ops = new OpsServer({
    listen: ':0',
    service: () => current.service,
    metrics,
    logger,
    checkTimeout: options.checkTimeout ?? 2,
    ...(options.eventLoopThreshold ? { eventLoopThreshold: options.eventLoopThreshold } : {}),
  });
  await ops.start();
  cleanups.push(() => ops.stop());
  const port = ops.address?.port;
  expect(port).toBeGreaterThan(0);
  return { clock, transport, service, metrics, ops, base: `http://127.0.0.1:${port}`, current };
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

  it('503 when the event loop was blocked longer than eventLoopThreshold', async () => {
    const { base, service } = await setup({ eventLoopThreshold: 0.05 });
    await service.start();
    const end = performance.now() + 200;
    while (performance.now() < end) {
      /* block the event loop */
    }
    await new Promise((r) => setTimeout(r, 30));
    const r = await get(`${base}/healthz`);
    expect(r.res.status).toBe(503);
    expect(r.json()).toMatchObject({
      status: 'fail',
      checks: {
        transport: 'ok',
        database: 'ok',
        event_loop: expect.stringMatching(/^blocked for/),
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
    expect(r.json()).toEqual([
      {
        name: 'tick',
        spacing: 10,
        placement: 'every-replica',
        lastRun: null,
        lastDuration: null,
        nextDue: expect.any(String),
        lastError: null,
      },
      {
        name: 'sweep',
        spacing: 30,
        placement: 'every-replica',
        lastRun: null,
        lastDuration: null,
        nextDue: null,
        lastError: null,
      },
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
      rows.map((row) => [row['name'], row['spacing'], row['lastDuration'], row['lastError']]),
    ).toEqual([
      ['tick', 10, 0, null],
      ['sweep', 30, 0, 'sweep failed'],
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
    expect(
      () => new OpsServer({ listen: { host: '127.0.0.1', port: 70000 }, service, metrics }),
    ).toThrow(/port/);
  });
});
