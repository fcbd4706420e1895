import type { Command } from 'commander';
import { errorMessage } from '../../core/index.js';
import { runService } from '../../runner/index.js';
import type { ManagerClass } from '../../service/index.js';
import { oneLine } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { DEFAULT_MANAGER, DEFAULT_TOPIC } from '../manager.js';
import { wholeNumber } from '../parse.js';

interface RunOptions {
  manager?: string;
  topic: string;
  host?: string;
  workers: number;
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
      const { conf, logger, manager } = await prepare(cmd, ctx, {
        logFd: 1,
        defaultLevel: 'info',
        cli: opts.host !== undefined ? { host: opts.host } : {},
        manager: { path: opts.manager },
      });
      ctx.exitCode = await runService({
        manager: manager as ManagerClass,
        managerName: opts.manager ?? DEFAULT_MANAGER,
        topic: opts.topic,
        conf,
        workers: opts.workers,
        logger,
        exit: ctx.io.exit,
        // Besides the log line (on stdout, for the log collector), one line on stderr for whoever
        // started the command; the messages never hold a password (URLs are masked).
        onStartError: (err) =>
          ctx.io.stderr.write(
            `conductor: the service did not start: ${oneLine(errorMessage(err))}\n`,
          ),
        ...(ctx.io.signalTarget ? { signalTarget: ctx.io.signalTarget } : {}),
      });
    });
}
