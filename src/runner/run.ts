import { type ConfigOpts, maskUrlPassword } from '../config/index.js';
import { type Logger, rootLogger } from '../core/index.js';
import { rpcTransportOptions } from '../messaging/index.js';
import { createServiceMetrics, OpsServer, opsOptions, parseListen } from '../ops/index.js';
import {
  assertManagerClass,
  isWorkerProcess,
  launch,
  type ManagerClass,
  ReloadableService,
  Service,
  type ServiceBase,
  serviceOptionsFromConfig,
  type SignalTarget,
} from '../service/index.js';

/** Options of {@link runService}. */
export interface RunServiceOptions {
  /** The manager class (see `importClass` for `module#Class` strings). */
  readonly manager: ManagerClass;
  /** RPC topic the service consumes. */
  readonly topic: string;
  /**
   * The configuration, loaded, with `runnerOptions(manager)` registered (see `runnerConfig`). It
   * is read again on every SIGHUP restart, so reloaded options take effect.
   */
  readonly conf: ConfigOpts;
  /** Worker processes; 1 (default) runs the service in this process. */
  readonly workers?: number;
  /** How the `starting` log line names the manager; default its class name. */
  readonly managerName?: string;
  /** Name of the program in logs and heartbeats. Default `conductor`. */
  readonly binary?: string;
  /**
   * The root of the loggers of the runner, its launcher and its ops endpoint (`module` `runner`,
   * `service.launcher`, `ops`). Default the root logger.
   */
  readonly logger?: Logger;
  /** Called for the exits a launcher cannot leave to its caller. Default `process.exit`. */
  readonly exit?: (code: number) => void;
  /** Where the launcher installs its signal handlers. Default `process`. */
  readonly signalTarget?: SignalTarget;
  /**
   * Called with the error of every start of the service that fails (the first, or one after a
   * SIGHUP), besides the launcher's `Error starting service` log line (`conductor run` prints it
   * on stderr).
   */
  readonly onStartError?: (err: unknown) => void;
}

/**
 * The composition root of a service process: builds the {@link Service} for `manager` from the
 * configuration, an ops endpoint (`[ops] listen`, one per process across SIGHUP restarts, with
 * the service's metrics) and a launcher (signals, workers, graceful drain), and resolves with the
 * exit status once the launcher has finished. `conductor run` is this with the command line's
 * configuration; an embedder calls it the same way:
 *
 * ```ts
 * const conf = runnerConfig(MyManager);
 * await conf.load({ configFiles: ['/etc/my/my.conf'] });
 * process.exitCode = await runService({ manager: MyManager, topic: 'MY_TOPIC', conf });
 * ```
 */
export async function runService(options: RunServiceOptions): Promise<number> {
  const { conf, topic } = options;
  const manager = assertManagerClass(options.manager, options.managerName);
  const root = options.logger ?? rootLogger();
  const log = root.child({ module: 'runner' });
  const binary = options.binary ?? 'conductor';
  const workers = options.workers ?? 1;
  const serviceOptions = () => serviceOptionsFromConfig(conf, topic, manager, binary);
  if (!isWorkerProcess()) logStart(options, log, serviceOptions(), workers);
  // One metrics registry and ops endpoint per process, across SIGHUP restarts; /healthz and
  // /tasks follow the service in use.
  const metrics = createServiceMetrics();
  const opsConf = opsOptions.read(conf);
  const listen = parseListen(opsConf.listen);
  let current: Service | undefined;
  let ops: OpsServer | undefined;
  const onStartError = options.onStartError;
  const failed = (err: unknown): never => {
    try {
      onStartError?.(err);
    } catch (hookErr) {
      log.error({ err: hookErr }, 'onStartError failed');
    }
    throw err;
  };
  // Rebuilt from the configuration on every SIGHUP restart, so reloaded options take effect.
  const build = () =>
    ReloadableService.create(async () => {
      current = await Service.create({
        ...serviceOptions(),
        onTaskRun: metrics.onTaskRun,
        onTaskSkip: metrics.onTaskSkip,
        onRpc: metrics.onRpc,
      });
      if (listen && !ops) {
        ops = new OpsServer({
          listen,
          service: () => current,
          metrics,
          logger: root.child({ module: 'ops' }),
          stallThreshold: opsConf.stall_threshold,
          stallDegradedAfter: opsConf.stall_degraded_after,
          stallWindow: opsConf.stall_window,
          allowActions: opsConf.allow_actions,
        });
        await ops.start();
      }
      return current;
    });
  // The launcher only logs a failed start; the caller also hears of it.
  const factory = async (): Promise<ServiceBase> => {
    const service = await build().catch(failed);
    if (!onStartError) return service;
    // A start the launcher abandons for a stop (it kills the service) is no failure to report.
    let killed = false;
    return {
      start: () =>
        service.start().catch((err: unknown) => (killed ? Promise.reject(err) : failed(err))),
      stop: () => service.stop(),
      wait: () => service.wait(),
      reset: () => service.reset(),
      kill: () => {
        killed = true;
        return service.kill();
      },
    };
  };
  const launcher = launch(conf, factory, {
    workers,
    logger: root.child({ module: 'service.launcher' }),
    ...(options.exit ? { exit: options.exit } : {}),
    ...(options.signalTarget ? { signalTarget: options.signalTarget } : {}),
  });
  try {
    return await launcher.wait();
  } finally {
    await ops?.stop();
  }
}

function logStart(
  options: RunServiceOptions,
  log: Logger,
  service: ReturnType<typeof serviceOptionsFromConfig>,
  workers: number,
): void {
  const { conf } = options;
  const transport = rpcTransportOptions(conf);
  log.info(
    {
      manager: options.managerName ?? options.manager.name,
      topic: service.topic,
      host: service.host,
      workers,
      transportUrl: maskUrlPassword(transport.transportUrl),
      controlExchange: transport.controlExchange,
      periodicMode: service.periodicMode,
      reportInterval: service.reportInterval,
      periodicInterval: service.periodicInterval,
      configFiles: conf.configFiles,
    },
    `${options.binary ?? 'conductor'} run: starting`,
  );
  if (conf.getDefault<boolean>('log_options')) conf.logOptValues(log, 'debug');
}
