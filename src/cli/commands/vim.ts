import { type Command, Option } from 'commander';
import type { Vim } from '../../conductor/index.js';
import { json, table } from '../format.js';
import { wholeNumber } from '../parse.js';
import { withStore } from '../store.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';

type Format = 'table' | 'json';

const formatOption = (): Option =>
  new Option('--format <format>', 'output format').choices(['table', 'json']).default('table');

const iso = (d: Date | null | undefined): string => (d ? d.toISOString() : '-');

function vimRows(vims: readonly Vim[]): string[][] {
  return vims.map((v) => [v.id, v.name, v.status, v.authUrl, iso(v.updatedAt ?? v.createdAt)]);
}

/** `conductor vim register|list|show`: the VIMs in the conductor's database. */
export function addVimCommand(program: Command, ctx: CliContext): Command {
  const vim = program
    .command('vim')
    .description("manage the VIMs in the conductor's database ([database] connection)");

  addGlobalOptions(
    vim
      .command('register')
      .description('register a VIM (status PENDING until the monitor probes it)'),
  )
    .requiredOption('--name <name>', 'a unique name')
    .requiredOption('--auth-url <url>', 'what the monitor probes: http(s)://... or tcp://host:port')
    .option('--id <id>', 'the VIM id (default a new UUID)')
    .option('--description <text>', 'free text')
    .addOption(formatOption())
    .action(
      async (
        opts: { name: string; authUrl: string; id?: string; description?: string; format: Format },
        cmd: Command,
      ) => {
        const { conf } = await prepare(cmd, ctx, { logFd: 2, defaultLevel: 'warn' });
        const created = await withStore(conf, ctx.io.cwd, (store) =>
          store.registerVim({
            name: opts.name,
            authUrl: opts.authUrl,
            ...(opts.id !== undefined ? { id: opts.id } : {}),
            ...(opts.description !== undefined ? { description: opts.description } : {}),
          }),
        );
        ctx.io.stdout.write(opts.format === 'json' ? json(created) : `${created.id}\n`);
      },
    );

  addGlobalOptions(vim.command('list').description('list the VIMs and their status'))
    .addOption(formatOption())
    .action(async (opts: { format: Format }, cmd: Command) => {
      const { conf } = await prepare(cmd, ctx, { logFd: 2, defaultLevel: 'warn' });
      const vims = await withStore(conf, ctx.io.cwd, (store) => store.listVims());
      if (opts.format === 'json') ctx.io.stdout.write(json(vims));
      else if (vims.length === 0) ctx.io.stdout.write('no VIMs registered\n');
      else
        ctx.io.stdout.write(table(['id', 'name', 'status', 'auth url', 'updated'], vimRows(vims)));
    });

  addGlobalOptions(vim.command('show').description('show a VIM and its recent events'))
    .argument('<id>', 'the VIM id')
    .option('--events <n>', 'how many recent events', wholeNumber(1), 10)
    .addOption(formatOption())
    .action(async (id: string, opts: { events: number; format: Format }, cmd: Command) => {
      const { conf } = await prepare(cmd, ctx, { logFd: 2, defaultLevel: 'warn' });
      const found = await withStore(conf, ctx.io.cwd, async (store) => {
        const v = await store.getVim(id);
        return v
          ? { vim: v, events: await store.listEvents(id, { limit: opts.events }) }
          : undefined;
      });
      if (!found) {
        ctx.io.stderr.write(`conductor: VIM ${id} could not be found\n`);
        ctx.exitCode = 1;
        return;
      }
      const { vim: v, events } = found;
      if (opts.format === 'json') {
        ctx.io.stdout.write(json({ ...v, events }));
        return;
      }
      const lines = [
        ['id', v.id],
        ['name', v.name],
        ['type', v.type],
        ['status', v.status],
        ['auth url', v.authUrl],
        ['description', v.description],
        ['created', iso(v.createdAt)],
        ['updated', iso(v.updatedAt)],
      ];
      ctx.io.stdout.write(table(['field', 'value'], lines));
      ctx.io.stdout.write('\n');
      ctx.io.stdout.write(
        events.length === 0
          ? 'no events\n'
          : table(
              ['time', 'state', 'type', 'details'],
              events.map((e) => [iso(e.timestamp), e.resourceState, e.eventType, e.eventDetails]),
            ),
      );
    });
  return vim;
}
