import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { getAdminContext, type RequestContext, VirtualClock } from '../../src/core/index.js';
import {
  getRpcTransport,
  NoSuchMethod,
  RpcClient,
  type Transport,
} from '../../src/messaging/index.js';
import { periodicTask } from '../../src/periodic/index.js';
import { Manager } from '../../src/service/manager.js';
import { Service } from '../../src/service/service.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

const ctx = getAdminContext();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function memoryTransport(clock: VirtualClock): Promise<Transport> {
  const t = await getRpcTransport({
    transportUrl: `memory://${randomUUID()}`,
    controlExchange: 'tacker',
    clock,
  });
  cleanups.push(() => t.close());
  return t;
}

const events: string[] = [];

class RecordingManager extends Manager {
  override initHost(): void {
    events.push('initHost');
  }
  override initializeServiceHook(): void {
    events.push('initializeServiceHook');
  }
  override afterStart(): void {
    events.push('afterStart');
  }
  override reportState(): void {
    events.push(`report@${this.clockNow()}`);
  }
  clockNow(): number {
    return (this as unknown as { _clock: VirtualClock })._clock.now();
  }
  @periodicTask({ spacing: 10 })
  tick(): void {
    events.push(`tick@${this.clockNow()}`);
  }
  hello(_c: RequestContext, args: { name: string }): string {
    return `hello ${args.name}`;
  }
}

async function makeService(
  clock: VirtualClock,
  extra: Partial<Parameters<typeof Service.create>[0]> = {},
) {
  events.length = 0;
  const transport = await memoryTransport(clock);
  const service = await Service.create({
    topic: 'TACKER_CONDUCTOR',
    manager: RecordingManager,
    host: 'host-a',
    transport,
    clock,
    random: () => 0.5,
    reportInterval: 10,
    periodicFuzzyDelay: 4,
    logger: captureLogs().logger,
    managerOptions: { random: () => 0 },
    ...extra,
  });
  (service.manager as unknown as { _clock: VirtualClock })._clock = clock;
  cleanups.push(() => service.kill());
  return { service, transport };
}

describe('Service', () => {
  it('starts in the original order and serves the manager over RPC on topic and topic.host', async () => {
    const clock = new VirtualClock(0);
    const { service, transport } = await makeService(clock);
    await service.start();
    expect(events).toEqual(['initHost', 'initializeServiceHook', 'afterStart']);
    const client = new RpcClient(transport, { topic: 'TACKER_CONDUCTOR', version: '1.0' });
    expect(await client.call(ctx, 'hello', { name: 'a' })).toBe('hello a');
    expect(await client.prepare({ server: 'host-a' }).call(ctx, 'hello', { name: 'b' })).toBe(
      'hello b',
    );
    // Framework methods and hook overrides are not reachable.
    for (const m of [
      'initHost',
      'afterStart',
      'reportState',
      'periodicTasks',
      'runPeriodicTasks',
      'addPeriodicTask',
      'reset',
      'clockNow_',
    ]) {
      await expect(client.call(ctx, m), m).rejects.toBeInstanceOf(NoSuchMethod);
    }
  });

  it('reports every reportInterval starting one interval after start, and runs tasks after the fuzzy delay (exact mode)', async () => {
    const clock = new VirtualClock(0);
    const { service } = await makeService(clock);
    await service.start();
    events.length = 0;
    await clock.advance(30);
    // random 0.5 → initial delay floor(0.5 · 5) = 2 s; the task's first due is 10 s after construction.
    expect(events).toEqual([
      'report@10',
      'tick@10',
      'report@20',
      'tick@20',
      'report@30',
      'tick@30',
    ]);
  });

  it('fixed mode reproduces the original tick (40 s, spacing 60 → 40/80)', async () => {
    const clock = new VirtualClock(0);
    class Sixty extends Manager {
      readonly runs: number[] = [];
      @periodicTask
      t(): void {
        this.runs.push(clock.now());
      }
    }
    const transport = await memoryTransport(clock);
    const service = await Service.create({
      topic: 'T',
      manager: Sixty,
      transport,
      clock,
      periodicMode: 'fixed',
      periodicFuzzyDelay: 0,
      reportInterval: 0,
      random: () => 0,
      managerOptions: { random: () => 0 },
    });
    cleanups.push(() => service.kill());
    await service.start();
    await clock.advance(600);
    const runs = (service.manager as Sixty).runs;
    const gaps = new Set(runs.slice(1).map((r, i) => r - (runs[i] as number)));
    expect(gaps).toEqual(new Set([40, 80]));
  });

  it('dynamic mode follows idle_for, capped by periodicIntervalMax', async () => {
    const clock = new VirtualClock(0);
    class Thirty extends Manager {
      readonly runs: number[] = [];
      @periodicTask({ spacing: 30 })
      t(): void {
        this.runs.push(clock.now());
      }
    }
    const transport = await memoryTransport(clock);
    const service = await Service.create({
      topic: 'T',
      manager: Thirty,
      transport,
      clock,
      periodicMode: 'dynamic',
      periodicFuzzyDelay: 0,
      reportInterval: 0,
      managerOptions: { random: () => 0 },
    });
    cleanups.push(() => service.kill());
    await service.start();
    await clock.advance(120);
    expect((service.manager as Thirty).runs).toEqual([30, 60, 90, 120]);
  });

  it('an exception escaping a periodic run never kills the periodic timer (fixed mode)', async () => {
    const clock = new VirtualClock(0);
    let calls = 0;
    class Broken extends Manager {
      override async periodicTasks(): Promise<void> {
        calls++;
        throw new Error('escaped');
      }
    }
    const transport = await memoryTransport(clock);
    const { logger, lines } = captureLogs();
    const service = await Service.create({
      topic: 'T',
      manager: Broken,
      transport,
      clock,
      periodicMode: 'fixed',
      periodicInterval: 40,
      periodicFuzzyDelay: 0,
      reportInterval: 0,
      logger,
    });
    cleanups.push(() => service.kill());
    await service.start();
    await clock.advance(200);
    expect(calls).toBe(6);
    expect(lines.filter((l) => l.level === LEVEL.error).length).toBe(6);
  });

  it('stop() lets an in-flight call reply and a running periodic task finish, then wait() resolves', async () => {
    const clock = new VirtualClock(0);
    const finished: string[] = [];
    class Busy extends Manager {
      @periodicTask({ spacing: 10 })
      async long(): Promise<void> {
        await clock.sleep(30);
        finished.push('task');
      }
      async slowCall(): Promise<string> {
        await clock.sleep(20);
        finished.push('call');
        return 'replied';
      }
    }
    const transport = await memoryTransport(clock);
    const service = await Service.create({
      topic: 'T',
      manager: Busy,
      transport,
      clock,
      periodicFuzzyDelay: 0,
      reportInterval: 0,
    });
    await service.start();
    await clock.advance(12); // the task runs 10..40
    const call = new RpcClient(transport, { topic: 'T' }, { timeout: 60 }).call(ctx, 'slowCall');
    await clock.advance(1); // the call runs 13..33
    let stopped = false;
    const stopping = service.stop().then(() => (stopped = true));
    await clock.advance(25);
    expect(stopped).toBe(false);
    expect(await call).toBe('replied');
    await clock.advance(10);
    await stopping;
    await service.wait();
    expect(finished).toEqual(['call', 'task']);
    expect(service.state).toBe('stopped');
  });

  it('kill() stops at once; the service can be started again after stop()', async () => {
    const clock = new VirtualClock(0);
    const { service, transport } = await makeService(clock);
    await service.start();
    await service.stop();
    await service.start();
    const client = new RpcClient(transport, { topic: 'TACKER_CONDUCTOR' });
    expect(await client.call(ctx, 'hello', { name: 'again' })).toBe('hello again');
    await service.kill();
    expect(service.state).toBe('stopped');
  });

  it('a failing start leaves nothing running and rejects', async () => {
    const clock = new VirtualClock(0);
    class BadInit extends Manager {
      override initHost(): void {
        throw new Error('no database');
      }
    }
    const transport = await memoryTransport(clock);
    const service = await Service.create({ topic: 'T', manager: BadInit, transport, clock });
    await expect(service.start()).rejects.toThrow('no database');
    expect(service.state).toBe('stopped');
  });

  it('validates its options and the manager class', async () => {
    await expect(Service.create({ topic: '', manager: Manager })).rejects.toThrow(/topic/);
    await expect(
      Service.create({ topic: 'T', manager: Manager, reportInterval: -1 }),
    ).rejects.toThrow(/reportInterval/);
    await expect(
      Service.create({ topic: 'T', manager: Manager, periodicMode: 'fast' as never }),
    ).rejects.toThrow(/periodicMode/);
    class NotAManager {}
    await expect(Service.create({ topic: 'T', manager: NotAManager as never })).rejects.toThrow(
      /is not a Manager/,
    );
  });
});
