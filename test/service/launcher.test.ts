import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionError, VirtualClock } from '../../src/core/index.js';
import {
  EXIT_SIGINT,
  isWorkerProcess,
  launch,
  type LauncherConf,
  ProcessLauncher,
  ServiceLauncher,
  type ServiceLauncherOptions,
  workerIndex,
} from '../../src/service/launcher.js';
import type { ServiceBase } from '../../src/service/service-base.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

/** A promise resolved from outside. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

class FakeService implements ServiceBase {
  readonly calls: string[] = [];
  startImpl: () => Promise<void> = async () => undefined;
  stopImpl: () => Promise<void> = async () => undefined;
  async start(): Promise<void> {
    this.calls.push('start');
    await this.startImpl();
  }
  async stop(): Promise<void> {
    this.calls.push('stop');
    await this.stopImpl();
  }
  async wait(): Promise<void> {
    this.calls.push('wait');
  }
  reset(): void {
    this.calls.push('reset');
  }
  kill(): void {
    this.calls.push('kill');
  }
}

class FakeConf implements LauncherConf {
  values: Record<string, unknown> = {};
  reloads = 0;
  reloadImpl: () => Promise<void> = async () => undefined;
  getDefault(name: string): unknown {
    return this.values[name];
  }
  async reload(): Promise<void> {
    this.reloads++;
    await this.reloadImpl();
  }
}

const running: ServiceLauncher[] = [];

/** A ServiceLauncher on a fake signal target with captured logs and an injected exit. */
function setup(
  options: ServiceLauncherOptions & { conf?: LauncherConf; service?: FakeService } = {},
) {
  const service = options.service ?? new FakeService();
  const signals = new EventEmitter();
  const exit = vi.fn<(code: number) => void>();
  const logs = captureLogs();
  const launcher = new ServiceLauncher(options.conf, service, {
    logger: logs.logger,
    exit,
    signalTarget: signals,
    ...options,
  });
  running.push(launcher);
  return { service, signals, exit, logs, launcher };
}

const started = (service: FakeService, times = 1): Promise<void> =>
  vi.waitFor(() => expect(service.calls.filter((c) => c === 'start')).toHaveLength(times));

/** Resolves with the status if `p` settles within a few event-loop turns, else 'pending'. */
async function peek<T>(p: Promise<T>): Promise<T | 'pending'> {
  let value: T | 'pending' = 'pending';
  void p.then((v) => (value = v));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return value;
}

afterEach(async () => {
  // Release whatever a failed test left running (timers, listeners).
  for (const l of running.splice(0)) {
    void l.stop();
  }
});

describe('launch() options', () => {
  const service = new FakeService();

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2' as unknown as number])(
    'rejects workers=%s with "Number of workers should be positive!"',
    (workers) => {
      const call = () => launch(undefined, service, { workers, signals: false });
      expect(call).toThrow(InvalidOptionError);
      expect(call).toThrow('Number of workers should be positive!');
    },
  );

  it('rejects a negative or non-finite gracefulShutdownTimeout', () => {
    for (const t of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => launch(undefined, service, { gracefulShutdownTimeout: t })).toThrow(
        InvalidOptionError,
      );
    }
  });

  it('rejects something that is not a ServiceBase', () => {
    expect(() => launch(undefined, {} as ServiceBase)).toThrow(
      'Service must implement ServiceBase',
    );
  });

  it('requires a factory for workers > 1 (the primary must not create the service)', () => {
    const call = () => launch(undefined, service, { workers: 2, signals: false });
    expect(call).toThrow(InvalidOptionError);
    expect(call).toThrow(/factory is required/);
  });

  it('ProcessLauncher validates its arguments before forking anything', () => {
    expect(() => new ProcessLauncher(undefined, () => service, 0)).toThrow(
      'Number of workers should be positive!',
    );
    expect(
      () => new ProcessLauncher(undefined, service as unknown as () => ServiceBase, 2),
    ).toThrow(/factory is required/);
  });

  it('workers=1 (the default) gives a ServiceLauncher; this process is not a worker', async () => {
    const logs = captureLogs();
    const launcher = launch(undefined, new FakeService(), { signals: false, logger: logs.logger });
    expect(launcher).toBeInstanceOf(ServiceLauncher);
    expect(await launcher.stop()).toBe(0);
    expect(isWorkerProcess()).toBe(false);
    expect(workerIndex()).toBeUndefined();
  });
});

describe('ServiceLauncher', () => {
  it('starts the service; stop() stops and waits for it and resolves 0', async () => {
    const { service, launcher, exit, logs } = setup();
    await started(service);
    expect(await launcher.stop()).toBe(0);
    expect(await launcher.wait()).toBe(0);
    expect(service.calls).toEqual(['start', 'stop', 'wait']);
    expect(exit).not.toHaveBeenCalled();
    expect(logs.messages(LEVEL.info)).toContain('Service started');
  });

  it('accepts a factory, sync or async', async () => {
    const svc = new FakeService();
    const a = setup({ service: svc });
    await started(svc);
    await a.launcher.stop();
    const logs = captureLogs();
    const svc2 = new FakeService();
    const b = new ServiceLauncher(undefined, async () => svc2, {
      signals: false,
      logger: logs.logger,
    });
    await started(svc2);
    expect(await b.stop()).toBe(0);
  });

  it('SIGTERM stops gracefully with status 0 and removes its signal handlers', async () => {
    const { service, signals, launcher, logs } = setup();
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    expect(signals.listenerCount('SIGINT')).toBe(1);
    expect(signals.listenerCount('SIGHUP')).toBe(1);
    await started(service);
    signals.emit('SIGTERM');
    expect(await launcher.wait()).toBe(0);
    expect(service.calls).toEqual(['start', 'stop', 'wait']);
    expect(logs.messages(LEVEL.info)).toContain('Caught SIGTERM, stopping gracefully');
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) expect(signals.listenerCount(sig)).toBe(0);
  });

  it('installs its handlers on process by default and removes them when done', async () => {
    const before = process.listenerCount('SIGTERM');
    const service = new FakeService();
    const logs = captureLogs();
    const launcher = new ServiceLauncher(undefined, service, {
      logger: logs.logger,
      exit: vi.fn(),
    });
    running.push(launcher);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    await started(service);
    // Call our own listener rather than emitting on process (other listeners may exist).
    const ours = process.listeners('SIGTERM').at(-1) as (sig: NodeJS.Signals) => void;
    ours('SIGTERM');
    expect(await launcher.wait()).toBe(0);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('signals: false installs no handler', async () => {
    const { signals, launcher } = setup({ signals: false });
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    await launcher.stop();
  });

  it('a failed start logs "Error starting service" and resolves 1 (not 0 as in oslo)', async () => {
    const service = new FakeService();
    service.startImpl = () => Promise.reject(new Error('no database'));
    const { launcher, logs, exit, signals } = setup({ service });
    expect(await launcher.wait()).toBe(1);
    const line = logs.lines.find((l) => l.msg === 'Error starting service');
    expect(line?.level).toBe(LEVEL.error);
    expect(line?.err?.message).toBe('no database');
    // What may have been started is stopped.
    expect(service.calls).toEqual(['start', 'stop', 'wait']);
    expect(exit).not.toHaveBeenCalled();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('a factory that throws or returns a non-service resolves 1', async () => {
    for (const factory of [
      () => {
        throw new Error('cannot build');
      },
      () => ({}) as ServiceBase,
    ]) {
      const logs = captureLogs();
      const launcher = new ServiceLauncher(undefined, factory, {
        signals: false,
        logger: logs.logger,
      });
      expect(await launcher.wait()).toBe(1);
      expect(logs.messages(LEVEL.error)).toContain('Error starting service');
    }
  });

  it('a shutdown that overruns the timeout logs, kills the service and exits 1', async () => {
    const clock = new VirtualClock();
    const service = new FakeService();
    service.stopImpl = () => new Promise(() => undefined); // never finishes
    const { signals, launcher, logs, exit } = setup({
      service,
      clock,
      gracefulShutdownTimeout: 5,
    });
    await started(service);
    signals.emit('SIGTERM');
    await clock.advance(4.9);
    expect(await peek(launcher.wait())).toBe('pending');
    await clock.advance(0.1);
    expect(await launcher.wait()).toBe(1);
    expect(logs.messages(LEVEL.error)).toContain(
      'Graceful shutdown timeout exceeded, instantaneous exiting',
    );
    expect(service.calls).toContain('kill');
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
  });

  it('reads graceful_shutdown_timeout from the configuration when not given', async () => {
    const clock = new VirtualClock();
    const conf = new FakeConf();
    conf.values['graceful_shutdown_timeout'] = 2;
    const service = new FakeService();
    service.stopImpl = () => new Promise(() => undefined);
    const { signals, launcher } = setup({ service, clock, conf });
    await started(service);
    signals.emit('SIGTERM');
    await clock.advance(1.9);
    expect(await peek(launcher.wait())).toBe('pending');
    await clock.advance(0.1);
    expect(await launcher.wait()).toBe(1);
  });

  it('the default timeout is 60 s; 0 waits forever', async () => {
    for (const [timeout, expected] of [
      [undefined, 1],
      [0, 'pending'],
    ] as const) {
      const clock = new VirtualClock();
      const service = new FakeService();
      const stopGate = gate();
      service.stopImpl = () => stopGate.promise;
      const { signals, launcher } = setup({ service, clock, gracefulShutdownTimeout: timeout });
      await started(service);
      signals.emit('SIGTERM');
      await clock.advance(59.9);
      expect(await peek(launcher.wait())).toBe('pending');
      await clock.advance(10_000);
      expect(await peek(launcher.wait())).toBe(expected);
      stopGate.open();
      expect(await launcher.wait()).toBe(expected === 'pending' ? 0 : 1);
    }
  });

  it('an error from stop() is logged and gives status 1', async () => {
    const service = new FakeService();
    service.stopImpl = () => Promise.reject(new Error('stuck broker'));
    const { signals, launcher, logs } = setup({ service });
    await started(service);
    signals.emit('SIGTERM');
    expect(await launcher.wait()).toBe(1);
    expect(logs.messages(LEVEL.error)).toContain('Error stopping service');
  });

  it('a second SIGTERM during the shutdown is ignored', async () => {
    const service = new FakeService();
    const stopGate = gate();
    service.stopImpl = () => stopGate.promise;
    const { signals, launcher, exit } = setup({ service });
    await started(service);
    signals.emit('SIGTERM');
    signals.emit('SIGTERM');
    expect(await peek(launcher.wait())).toBe('pending');
    stopGate.open();
    expect(await launcher.wait()).toBe(0);
    expect(service.calls).toEqual(['start', 'stop', 'wait']);
    expect(exit).not.toHaveBeenCalled();
  });

  it('SIGINT stops gracefully (unlike oslo) with status 0', async () => {
    const { service, signals, launcher, logs } = setup();
    await started(service);
    signals.emit('SIGINT');
    expect(await launcher.wait()).toBe(0);
    expect(service.calls).toEqual(['start', 'stop', 'wait']);
    expect(logs.messages(LEVEL.info)).toContain(
      'Caught SIGINT, stopping gracefully (send SIGINT again to exit at once)',
    );
  });

  it('a second SIGINT during the shutdown kills the service and exits 130 at once', async () => {
    const service = new FakeService();
    service.stopImpl = () => new Promise(() => undefined);
    const { signals, launcher, exit, logs } = setup({ service });
    await started(service);
    signals.emit('SIGINT');
    await vi.waitFor(() => expect(service.calls).toContain('stop'));
    signals.emit('SIGINT');
    expect(await launcher.wait()).toBe(EXIT_SIGINT);
    expect(service.calls).toEqual(['start', 'stop', 'kill']);
    expect(logs.messages(LEVEL.warn)).toContain('Caught SIGINT again, instantaneous exiting');
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(130));
  });

  it('SIGTERM during a start still waiting (for a broker) abandons it: killed, status 0', async () => {
    // It used to wait for the start, up to graceful_shutdown_timeout, then exit 1.
    const service = new FakeService();
    let abort!: (err: Error) => void;
    service.startImpl = () => new Promise<void>((_resolve, reject) => (abort = reject));
    service.kill = () => {
      service.calls.push('kill');
      abort(new Error('Transport is closed'));
    };
    const clock = new VirtualClock();
    const { signals, launcher, logs } = setup({ service, clock });
    await started(service);
    signals.emit('SIGTERM');
    // A start about to end gets a second to do so (then the stop is the graceful one).
    await clock.advance(0.9);
    expect(await peek(launcher.wait())).toBe('pending');
    await clock.advance(0.1);
    expect(await launcher.wait()).toBe(0);
    // Nothing ran, so there is nothing to stop gracefully.
    expect(service.calls).toEqual(['start', 'kill']);
    expect(logs.messages(LEVEL.info)).toContain(
      'The service is still starting: its start is abandoned',
    );
    expect(logs.messages(LEVEL.error)).not.toContain('Error starting service');
  });

  it('SIGTERM during a slow start that ends within a second: the start ends, then a graceful stop', async () => {
    const service = new FakeService();
    const startGate = gate();
    service.startImpl = () => startGate.promise;
    const clock = new VirtualClock();
    const { signals, launcher } = setup({ service, clock });
    await started(service);
    signals.emit('SIGTERM');
    await clock.advance(0.5);
    expect(await peek(launcher.wait())).toBe('pending');
    startGate.open();
    expect(await launcher.wait()).toBe(0);
    expect(service.calls).toEqual(['start', 'stop', 'wait']);
  });

  it('a start that fails by itself while a stop waits for it is still an error: status 1', async () => {
    const service = new FakeService();
    let fail!: (err: Error) => void;
    service.startImpl = () => new Promise<void>((_resolve, reject) => (fail = reject));
    const clock = new VirtualClock();
    const { signals, launcher, logs } = setup({ service, clock });
    await started(service);
    signals.emit('SIGTERM');
    await clock.advance(0.5); // within the second a start gets to end
    fail(new Error('broker refused'));
    expect(await launcher.wait()).toBe(1);
    expect(logs.messages(LEVEL.error)).toContain('Error starting service');
    expect(service.calls).not.toContain('kill');
  });

  it('a start that ignores the kill is waited for until the timeout, then status 1', async () => {
    const service = new FakeService();
    const startGate = gate();
    service.startImpl = () => startGate.promise;
    const clock = new VirtualClock();
    const { signals, launcher } = setup({ service, clock, gracefulShutdownTimeout: 5 });
    await started(service);
    signals.emit('SIGTERM');
    expect(await peek(launcher.wait())).toBe('pending');
    await clock.advance(1);
    expect(service.calls).toEqual(['start', 'kill']);
    await clock.advance(4);
    expect(await launcher.wait()).toBe(1);
  });

  it('SIGHUP reloads the configuration, then stop, wait, reset, start; it keeps running', async () => {
    const conf = new FakeConf();
    const { service, signals, launcher, logs } = setup({ conf });
    await started(service);
    signals.emit('SIGHUP');
    await started(service, 2);
    expect(conf.reloads).toBe(1);
    expect(service.calls).toEqual(['start', 'stop', 'wait', 'reset', 'start']);
    await vi.waitFor(() => expect(logs.messages(LEVEL.info)).toContain('Service restarted'));
    expect(await peek(launcher.wait())).toBe('pending');
    expect(signals.listenerCount('SIGHUP')).toBe(1);
    expect(await launcher.stop()).toBe(0);
    expect(service.calls.slice(5)).toEqual(['stop', 'wait']);
  });

  it('a reload error is logged; the service is restarted with the old configuration', async () => {
    const conf = new FakeConf();
    conf.reloadImpl = () => Promise.reject(new Error('bad ini'));
    const { service, signals, launcher, logs } = setup({ conf });
    await started(service);
    signals.emit('SIGHUP');
    await started(service, 2);
    const line = logs.lines.find((l) => l.msg.startsWith('Error reloading configuration'));
    expect(line?.err?.message).toBe('bad ini');
    expect(await launcher.stop()).toBe(0);
  });

  it('SIGHUPs that arrive before a restart begins coalesce into it', async () => {
    const conf = new FakeConf();
    const service = new FakeService();
    const startGate = gate();
    service.startImpl = () => startGate.promise;
    const { signals, launcher } = setup({ conf, service });
    signals.emit('SIGHUP');
    signals.emit('SIGHUP');
    signals.emit('SIGHUP');
    startGate.open();
    await started(service, 2);
    await vi.waitFor(() => expect(conf.reloads).toBe(1));
    expect(await launcher.stop()).toBe(0);
    expect(service.calls).toEqual(['start', 'stop', 'wait', 'reset', 'start', 'stop', 'wait']);
  });

  it('a start that fails after a restart resolves 1', async () => {
    const service = new FakeService();
    const { signals, launcher, logs } = setup({ service });
    await started(service);
    service.startImpl = () => Promise.reject(new Error('port in use'));
    signals.emit('SIGHUP');
    expect(await launcher.wait()).toBe(1);
    expect(logs.messages(LEVEL.error)).toContain('Error starting service');
  });

  it('SIGTERM during a restart lets the stop finish, skips the new start, and exits 0', async () => {
    const service = new FakeService();
    const { signals, launcher } = setup({ service });
    await started(service);
    const stopGate = gate();
    service.stopImpl = () => stopGate.promise;
    signals.emit('SIGHUP');
    await vi.waitFor(() => expect(service.calls).toContain('stop'));
    signals.emit('SIGTERM');
    signals.emit('SIGHUP'); // ignored while stopping
    stopGate.open();
    expect(await launcher.wait()).toBe(0);
    expect(service.calls).toEqual(['start', 'stop', 'wait']);
  });

  it('restart() works without a configuration object', async () => {
    const { service, launcher } = setup();
    await started(service);
    await launcher.restart();
    expect(service.calls).toEqual(['start', 'stop', 'wait', 'reset', 'start']);
    expect(await launcher.stop()).toBe(0);
    await launcher.restart(); // after the end: nothing
    expect(service.calls).toHaveLength(7);
  });

  it('exitWhenDone (worker mode) calls exit with the final status', async () => {
    const { service, launcher, exit } = setup({ exitWhenDone: true });
    await started(service);
    expect(await launcher.stop()).toBe(0);
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
  });
});
