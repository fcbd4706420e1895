import { type Command, Option } from 'commander';
import { cell, json, table } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';

/** `conductor config show`: the effective configuration and where each value comes from. */
export function addConfigCommand(program: Command, ctx: CliContext): Command {
  const config = program
    .command('config')
    .description('inspect the configuration')
    .addHelpText(
      'after',
      `
Examples:
  $ conductor config show --config-file /etc/tacker/tacker.conf
  $ conductor config show --format json`,
    );
  addGlobalOptions(
    config
      .command('show')
      .description(
        'print the effective configuration: every option with its value and source (default, file:<path>, env:<VARIABLE> or cli); secrets are masked',
      ),
  )
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .addHelpText(
      'after',
      `
Sources, later wins: defaults < --config-file (in order) < --config-dir < CONDUCTOR_<SECTION>__<OPTION> < --set.

Examples:
  $ conductor config show --config-file /etc/tacker/tacker.conf
  $ CONDUCTOR_DEFAULT__REPORT_INTERVAL=5 conductor config show --set DEFAULT.host=node-1
  $ conductor config show --config-dir /etc/tacker/conf.d --format json`,
    )
    .action(async (opts: { format: 'table' | 'json' }, cmd: Command) => {
      const { conf } = await prepare(cmd, ctx, { logFd: 2, defaultLevel: 'warn' });
      const rows = conf.dump().map((r) => ({
        section: r.section,
        option: r.name,
        value: r.value === undefined ? null : r.value,
        source: r.source,
      }));
      ctx.io.stdout.write(
        opts.format === 'json'
          ? json(rows)
          : table(
              ['section', 'option', 'value', 'source'],
              rows.map((r) => [r.section, r.option, cell(r.value ?? undefined), r.source]),
            ),
      );
    });
  return config;
}
