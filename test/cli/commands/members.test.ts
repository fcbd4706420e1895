/**
 * `conductor members` (in-process, as the other command tests run it) against the real Redis at
 * 127.0.0.1:6379: replicas joined to a group of this run are listed with their share of the hash
 * ring (table and JSON), a crashed one drops out within its TTL; memory:// warns that there is no
 * cluster; an unreachable backend is one clear line and a non-zero status. Required under CI=true.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../src/cli/index.js';
import { type Coordinator, getCoordinator } from '../../../src/coordination/index.js';
import { RedisBackend } from '../../../src/coordination/redis.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { freePort, reachable, requireService } from '../../helpers/services.js';
import { cli } from '../helpers.js';

const REDIS = 'redis://127.0.0.1:6379';
const redisOk = await requireService('Redis on 127.0.0.1:6379', await reachable(6379));

/** A group of this run (the command reads the default namespace, so the group isolates it). */
const group = (): string => `CLI_MEMBERS_${process.pid}_${randomUUID().slice(0, 8)}`;

const started: Coordinator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop().catch(() => undefined)));
});

/** A replica joined to `g` on the shared Redis (default namespace, as services use). */
async function member(g: string, memberId: string, backend?: RedisBackend): Promise<Coordinator> {
  const c = getCoordinator(REDIS, {
    memberId,
    leaseTtl: 1,
    heartbeatInterval: 0.25,
    logger: captureLogs().logger,
    ...(backend ? { backend } : {}),
  });
  await c.start();
  started.push(c);
  await c.join(g);
  return c;
}

const members = (g: string, ...more: string[]) =>
  cli(['members', '--group', g, '--set', `coordination.backend_url=${REDIS}`, ...more]);

interface Listing {
  group: string;
  backend: string;
  members: { member: string; share: number }[];
}

describe.runIf(redisOk)('conductor members (Redis)', () => {
  it('lists the live members of the group with their share of the keys (a table)', async () => {
    const g = group();
    await member(g, 'node-a:101');
    await member(g, 'node-b:202');
    const r = await members(g);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    expect(rows[0]).toEqual(['MEMBER', 'SHARE OF KEYS']);
    expect(rows.slice(1).map((row) => row[0])).toEqual(['node-a:101', 'node-b:202']);
    const percents = rows.slice(1).map((row) => Number(/^([\d.]+) %$/.exec(row[1] ?? '')?.[1]));
    for (const p of percents) expect(p).toBeGreaterThan(30); // a fair ring: about half each
    expect((percents[0] ?? 0) + (percents[1] ?? 0)).toBeCloseTo(100, 0);
  });

  it('--format json: group, masked backend, members with shares summing to 1', async () => {
    const g = group();
    await member(g, 'node-a:101');
    await member(g, 'node-b:202');
    await member(g, 'node-c:303');
    const r = await members(g, '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    const listing = JSON.parse(r.stdout) as Listing;
    expect(listing.group).toBe(g);
    expect(listing.backend).toBe(REDIS);
    expect(listing.members.map((m) => m.member)).toEqual([
      'node-a:101',
      'node-b:202',
      'node-c:303',
    ]);
    const total = listing.members.reduce((sum, m) => sum + m.share, 0);
    expect(total).toBeCloseTo(1, 6);
    for (const m of listing.members) {
      expect(m.share).toBeGreaterThan(0.2);
      expect(m.share).toBeLessThan(0.47);
    }
  });

  it('a member that crashed (no more heartbeats, never left) drops out within its TTL; one that left drops out at once', async () => {
    const g = group();
    await member(g, 'node-a:101');
    const b = await member(g, 'node-b:202');
    const crashing = new RedisBackend(REDIS, { keyPrefix: 'conductor' });
    await member(g, 'node-c:303', crashing);
    const all = JSON.parse((await members(g, '--format', 'json')).stdout) as Listing;
    expect(all.members.map((m) => m.member)).toEqual(['node-a:101', 'node-b:202', 'node-c:303']);
    await b.leave(g);
    await crashing.close(); // its process dies: the membership is never removed, it expires
    const crashedAt = Date.now();
    const left = JSON.parse((await members(g, '--format', 'json')).stdout) as Listing;
    expect(left.members.map((m) => m.member)).toEqual(['node-a:101', 'node-c:303']);
    let listing = left;
    while (listing.members.length > 1) {
      expect(Date.now() - crashedAt).toBeLessThan(2000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      listing = JSON.parse((await members(g, '--format', 'json')).stdout) as Listing;
    }
    expect(listing.members).toEqual([{ member: 'node-a:101', share: 1 }]);
  });

  it('an empty group: a line saying so (table), an empty list (json)', async () => {
    const g = group();
    const table = await members(g);
    expect(table.code).toBe(EXIT.OK);
    expect(table.stdout).toBe(`no live members in group ${g} on ${REDIS}\n`);
    const json = JSON.parse((await members(g, '--format', 'json')).stdout) as Listing;
    expect(json).toEqual({ group: g, backend: REDIS, members: [] });
  });
});

describe('conductor members (no cluster, no backend)', () => {
  it('memory:// (the default): warns on stderr that there is no cluster to list', async () => {
    const g = group();
    for (const args of [
      ['members', '--group', g],
      ['members', '--group', g, '--set', 'coordination.backend_url=memory://shared'],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(EXIT.OK);
      expect(r.stderr).toBe(
        'conductor: [coordination] backend_url is memory://, private to each process: no cluster to list (set it to a redis:// or postgresql:// URL)\n',
      );
      expect(r.stdout).toMatch(new RegExp(`^no live members in group ${g} on memory://`));
    }
  });

  it('an unreachable backend: exits 1 with one clear line on stderr, the password masked', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = await cli([
      'members',
      '--group',
      group(),
      '--set',
      `coordination.backend_url=redis://:s3cret@127.0.0.1:${port}`,
    ]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.code).toBe(EXIT.FAILURE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `conductor: Coordination backend redis://:***@127.0.0.1:${port} is unavailable: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(JSON.stringify(r.logs)).not.toContain('s3cret');
  });

  it('an unreachable PostgreSQL backend: the same, one line, exit 1', async () => {
    const port = await freePort();
    const r = await cli([
      'members',
      '--group',
      group(),
      '--set',
      `coordination.backend_url=postgresql://conductor:s3cret@127.0.0.1:${port}/coord`,
    ]);
    expect(r.code).toBe(EXIT.FAILURE);
    expect(r.stderr).toMatch(
      new RegExp(
        `^conductor: Coordination backend postgresql://conductor:\\*\\*\\*@127\\.0\\.0\\.1:${port}/coord is unavailable: .*ECONNREFUSED.*\\n$`,
      ),
    );
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr + r.stdout).not.toContain('s3cret');
  });
});
