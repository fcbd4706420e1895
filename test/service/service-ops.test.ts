import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getAdminContext, VirtualClock } from '../../src/core/index.js';
import {
  getRpcTransport,
  NoSuchMethod,
  RpcClient,
  type RpcDispatchEvent,
  type Transport,
} from '../../src/messaging/index.js';
import { periodicTask, type TaskRunEvent } from '../../src/periodic/index.js';
import {
  type HealthCheck,
  Manager,
  Service,
  type ServiceOptions,
} from '../../src/service/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

const ctx = getAdminContext();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function memoryTransport(clock: VirtualClock): Promise<Transport> {
  const t = await getRpcTransport({ transportUrl: `memory://${randomUUID()}`, clock });
  cleanups.push(() => t.close());
  return t;
}

class Ops extends Manager {
  failReports = false;
  @periodicTask({ spacing: 10 })
  tick(): void {}
  @periodicTask({ spacing: 30, runImmediately: true })
  sweep(): void {
    throw new Error('sweep failed');
  }
  override reportState(): void {
    if (this.failReports) throw new Error('database down');
  }
  override healthChecks(): HealthCheck[] {
    return [{ name: 'database', check: () => undefined }];
  }
  hello(): string {
    return 'hi';
  }
}

async function makeService(clock: VirtualClock, extra: Partial<ServiceOptions> = {}) {
  const transport = await memoryTransport(clock);
  const { logger, lines } = captureLogs();
  const service = await Service.create({
    topic: 'T',
    manager: Ops,
    host: 'h',
    transport,
    clock,
    logger,
    periodicFuzzyDelay: 0,
    reportInterval: 10,
    managerOptions: { random: () => 0 },
    ...extra,
  });
  cleanups.push(() => service.kill());
  return { service, transport, lines };
}

describe('Service hooks for the ops endpoint', () => {
  it('exposes its clock and the time of the last successful report', async () => {
    const clock = new VirtualClock(0);
    const { service, lines } = await makeService(clock);
    expect(service.clock).toBe(clock);
    await service.start();
    expect(service.lastReportAt).toBeUndefined();
    await clock.advance(25);
    expect(service.lastReportAt).toBe(20);
    (service.manager as Ops).failReports = true;
    await clock.advance(10);
    expect(service.lastReportAt).toBe(20); // a failed report does not count
    expect(lines.some((l) => l.level === LEVEL.error && l.err?.message === 'database down')).toBe(
      true,
    );
  });

  it('tasks(): last run and next due in clock seconds, from the exact schedule while it runs', async () => {
    const clock = new VirtualClock(0);
    const { service } = await makeService(clock, { periodicMode: 'exact' });
    // Before start: tick counts from construction, sweep is due at once.
    expect(service.tasks()).toEqual([
      {
        name: 'tick',
        spacing: 10,
        lastRun: 0,
        nextDue: 10,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
      },
      {
        name: 'sweep',
        spacing: 30,
        lastRun: null,
        nextDue: null,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
      },
    ]);
    await service.start();
    await clock.advance(15);
    expect(service.tasks()).toEqual([
      {
        name: 'tick',
        spacing: 10,
        lastRun: 10,
        nextDue: 20,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
      },
      {
        name: 'sweep',
        spacing: 30,
        lastRun: 0,
        nextDue: 30,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
      },
    ]);
  });

  it('tasks() in the fixed mode: next due is lastRun + spacing', async () => {
    const clock = new VirtualClock(0);
    const { service } = await makeService(clock, { periodicMode: 'fixed', periodicInterval: 5 });
    await service.start();
    await clock.advance(12);
    expect(service.tasks()).toEqual([
      {
        name: 'tick',
        spacing: 10,
        lastRun: 10,
        nextDue: 20,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
      },
      {
        name: 'sweep',
        spacing: 30,
        lastRun: 0,
        nextDue: 30,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
      },
    ]);
  });

  it('healthChecks(): transport (connected or not) and the manager checks', async () => {
    const clock = new VirtualClock(0);
    const { service, transport } = await makeService(clock);
    const run = () =>
      service.healthChecks().map((c) => {
        try {
          c.check();
          return [c.name, 'ok'];
        } catch (err) {
          return [c.name, (err as Error).message];
        }
      });
    expect(run()).toEqual([
      ['transport', 'not connected'],
      ['coordination', 'not started'],
      ['database', 'ok'],
    ]);
    await service.start();
    expect(run()).toEqual([
      ['transport', 'ok'],
      ['coordination', 'ok'],
      ['database', 'ok'],
    ]);
    await transport.close();
    expect(run()[0]).toEqual(['transport', 'not connected']);
  });

  it('forwards onTaskRun (after managerOptions.onTaskRun) and onRpc', async () => {
    const clock = new VirtualClock(0);
    const runs: string[] = [];
    const rpcs: RpcDispatchEvent[] = [];
    const { service, transport } = await makeService(clock, {
      managerOptions: {
        random: () => 0,
        onTaskRun: (e: TaskRunEvent) => runs.push(`manager ${e.name}`),
      },
      onTaskRun: (e) => runs.push(`service ${e.name}${'error' in e ? ' failed' : ''}`),
      onRpc: (e) => rpcs.push(e),
    });
    await service.start();
    await clock.advance(10);
    expect(runs).toEqual(['manager sweep', 'service sweep failed', 'manager tick', 'service tick']);
    expect(await new RpcClient(transport, { topic: 'T' }).call(ctx, 'hello')).toBe('hi');
    await vi.waitFor(() => expect(rpcs).toHaveLength(1));
    expect(rpcs[0]).toMatchObject({ method: 'hello', outcome: 'ok', isCall: true });
  });

  it('the manager hook healthChecks is never callable over RPC, even where overridden', async () => {
    const clock = new VirtualClock(0);
    const { service, transport } = await makeService(clock);
    await service.start();
    const client = new RpcClient(transport, { topic: 'T' });
    expect(await client.call(ctx, 'hello')).toBe('hi');
    await expect(client.call(ctx, 'healthChecks')).rejects.toBeInstanceOf(NoSuchMethod);
    await expect(client.prepare({ server: 'h' }).call(ctx, 'healthChecks')).rejects.toBeInstanceOf(
      NoSuchMethod,
    );
  });
});
