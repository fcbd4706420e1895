/**
 * The Tacker conductor on memory:// and an in-memory SQLite store, on the virtual clock: update_vim
 * over RPC, what is not callable, the VIM monitor task and the heartbeats.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Conductor,
  conductorConfig,
  type ConductorStore,
  openStore,
  VimMonitor,
  type ProbeResult,
} from '../../src/conductor/index.js';
import { getAdminContext, RemoteError, VirtualClock } from '../../src/core/index.js';
import { getRpcTransport, NoSuchMethod, RpcClient } from '../../src/messaging/index.js';
import { Service } from '../../src/service/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const ctx = getAdminContext();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-24T10:00:00Z');

interface Setup {
  clock: VirtualClock;
  store: ConductorStore;
  service: Service;
  conductor: Conductor;
  client: RpcClient;
  probed: string[][];
}

/** A conductor service whose probe answers from `reachable` (auth URL → reachable). */
async function setup(
  reachable: Map<string, boolean> = new Map(),
  set: Record<string, string> = {},
): Promise<Setup> {
  const clock = new VirtualClock(0);
  const now = (): Date => new Date(T0 + clock.now() * 1000);
  const store = await openStore('sqlite://');
  cleanups.push(() => store.close());
  const transport = await getRpcTransport({
    transportUrl: `memory://conductor-${randomUUID()}`,
    controlExchange: 'tacker',
    clock,
  });
  cleanups.push(() => transport.close());
  const conf = conductorConfig();
  await conf.load({ env: {}, cli: set });
  const probed: string[][] = [];
  const { logger } = captureLogs();
  const monitor = new VimMonitor({
    timeout: 5,
    concurrency: 4,
    logger,
    probe: async (urls): Promise<ProbeResult[]> => {
      probed.push([...urls]);
      return urls.map((u) => ({
        reachable: reachable.get(u) ?? false,
        detail: reachable.get(u) ? 'HTTP 401' : 'ECONNREFUSED',
        duration: 0,
      }));
    },
  });
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
  });
  await service.start();
  cleanups.push(() => service.stop());
  const client = new RpcClient(
    transport,
    { topic: 'TACKER_CONDUCTOR', version: '1.0' },
    { timeout: 5 },
  );
  return {
    clock,
    store,
    service,
    conductor: service.manager as Conductor,
    client,
    probed,
  };
}

describe('Conductor update_vim (RPC)', () => {
  it('sets status and updated_at, records one MONITOR event and returns the status', async () => {
    const s = await setup();
    const vim = await s.store.registerVim({ name: 'site-a', authUrl: 'http://a:5000/v3' });
    await s.clock.advance(5);
    const result = await s.client.call(ctx, 'update_vim', { vim_id: vim.id, status: 'REACHABLE' });
    expect(result).toBe('REACHABLE');
    const after = await s.store.getVim(vim.id);
    expect(after?.status).toBe('REACHABLE');
    expect(after?.updatedAt?.toISOString()).toBe(new Date(T0 + 5000).toISOString());
    const events = await s.store.listEvents(vim.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      resourceId: vim.id,
      resourceType: 'vim',
      resourceState: 'REACHABLE',
      eventType: 'MONITOR',
      eventDetails: '',
    });
  });

  it('an unknown VIM raises VimNotFoundException and writes nothing (the original wrote an orphan event)', async () => {
    const s = await setup();
    const err = await s.client
      .call(ctx, 'update_vim', { vim_id: 'nope', status: 'REACHABLE' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).excType).toBe('VimNotFoundException');
    expect((err as RemoteError).message).toMatch(/nope/);
    expect(await s.store.listEvents('nope')).toEqual([]);
  });

  it('refuses an unknown status or bad arguments, and nothing changes', async () => {
    const s = await setup();
    const vim = await s.store.registerVim({ name: 'site-b', authUrl: 'http://b:5000/v3' });
    for (const args of [
      { vim_id: vim.id, status: 'SLEEPY' },
      { vim_id: vim.id },
      { status: 'REACHABLE' },
      { vim_id: 42, status: 'REACHABLE' },
    ]) {
      await expect(s.client.call(ctx, 'update_vim', args)).rejects.toThrow(RemoteError);
    }
    const err = (await s.client
      .call(ctx, 'update_vim', { vim_id: vim.id, status: 'SLEEPY' })
      .catch((e: unknown) => e)) as RemoteError;
    expect(err.message).toMatch(/REACHABLE/); // the error lists the allowed statuses
    expect((await s.store.getVim(vim.id))?.status).toBe('PENDING');
    expect(await s.store.listEvents(vim.id)).toEqual([]);
  });

  it('exposes update_vim only: hooks, tasks, private and inherited methods are not callable', async () => {
    const s = await setup();
    for (const method of [
      'initHost',
      'afterStart',
      'reportState',
      'healthChecks',
      'cleanupHost',
      'runPeriodicTasks',
      'periodicTasks',
      'addPeriodicTask',
      '_monitorVims',
      'constructor',
      'toString',
      'store',
    ]) {
      const err = await s.client.call(ctx, method, {}).catch((e: unknown) => e);
      expect(err, method).toBeInstanceOf(Error);
      expect(err instanceof NoSuchMethod || err instanceof RemoteError, method).toBe(true);
    }
  });
});

describe('Conductor VIM monitor (periodic task)', () => {
  it('runs at start, then every [vim_monitor] interval, recording only changes', async () => {
    const reachable = new Map([['http://up:5000/v3', true]]);
    const s = await setup(reachable, { 'vim_monitor.interval': '20' });
    expect(s.conductor.periodicTaskInfo().find((t) => t.name === 'vim_monitor')?.spacing).toBe(20);
    const up = await s.store.registerVim({ name: 'up', authUrl: 'http://up:5000/v3' });
    const down = await s.store.registerVim({ name: 'down', authUrl: 'http://down:5000/v3' });
    await s.clock.advance(1); // run-immediately pass (registered just after start: may be empty)
    await s.clock.advance(20);
    expect((await s.store.getVim(up.id))?.status).toBe('REACHABLE');
    expect((await s.store.getVim(down.id))?.status).toBe('UNREACHABLE');
    const runsBefore = s.probed.length;
    await s.clock.advance(40); // two more runs, nothing changes
    expect(s.probed.length).toBe(runsBefore + 2);
    expect(await s.store.listEvents(up.id)).toHaveLength(1);
    // The VIM goes down: one new event.
    reachable.set('http://up:5000/v3', false);
    await s.clock.advance(20);
    const events = await s.store.listEvents(up.id);
    expect(events.map((e) => e.resourceState)).toEqual(['UNREACHABLE', 'REACHABLE']);
  });

  it('is skipped when [vim_monitor] enabled is false', async () => {
    const s = await setup(new Map(), { 'vim_monitor.enabled': 'false' });
    expect(s.conductor.periodicTaskInfo().map((t) => t.name)).not.toContain('vim_monitor');
    await s.clock.advance(120);
    expect(s.probed).toEqual([]);
  });
});

describe('Conductor heartbeats (report_state)', () => {
  it('writes one services row per host and binary, counting reports', async () => {
    const s = await setup();
    await s.clock.advance(35);
    const rows = await s.store.listServices();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      host: 'ctl-1',
      binary: 'tacker-conductor',
      topic: 'TACKER_CONDUCTOR',
      reportCount: 3,
      disabled: false,
    });
    expect(rows[0]?.updatedAt?.toISOString()).toBe(new Date(T0 + 30_000).toISOString());
  });
});
