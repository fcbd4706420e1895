/**
 * runService(): the composition root an embedder calls — a manager and a loaded configuration in,
 * a Service with its ops endpoint under a launcher, and the exit status out.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { get } from 'node:http';
import { describe, expect, it } from 'vitest';
import { defineOptions, opt } from '../../src/config/index.js';
import { getAdminContext, NotAManagerError, type RequestContext } from '../../src/core/index.js';
import { getRpcTransport, RpcClient } from '../../src/messaging/index.js';
import { runnerConfig, runnerOptions, runService } from '../../src/runner/index.js';
import { periodicTask } from '../../src/periodic/index.js';
import { Manager, type SignalTarget } from '../../src/service/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const greeting = defineOptions({
  group: 'greeter',
  label: 'greeter option',
  options: { word: opt.string({ default: 'hello', help: 'What to say.' }) },
});

/** A manager with an option of its own and one RPC method. */
class Greeter extends Manager {
  static override readonly configOptions = [greeting];
  static word = '';

  greet(_ctx: RequestContext, args: { who: string }): string {
    return `${Greeter.word} ${args.who}`;
  }
}

/** A task whose run never ends: it times out at once and its next slots are skipped (overlap). */
class Stuck extends Manager {
  @periodicTask({ spacing: 0.05, runImmediately: true, timeout: 0.01, overlap: 'skip' })
  stuck(): Promise<void> {
    return new Promise<void>(() => undefined);
  }
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('runnerOptions() and runnerConfig()', () => {
  it('compose the service process’s options, the ops endpoint’s and the manager’s, in order', () => {
    const groups = runnerOptions(Greeter).flatMap((s) =>
      Array.isArray(s)
        ? s.map((x: { group: string }) => x.group)
        : [(s as { group: string }).group],
    );
    expect(groups).toEqual([
      'DEFAULT',
      'DEFAULT',
      'DEFAULT',
      'oslo_messaging_rabbit',
      'coordination',
      'ops',
      'greeter',
    ]);
    const conf = runnerConfig(Greeter, {
      logger: captureLogs().logger,
      defaults: [{ section: 'DEFAULT', name: 'control_exchange', value: 'greetings' }],
    });
    expect(conf.get('greeter', 'word')).toBe('hello');
    expect(conf.getDefault('control_exchange')).toBe('greetings');
    expect(conf.has('vim_monitor', 'interval')).toBe(false);
    expect([
      conf.get('ops', 'stall_threshold'),
      conf.get('ops', 'stall_degraded_after'),
      conf.get('ops', 'stall_window'),
    ]).toEqual([0.5, 3, 60]);
  });
});

describe('runService()', () => {
  it('serves the manager, its /healthz and /tasks, until SIGTERM; then resolves 0', async () => {
    const logs = captureLogs();
    const bus = `memory://runner-${randomUUID()}`;
    const conf = runnerConfig(Greeter, { logger: logs.logger });
    await conf.load({
      env: {},
      cli: {
        transport_url: bus,
        'greeter.word': 'bonjour',
        report_interval: '0',
        periodic_fuzzy_delay: '0',
        'ops.listen': '127.0.0.1:0',
      },
    });
    Greeter.word = conf.get<string>('greeter', 'word');
    const signals = new EventEmitter() as EventEmitter & SignalTarget;
    const exits: number[] = [];
    const done = runService({
      manager: Greeter,
      topic: 'RUNNER',
      conf,
      logger: logs.logger,
      exit: (code) => void exits.push(code),
      signalTarget: signals,
    });
    const until = async (msg: string): Promise<void> => {
      for (let i = 0; i < 200 && !logs.lines.some((l) => l.msg === msg); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(logs.messages()).toContain(msg);
    };
    await until('Service started');
    const starting = logs.lines.find((l) => l.msg === 'conductor run: starting');
    expect(starting).toMatchObject({ manager: 'Greeter', topic: 'RUNNER', workers: 1 });

    const transport = await getRpcTransport({ transportUrl: bus, logger: logs.logger });
    try {
      const client = new RpcClient(transport, { topic: 'RUNNER' }, { timeout: 5 });
      expect(await client.call(getAdminContext(), 'greet', { who: 'runner' })).toBe(
        'bonjour runner',
      );
    } finally {
      await transport.close();
    }

    const listening = logs.lines.find((l) => l.msg?.startsWith('Ops endpoint listening'));
    const port = Number(String(listening?.['address']).split(':').at(-1));
    expect((await httpGet(port, '/healthz')).status).toBe(200);
    expect(JSON.parse((await httpGet(port, '/tasks')).body)).toEqual([]);

    signals.emit('SIGTERM');
    expect(await done).toBe(0);
    await expect(httpGet(port, '/healthz')).rejects.toThrow();
  });

  it('gives the service the metrics’ observers: runs, timeouts and overlap skips reach /metrics', async () => {
    const logs = captureLogs();
    const conf = runnerConfig(Stuck, { logger: logs.logger });
    await conf.load({
      env: {},
      cli: {
        transport_url: `memory://runner-${randomUUID()}`,
        report_interval: '0',
        periodic_fuzzy_delay: '0',
        'ops.listen': '127.0.0.1:0',
      },
    });
    const signals = new EventEmitter() as EventEmitter & SignalTarget;
    const done = runService({
      manager: Stuck,
      topic: 'RUNNER_STUCK',
      conf,
      logger: logs.logger,
      exit: () => undefined,
      signalTarget: signals,
    });
    try {
      let port = 0;
      let text = '';
      const count = (series: string): number =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${series} `))
            ?.split(' ')[1] ?? 0,
        );
      // Polls until the scheduler has got that far (real time; the verdict is what /metrics says).
      for (let i = 0; i < 300 && count('conductor_task_skipped_total{task="stuck"}') < 1; i++) {
        await new Promise((r) => setTimeout(r, 10));
        const listening = logs.lines.find((l) => l.msg?.startsWith('Ops endpoint listening'));
        if (!listening) continue;
        port ||= Number(String(listening['address']).split(':').at(-1));
        text = (await httpGet(port, '/metrics')).body;
      }
      expect(count('conductor_task_timeouts_total{task="stuck"}')).toBeGreaterThanOrEqual(1);
      expect(count('conductor_task_skipped_total{task="stuck"}')).toBeGreaterThanOrEqual(1);
      const tasks = JSON.parse((await httpGet(port, '/tasks')).body) as Array<
        Record<string, unknown>
      >;
      expect(tasks[0]).toMatchObject({ name: 'stuck', timeout: 0.01, outcome: 'timeout' });
      expect(tasks[0]?.['skipped']).toBeGreaterThanOrEqual(1);
    } finally {
      signals.emit('SIGTERM');
      expect(await done).toBe(0);
    }
  });

  it('refuses a class that is not a manager, naming it as the caller does', async () => {
    const conf = runnerConfig(undefined, { logger: captureLogs().logger });
    class NotOne {}
    await expect(
      runService({ manager: NotOne as never, managerName: './x.js#NotOne', topic: 'T', conf }),
    ).rejects.toThrow(new NotAManagerError('./x.js#NotOne'));
  });
});
