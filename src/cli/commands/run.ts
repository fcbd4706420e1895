import type { Command } from 'commander';
import {
  type ConfigOpts,
  maskUrlPassword,
  rpcServerOptions,
  rpcTransportOptions,
} from '../../config/index.js';
import {
  isWorkerProcess,
  launch,
  ReloadableService,
  type ManagerClass,
  type PeriodicMode,
  Service,
  type ServiceOptions,
} from '../../service/index.js';
import { createServiceMetrics, OpsServer, parseListen } from '../../ops/index.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { UsageError } from '../io.js';
import { wholeNumber } from '../parse.js';
import { DEFAULT_MANAGER, DEFAULT_TOPIC, loadManagerClass } from '../manager.js';

interface RunOptions {
  manager?: string;
  topic: string;
  host?: string;
  workers: number;
}

/** The {@link Service.create} options of `conductor run`, from the configuration. */
export function serviceOptionsFromConfig(
  conf: ConfigOpts,
  topic: string,
  manager: string | ManagerClass,
): ServiceOptions {
  return {
    topic,
    manager,
    binary: 'conductor',
    host: conf.getDefault<string>('host'),
    reportInterval: conf.getDefault<number>('report_interval'),
    periodicInterval: conf.getDefault<number>('periodic_interval'),
    periodicFuzzyDelay: conf.getDefault<number>('periodic_fuzzy_delay'),
    periodicMode: conf.getDefault<PeriodicMode>('periodic_mode'),
    periodicIntervalMax: conf.getDefault<number>('periodic_interval_max'),
    transport: rpcTransportOptions(conf),
    executorPoolSize: rpcServerOptions(conf).executorPoolSize,
    managerOptions: {
      conf,
      runExternalPeriodicTasks: conf.getDefault<boolean>('run_external_periodic_tasks'),
    },
  };
}

/** `conductor run`: the service, until SIGTERM / SIGINT; SIGHUP reloads and restarts. */
export function addRunCommand(program: Command, ctx: CliContext): Command {
  return addGlobalOptions(
    program
      .command('run')
      .description(
        'run a manager as an RPC service with its periodic tasks (SIGTERM/SIGINT: graceful stop; SIGHUP: reload the configuration and restart)',
      ),
  )
    .option(
      '--manager <module#Class>',
      `the manager class: a file path (relative to the working directory) or a package specifier, then # and the exported class (default ${DEFAULT_MANAGER})`,
    )
    .option('--topic <topic>', 'the RPC topic to consume', DEFAULT_TOPIC)
    .option(
      '--host <host>',
      "this host's name: the RPC server name (queue topic.host); same as --set DEFAULT.host=<host>",
    )
    .option('--workers <n>', 'worker processes (1: run in this process)', wholeNumber(1), 1)
    .addHelpText(
      'after',
      `
Without --manager it runs the Tacker conductor (update_vim, the VIM monitor, heartbeats into
[database] connection). The ops endpoint ([ops] listen, default 127.0.0.1:9410) serves /healthz,
/metrics and /tasks.
Options come from the configuration ([DEFAULT] host, report_interval, periodic_interval,
periodic_fuzzy_delay, periodic_mode, periodic_interval_max, executor_thread_pool_size,
transport_url, control_exchange, rpc_response_timeout, graceful_shutdown_timeout, log_options and
[oslo_messaging_rabbit]); see 'conductor config show'.
Exit status: 0 after a clean stop, 1 after a failed start or a shutdown that overran
graceful_shutdown_timeout, 130 after a second SIGINT.

Examples:
  $ conductor run --config-file /etc/conductor/conductor.conf
  $ conductor run --manager ./dist/my-manager.js#MyManager --config-file /etc/tacker/tacker.conf
  $ conductor run --manager my-package/managers#VimMonitor --topic MY_TOPIC --host node-1 --workers 4
  $ conductor run --manager ./dist/my-manager.js#MyManager --set transport_url=rabbit://tacker:secret@rabbit:5672/ --debug`,
    )
    .action(async (opts: RunOptions, cmd: Command) => {
      const { conf, logger } = await prepare(cmd, ctx, {
        logFd: 1,
        defaultLevel: 'info',
        cli: opts.host !== undefined ? { host: opts.host } : {},
      });
      const cls = await loadManagerClass(opts.manager, ctx.io.cwd);
      if (typeof (cls.prototype as { initHost?: unknown }).initHost !== 'function') {
        throw new UsageError(
          `${opts.manager ?? DEFAULT_MANAGER} is not a Manager class (it has no initHost method)`,
        );
      }
      const options = serviceOptionsFromConfig(conf, opts.topic, cls as ManagerClass);
      const log = logger.child({ module: 'cli' });
      if (!isWorkerProcess()) {
        log.info(
          {
            manager: opts.manager ?? DEFAULT_MANAGER,
            topic: options.topic,
            host: options.host,
            workers: opts.workers,
            transportUrl: maskUrlPassword(conf.getDefault<string>('transport_url')),
            controlExchange: conf.getDefault<string>('control_exchange'),
            periodicMode: options.periodicMode,
            reportInterval: options.reportInterval,
            periodicInterval: options.periodicInterval,
            configFiles: conf.configFiles,
          },
          'conductor run: starting',
        );
        if (conf.getDefault<boolean>('log_options')) conf.logOptValues(log, 'debug');
      }
      // One metrics registry and ops endpoint per process, across SIGHUP restarts; /healthz and
      // /tasks follow the service in use.
      const metrics = createServiceMetrics();
      const listen = parseListen(conf.get<string>('ops', 'listen'));
      let current: Service | undefined;
      let ops: OpsServer | undefined;
      // Rebuilt from the configuration on every SIGHUP restart, so reloaded options take effect.
      const launcher = launch(
        conf,
        () =>
          ReloadableService.create(async () => {
            current = await Service.create({
              ...serviceOptionsFromConfig(conf, opts.topic, cls as ManagerClass),
              onTaskRun: metrics.onTaskRun,
              onRpc: metrics.onRpc,
            });
            if (listen && !ops) {
              ops = new OpsServer({
                listen,
                service: () => current,
                metrics,
                logger: logger.child({ module: 'ops' }),
              });
              await ops.start();
            }
            return current;
          }),
        {
          workers: opts.workers,
          exit: ctx.io.exit,
          ...(ctx.io.signalTarget ? { signalTarget: ctx.io.signalTarget } : {}),
        },
      );
      try {
        ctx.exitCode = await launcher.wait();
      } finally {
        await ops?.stop();
      }
    });
}
