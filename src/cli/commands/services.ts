import { type Command, Option } from 'commander';
import { isServiceUp } from '../../conductor/index.js';
import { json, table } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { withStore } from '../store.js';

/** `conductor services`: the services that report heartbeats, and whether each is up. */
export function addServicesCommand(program: Command, ctx: CliContext): Command {
  return addGlobalOptions(
    program
      .command('services')
      .description(
        "list the services that send heartbeats to the conductor's database; a service is up while its last heartbeat is younger than [DEFAULT] service_down_time",
      ),
  )
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .action(async (opts: { format: 'table' | 'json' }, cmd: Command) => {
      const { conf } = await prepare(cmd, ctx, { logFd: 2, defaultLevel: 'warn' });
      const downTime = conf.getDefault<number>('service_down_time');
      const now = new Date();
      const rows = (await withStore(conf, ctx.io.cwd, (store) => store.listServices())).map(
        (s) => ({
          ...s,
          state: s.disabled ? 'disabled' : isServiceUp(s, now, downTime) ? 'up' : 'down',
          heartbeatAge: (now.getTime() - (s.updatedAt ?? s.createdAt).getTime()) / 1000,
        }),
      );
      if (opts.format === 'json') {
        ctx.io.stdout.write(json(rows));
      } else if (rows.length === 0) {
        ctx.io.stdout.write('no services have reported yet\n');
      } else {
        ctx.io.stdout.write(
          table(
            ['binary', 'host', 'topic', 'state', 'reports', 'last heartbeat'],
            rows.map((s) => [
              s.binary,
              s.host,
              s.topic,
              s.state,
              String(s.reportCount),
              `${(s.updatedAt ?? s.createdAt).toISOString()} (${Math.round(s.heartbeatAge)} s ago)`,
            ]),
          ),
        );
      }
    });
}
