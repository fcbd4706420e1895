import { type Command, Option } from 'commander';
import { coordinationOptions, getCoordinator, HashRing } from '../../coordination/index.js';
import { json, table } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { DEFAULT_TOPIC } from '../manager.js';

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
    .action(async (opts: { group: string; format: 'table' | 'json' }, cmd: Command) => {
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
        members = await coordinator.members(opts.group);
      } finally {
        await coordinator.stop();
      }
      const shares = ringShares(members);
      const rows = members.map((member) => ({ member, share: shares.get(member) ?? 0 }));
      if (opts.format === 'json') {
        ctx.io.stdout.write(json({ group: opts.group, backend: coordinator.where, members: rows }));
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
    });
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
