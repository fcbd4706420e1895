import { type Command, Option } from 'commander';
import { coordinationOptions, getCoordinator, HashRing } from '../../coordination/index.js';
import { json, table } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { DEFAULT_TOPIC } from '../manager.js';
import { intervalSeconds, watch, type WatchFrame } from '../watch.js';

/**
 * `conductor members`: the live members of a service's group (its topic) on the `[coordination]`
 * backend, and each one's share of the hash ring that shards its keys.
 */
export function addMembersCommand(program: Command, ctx: CliContext): Command {
  return addGlobalOptions(
    program
      .command('members')
      .description(
        "list the live replicas of a service on the [coordination] backend (the group is the service's topic) and each one's share of the keys of its sharded tasks",
      ),
  )
    .option('--group <group>', 'the group: the RPC topic of the service', DEFAULT_TOPIC)
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option('--json', 'same as --format json (with --watch: one JSON line per refresh)')
    .option(
      '--watch',
      'a live view, redrawn every --interval seconds: members that joined (+) or left (-) since the last refresh are marked; q or Ctrl-C quits',
    )
    .option(
      '--interval <seconds>',
      'with --watch: seconds between two refreshes',
      intervalSeconds,
      2,
    )
    .addHelpText(
      'after',
      `
Without --watch it prints the members once and exits (a table, or JSON with --json): scriptable.
With --watch it stays on: on a terminal the view is redrawn in place (colours unless NO_COLOR is
set; FORCE_COLOR forces them); piped, one table per refresh is appended; with --json, one JSON line
per refresh.

Examples:
  $ conductor members --set coordination.backend_url=redis://127.0.0.1:6379
  $ conductor members --watch --interval 1 --config-file /etc/conductor/conductor.conf
  $ conductor members --json --group TACKER_CONDUCTOR`,
    )
    .action(
      async (
        opts: {
          group: string;
          format: 'table' | 'json';
          json?: boolean;
          watch?: boolean;
          interval: number;
        },
        cmd: Command,
      ) => {
        const format = opts.json ? 'json' : opts.format;
        const { conf } = await prepare(cmd, ctx, { logFd: 2, defaultLevel: 'warn' });
        const c = coordinationOptions.read(conf);
        const coordinator = getCoordinator(c.backend_url, {
          memberId: `conductor-members:${process.pid}`,
          leaseTtl: c.lease_ttl,
          heartbeatInterval: c.heartbeat_interval,
        });
        if (coordinator.kind === 'memory') {
          ctx.io.stderr.write(
            'conductor: [coordination] backend_url is memory://, private to each process: no cluster to list (set it to a redis:// or postgresql:// URL)\n',
          );
        }
        await coordinator.start();
        let members: string[];
        try {
          if (opts.watch) {
            await watch({
              io: ctx.io,
              title: 'conductor members',
              source: `${coordinator.where} group ${opts.group}`,
              interval: opts.interval,
              format,
              fetch: async () => membersFrame(opts.group, await coordinator.members(opts.group)),
              gone: (row) => ({ ...row, cells: [row.cells[0] ?? '', '-', 'left'] }),
            });
            return;
          }
          members = await coordinator.members(opts.group);
        } finally {
          await coordinator.stop();
        }
        const rows = memberRows(members);
        if (format === 'json') {
          ctx.io.stdout.write(
            json({ group: opts.group, backend: coordinator.where, members: rows }),
          );
        } else if (rows.length === 0) {
          ctx.io.stdout.write(`no live members in group ${opts.group} on ${coordinator.where}\n`);
        } else {
          ctx.io.stdout.write(
            table(
              ['member', 'share of keys'],
              rows.map((r) => [r.member, `${(r.share * 100).toFixed(1)} %`]),
            ),
          );
        }
      },
    );
}

/** Each live member with its share of the group's keys (0..1). */
function memberRows(members: readonly string[]): { member: string; share: number }[] {
  const shares = ringShares(members);
  return members.map((member) => ({ member, share: shares.get(member) ?? 0 }));
}

/**
 * One refresh of `conductor members --watch`: member, share of keys, status (`live`; a member that
 * left shows once as `left`). A share that moved is highlighted, as is a member that joined.
 */
export function membersFrame(group: string, members: readonly string[]): WatchFrame {
  const rows = memberRows(members);
  return {
    summary: `group ${group} · ${rows.length} live member${rows.length === 1 ? '' : 's'}`,
    headers: ['member', 'share of keys', 'status'],
    rows: rows.map((r) => ({
      key: r.member,
      cells: [r.member, `${(r.share * 100).toFixed(1)} %`, 'live'],
      styles: [undefined, undefined, 'green'],
    })),
    empty: `no live members in group ${group}`,
    json: { group, members: rows },
  };
}

/** Each member's share of the keys, measured over a fixed sample of keys (as the services see it). */
function ringShares(members: readonly string[], sample = 20_000): Map<string, number> {
  const ring = new HashRing(members);
  const counts = new Map<string, number>();
  for (let i = 0; i < sample; i++) {
    const owner = ring.owner(`key-${i}`);
    if (owner !== undefined) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  for (const [m, n] of counts) counts.set(m, n / sample);
  return counts;
}
