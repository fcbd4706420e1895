/**
 * The ops dashboard: the page and its headers, the snapshot it polls (tasks with their lateness
 * history, cluster, RPC rates, the manager's sections), the actions `allowActions` turns on and
 * their safety, the `opsView` hook (never reachable over RPC), and the conductor's sections.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Conductor,
  conductorConfig,
  type ConductorStore,
  openStore,
  VimMonitor,
} from '../../src/conductor/index.js';
import { getAdminContext, NoSuchMethod, VirtualClock } from '../../src/core/index.js';
import {
  DefaultRpcAccessPolicy,
  getRpcTransport,
  RpcClient,
  type Transport,
} from '../../src/messaging/index.js';
import { createServiceMetrics, type ServiceMetrics } from '../../src/ops/index.js';
import {
  DashboardHistory,
  type DashboardSnapshot,
  LATENESS_SAMPLES,
} from '../../src/ops/dashboard/index.js';
import { InvalidPeriodicTaskArg, periodicTask } from '../../src/periodic/index.js';
import {
  hasOpsView,
  Manager,
  type ManagerClass,
  type OpsViewSection,
  opsView,
  Service,
} from '../../src/service/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { serviceWithMetrics, startOps } from './helpers.js';

const ctx = getAdminContext();
const XSS = '<img src=x onerror="window.__pwned=1">';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class Dash extends Manager {
  ticks = 0;
  view: unknown = [
    {
      title: 'Things',
      columns: ['Name', 'State', 'Seen', 'Count'],
      rows: [[XSS, { badge: 'fine', tone: 'ok' }, { at: '2024-01-01T00:00:00.000Z' }, 3]],
    },
  ];
  @periodicTask({ spacing: 10 })
  tick(): void {
    this.ticks++;
  }
  @periodicTask({ spacing: 30, runImmediately: true })
  sweep(): void {
    throw new Error(`sweep failed: ${XSS}`);
  }
  @periodicTask({ spacing: 60, placement: 'once-per-cluster' })
  leader(): void {}
  hello(): string {
    return 'hi';
  }
  [opsView](): unknown {
    if (this.view instanceof Error) throw this.view;
    return this.view;
  }
}

interface Setup {
  clock: VirtualClock;
  transport: Transport;
  service: Service;
  metrics: ServiceMetrics;
  base: string;
}

async function setup(
  options: { allowActions?: boolean; dashboard?: boolean; manager?: ManagerClass } = {},
): Promise<Setup> {
  const { logger } = captureLogs();
  const parts = await serviceWithMetrics(cleanups, options.manager ?? Dash, logger);
  const { clock, service, metrics } = parts;
  const { base } = await startOps(cleanups, {
    service: () => service,
    metrics,
    logger,
    clock,
    ...(options.allowActions !== undefined ? { allowActions: options.allowActions } : {}),
    ...(options.dashboard !== undefined ? { dashboard: options.dashboard } : {}),
  });
  return { ...parts, base };
}

async function get(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  const text = await res.text();
  return { res, text, json: (): unknown => JSON.parse(text) };
}

const snapshot = async (base: string): Promise<DashboardSnapshot> =>
  (await get(`${base}/dashboard.json`)).json() as DashboardSnapshot;

const post = (url: string, headers: Record<string, string> = { 'X-Conductor-Action': '1' }) =>
  get(url, { method: 'POST', headers });

describe('the dashboard page', () => {
  it('serves the page, its script and stylesheet under a strict CSP; no innerHTML anywhere', async () => {
    const { base } = await setup();
    const page = await get(`${base}/`);
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(page.res.headers.get('x-frame-options')).toBe('DENY');
    expect(page.res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.text).toContain('<script src="/dashboard.js" defer></script>');
    expect(page.text).not.toMatch(/<script>|<style>|style="/); // nothing inline
    for (const h of ['Periodic tasks', 'Cluster', 'RPC'])
      expect(page.text).toContain(`<h2>${h}</h2>`);
    const js = await get(`${base}/dashboard.js`);
    expect(js.res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.text).toContain("fetch('/dashboard.json'");
    expect(js.text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    const css = await get(`${base}/dashboard.css`);
    expect(css.res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await get(`${base}/`, { method: 'HEAD' })).res.status).toBe(200);
    const refused = await get(`${base}/`, { method: 'POST' });
    expect(refused.res.status).toBe(405);
    expect(refused.res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('dashboard: false serves none of it (404), and /tasks still works', async () => {
    const { base } = await setup({ dashboard: false });
    for (const p of ['/', '/dashboard.js', '/dashboard.css', '/dashboard.json'])
      expect((await get(`${base}${p}`)).res.status).toBe(404);
    expect((await get(`${base}/tasks`)).res.status).toBe(200);
  });
});

describe('GET /dashboard.json', () => {
  it('shows the service, tasks with lateness history, cluster, health, RPC rates and the manager sections', async () => {
    const { base, service, clock, transport } = await setup();
    let s = await snapshot(base);
    expect(s.service).toMatchObject({ state: 'created', host: 'h', topic: 'T' });
    expect(s.health).toBeNull();
    await service.start();
    await clock.advance(0); // sweep runs at once
    await clock.advance(10); // tick's first run
    await clock.advance(10); // and its second
    s = await snapshot(base);
    expect(s.actions).toBe(false);
    expect(s.service).toMatchObject({ state: 'running', binary: expect.any(String) as string });
    expect(s.health?.ok).toBe(true);
    const tick = s.tasks.find((t) => t.name === 'tick');
    expect(tick).toMatchObject({ runs: 2, outcome: 'ok', enabled: true, runnable: true });
    expect(tick?.latenessHistory).toHaveLength(2);
    const sweep = s.tasks.find((t) => t.name === 'sweep');
    expect(sweep).toMatchObject({ outcome: 'error', lastError: `sweep failed: ${XSS}` });
    expect(s.tasks.find((t) => t.name === 'leader')).toMatchObject({
      placement: 'once-per-cluster',
      runnable: false,
    });
    // The cluster: this replica alone, holding the leader's lease.
    const self = service.coordinator?.memberId as string;
    expect(s.cluster).toMatchObject({ memberId: self, healthy: true, error: null });
    expect(s.cluster?.members).toEqual([{ id: self, self: true }]);
    expect(s.cluster?.leases).toEqual([
      {
        task: 'leader',
        lease: 'task/T/Dash.leader',
        holder: self,
        self: true,
        expiresIn: expect.any(Number) as number,
      },
    ]);
    // RPC rates by method over the last minute, on the endpoint's clock.
    const client = new RpcClient(transport, { topic: 'T' });
    for (let i = 0; i < 3; i++) await client.call(ctx, 'hello');
    await expect(client.call(ctx, 'nope')).rejects.toThrow();
    s = await snapshot(base);
    const hello = s.rpc.methods.find((m) => m.method === 'hello');
    expect(hello).toMatchObject({ perMinute: 3, errors: 0, refused: 0, perSecond: 0.05 });
    expect(hello?.history).toHaveLength(60);
    expect(hello?.history.at(-1)).toBe(3);
    expect(s.rpc.methods.find((m) => m.method === '_unknown_')).toMatchObject({ refused: 1 });
    await clock.advance(61);
    expect((await snapshot(base)).rpc.methods).toEqual([]);
    // The manager's section, as data: the markup is a string, never interpreted here.
    expect(s.panels).toEqual([
      {
        title: 'Things',
        columns: ['Name', 'State', 'Seen', 'Count'],
        rows: [[XSS, { badge: 'fine', tone: 'ok' }, { at: '2024-01-01T00:00:00.000Z' }, 3]],
      },
    ]);
    expect(s.panelsError).toBeNull();
  });

  it("cuts a manager's sections to what the page can show, and reports a failing view", async () => {
    const { base, service } = await setup();
    await service.start();
    const manager = service.manager as Dash;
    manager.view = [
      {
        title: 42,
        columns: ['A', 'B', 'C'],
        rows: [
          [{ badge: 'x', tone: 'javascript:' }, () => 1, { at: 'not a date' }, 'dropped: 4th cell'],
          'not a row',
        ],
        wide: 'yes',
      },
      ...Array.from({ length: 20 }, () => ({ title: 't', columns: [], rows: [] })),
    ];
    let s = await snapshot(base);
    expect(s.panels).toHaveLength(12);
    expect(s.panels[0]).toEqual({
      title: '42',
      columns: ['A', 'B', 'C'],
      rows: [[{ badge: 'x', tone: 'muted' }, '() => 1', '[object Object]'], ['not a row']],
    });
    manager.view = new Error('database is down');
    s = await snapshot(base);
    expect(s.panels).toEqual([]);
    expect(s.panelsError).toBe('database is down');
    manager.view = 'nonsense';
    expect((await snapshot(base)).panelsError).toBe('the ops view is not an array of sections');
    expect(s.tasks.length).toBe(3); // the rest of the snapshot is there
  });
});

describe('DashboardHistory', () => {
  it(`keeps the last ${LATENESS_SAMPLES} latenesses per task, oldest first`, () => {
    const h = new DashboardHistory(new VirtualClock(0));
    for (let i = 0; i < 40; i++)
      h.onTaskRun({
        fullName: 'X.t',
        name: 't',
        scheduledAt: i,
        startedAt: i + i / 100,
        duration: 0,
        outcome: 'ok',
      });
    const l = h.lateness('t');
    expect(l).toHaveLength(LATENESS_SAMPLES);
    expect(l[0]).toBeCloseTo(0.1);
    expect(l.at(-1)).toBeCloseTo(0.39);
    expect(h.lateness('other')).toEqual([]);
  });

  it('counts RPC requests per second over the last minute', async () => {
    const clock = new VirtualClock(100);
    const h = new DashboardHistory(clock);
    h.onRpc({ method: 'm', outcome: 'ok', duration: 0.002, isCall: true });
    await clock.advance(30);
    h.onRpc({ method: 'm', outcome: 'error', duration: 0.004, isCall: true });
    h.onRpc({ method: 'n', outcome: 'ok', duration: 0.001, isCall: false });
    const [first, n] = h.rpcRates();
    let m = first;
    expect(m).toMatchObject({ method: 'm', perMinute: 2, errors: 1, meanDuration: 0.003 });
    expect(m?.history[29]).toBe(1);
    expect(m?.history[59]).toBe(1);
    expect(n).toMatchObject({ method: 'n', perMinute: 1 });
    await clock.advance(30); // the first request of m is 60 s old: out of the window
    m = h.rpcRates()[0];
    expect(m).toMatchObject({ method: 'm', perMinute: 1 });
    await clock.advance(60); // a bucket reused a minute later starts from zero
    h.onRpc({ method: 'm', outcome: 'ok', duration: 0, isCall: true });
    expect(h.rpcRates()).toMatchObject([{ method: 'm', perMinute: 1, errors: 0 }]);
  });
});

describe('dashboard actions', () => {
  it('without allowActions the routes do not exist: 404 for every method, and the page offers none', async () => {
    const { base, service } = await setup();
    await service.start();
    for (const method of ['POST', 'GET', 'PUT', 'DELETE']) {
      const r = await get(`${base}/actions/tasks/tick/run`, {
        method,
        headers: { 'X-Conductor-Action': '1' },
      });
      expect(r.res.status).toBe(404);
      expect(r.json()).toEqual({ error: 'not found' });
    }
    expect((await snapshot(base)).actions).toBe(false);
    expect((service.manager as Dash).ticks).toBe(0);
  });

  it('with allowActions: run now, disable and enable, from the page only', async () => {
    const { base, service, clock } = await setup({ allowActions: true });
    await service.start();
    const manager = service.manager as Dash;
    const url = `${base}/actions/tasks/tick/run`;
    expect((await snapshot(base)).actions).toBe(true);
    // Not the page's request: no header, another origin, another site.
    expect((await post(url, {})).res.status).toBe(403);
    const foreign = await post(url, { 'X-Conductor-Action': '1', Origin: 'http://evil.example' });
    expect(foreign.res.status).toBe(403);
    expect(
      (await post(url, { 'X-Conductor-Action': '1', 'Sec-Fetch-Site': 'cross-site' })).res.status,
    ).toBe(403);
    const wrong = await get(url, { headers: { 'X-Conductor-Action': '1' } });
    expect(wrong.res.status).toBe(405);
    expect(wrong.res.headers.get('allow')).toBe('POST');
    expect((await post(`${base}/actions/tasks/nope/run`)).res.status).toBe(404);
    expect((await post(`${base}/actions/tasks/tick/explode`)).res.status).toBe(404);
    expect(manager.ticks).toBe(0);
    // Run now: a run like any other (counted, in /tasks), the schedule unchanged.
    const ok = await post(url, {
      'X-Conductor-Action': '1',
      Origin: new URL(base).origin,
      'Sec-Fetch-Site': 'same-origin',
    });
    expect(ok.res.status).toBe(200);
    expect(ok.json()).toEqual({ task: 'tick', run: 'done' });
    expect(manager.ticks).toBe(1);
    expect((await snapshot(base)).tasks.find((t) => t.name === 'tick')?.runs).toBe(1);
    // Once-per-cluster: refused.
    const leader = await post(`${base}/actions/tasks/leader/run`);
    expect(leader.res.status).toBe(409);
    expect((leader.json() as { error: string }).error).toMatch(/runs once per cluster/);
    // Disable: its slots pass without a run; enable: they run again.
    expect((await post(`${base}/actions/tasks/tick/disable`)).json()).toEqual({
      task: 'tick',
      enabled: false,
    });
    await clock.advance(10);
    await clock.advance(10);
    expect(manager.ticks).toBe(1);
    expect((await snapshot(base)).tasks.find((t) => t.name === 'tick')?.enabled).toBe(false);
    expect((await post(`${base}/actions/tasks/tick/run`)).res.status).toBe(200); // still runnable
    expect(manager.ticks).toBe(2);
    await post(`${base}/actions/tasks/tick/enable`);
    await clock.advance(10);
    expect(manager.ticks).toBe(3);
  });
});

describe('PeriodicTasks run-now and disable', () => {
  class Slow extends Manager {
    release: (() => void) | undefined;
    runs = 0;
    @periodicTask({ spacing: 10, runImmediately: true })
    async slow(): Promise<void> {
      this.runs++;
      await new Promise<void>((r) => (this.release = r));
    }
  }

  it('refuses a run-now while one goes on, and skips the scheduled run meanwhile (an overlap)', async () => {
    const skips: string[] = [];
    const m = new Slow({ onTaskSkip: (e) => skips.push(`${e.name}:${e.reason}`) });
    const first = m.runPeriodicTaskNow(ctx, 'slow');
    await Promise.resolve();
    await expect(m.runPeriodicTaskNow(ctx, 'slow')).rejects.toThrow(InvalidPeriodicTaskArg);
    await expect(m.runPeriodicTaskNow(ctx, 'slow')).rejects.toThrow('Slow.slow is running already');
    await m.runPeriodicTasks(ctx); // the scheduled run, due: skipped while run-now goes on
    expect(skips).toEqual(['slow:overlap']);
    m.release?.();
    await first;
    expect(m.runs).toBe(1);
    await expect(m.runPeriodicTaskNow(ctx, 'nope')).rejects.toThrow('no periodic task named nope');
    expect(() => m.setPeriodicTaskEnabled('nope', false)).toThrow(InvalidPeriodicTaskArg);
  });

  it('refuses a run-now while the scheduled run goes on', async () => {
    const m = new Slow();
    const scheduled = m.runPeriodicTasks(ctx);
    await Promise.resolve();
    await expect(m.runPeriodicTaskNow(ctx, 'slow')).rejects.toThrow('running already');
    m.release?.();
    await scheduled;
    expect(m.periodicTaskEnabled('slow')).toBe(true);
  });
});

describe('the opsView hook is never reachable over RPC', () => {
  it('the access policy finds no method by any name of it, nor the task actions', async () => {
    const { service, transport } = await setup();
    await service.start();
    const manager = service.manager;
    expect(hasOpsView(manager)).toBe(true);
    const policy = new DefaultRpcAccessPolicy();
    for (const name of [
      'opsView',
      String(opsView),
      opsView.description as string,
      '[opsView]',
      'runPeriodicTaskNow',
      'setPeriodicTaskEnabled',
      'periodicTaskEnabled',
    ])
      expect(policy.resolve(manager, name)).toBeUndefined();
    expect(policy.resolve(manager, 'hello')).toBeTypeOf('function');
    const client = new RpcClient(transport, { topic: 'T' }, { timeout: 5 });
    for (const name of [String(opsView), 'opsView', 'runPeriodicTaskNow']) {
      const err = await client.call(ctx, name).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoSuchMethod);
    }
    expect(await client.call(ctx, 'hello')).toBe('hi');
  });
});

describe("the conductor's sections", () => {
  const T0 = Date.parse('2025-03-01T12:00:00Z');

  async function conductor(): Promise<{
    clock: VirtualClock;
    store: ConductorStore;
    service: Service;
    base: string;
  }> {
    const clock = new VirtualClock(0);
    const now = (): Date => new Date(T0 + clock.now() * 1000);
    const store = await openStore('sqlite://');
    cleanups.push(() => store.close());
    const transport = await getRpcTransport({
      transportUrl: `memory://${randomUUID()}`,
      controlExchange: 'tacker',
      clock,
    });
    cleanups.push(() => transport.close());
    const conf = conductorConfig();
    // No monitor run: the test sets the statuses itself (the store's writes are real I/O).
    await conf.load({ env: {}, cli: { service_down_time: '30', 'vim_monitor.enabled': 'false' } });
    const { logger } = captureLogs();
    const monitor = new VimMonitor({
      timeout: 5,
      concurrency: 4,
      logger,
      probe: async (urls) => urls.map(() => ({ reachable: true, detail: 'HTTP 401', duration: 0 })),
    });
    const metrics = createServiceMetrics({ collectDefault: false });
    const service = await Service.create({
      topic: 'TACKER_CONDUCTOR',
      manager: Conductor,
      host: 'ctl-1',
      binary: 'tacker-conductor',
      transport,
      clock,
      random: () => 0,
      reportInterval: 10,
      periodicFuzzyDelay: 0,
      logger,
      managerOptions: { conf, store, now, monitor, random: () => 0 },
      onTaskRun: metrics.onTaskRun,
      onRpc: metrics.onRpc,
    });
    cleanups.push(() => service.kill());
    const { base } = await startOps(cleanups, { service: () => service, metrics, logger, clock });
    return { clock, store, service, base };
  }

  it('services up or down by service_down_time, VIMs with status and shard, the latest events', async () => {
    const { clock, store, service, base } = await conductor();
    const vim = await store.registerVim(
      { name: XSS, authUrl: 'http://admin:s3cret@a:5000/v3', id: 'vim-a' },
      new Date(T0),
    );
    await store.reportService(
      { host: 'old', binary: 'tacker-conductor', topic: 'TACKER_CONDUCTOR' },
      new Date(T0 - 3600_000),
    );
    await service.start();
    await store.updateVimStatus(vim.id, 'REACHABLE', new Date(T0 + 5_000));
    await clock.advance(10); // the first heartbeat of ctl-1
    const s = await vi.waitFor(async () => {
      const snap = await snapshot(base);
      expect(snap.panels[0]?.rows).toHaveLength(2);
      return snap;
    });
    const [services, vims, events] = s.panels as OpsViewSection[];
    expect(services?.title).toBe('Services');
    expect(services?.note).toContain('30 s');
    expect(services?.rows).toEqual([
      [
        'tacker-conductor',
        'ctl-1',
        'TACKER_CONDUCTOR',
        { badge: 'up', tone: 'ok' },
        { at: new Date(T0 + 10_000).toISOString() },
        1,
      ],
      [
        'tacker-conductor',
        'old',
        'TACKER_CONDUCTOR',
        { badge: 'down', tone: 'bad' },
        { at: new Date(T0 - 3600_000).toISOString() },
        1,
      ],
    ]);
    const self = service.coordinator?.memberId as string;
    expect(vims?.title).toBe('VIMs');
    expect(vims?.rows).toEqual([
      [
        XSS,
        'openstack',
        'http://admin:***@a:5000/v3',
        { badge: 'REACHABLE', tone: 'ok' },
        { at: new Date(T0 + 5_000).toISOString() },
        `${self} (this)`,
      ],
    ]);
    await store.updateVimStatus(vim.id, 'UNREACHABLE', new Date(T0 + 20_000));
    const later = (await snapshot(base)).panels[2] as OpsViewSection;
    expect(events?.title).toBe('Recent VIM events');
    expect(later.rows).toEqual([
      [
        { at: new Date(T0 + 20_000).toISOString() },
        XSS,
        'MONITOR',
        { badge: 'UNREACHABLE', tone: 'bad' },
      ],
      [
        { at: new Date(T0 + 5_000).toISOString() },
        XSS,
        'MONITOR',
        { badge: 'REACHABLE', tone: 'ok' },
      ],
    ]);
  });
});
