/**
 * Three `conductor run` processes (the built CLI) on RabbitMQ and PostgreSQL sharing the VIM
 * monitor: twelve VIMs are split between them by the group's hash ring; when one conductor is
 * stopped (SIGTERM), its VIMs move to the two others within a heartbeat.
 *
 *   npm run example:cluster                       # RabbitMQ 127.0.0.1:5672 + PostgreSQL 127.0.0.1:5432
 *   npm run example:cluster -- --keep             # keep running (Ctrl-C stops) to watch the dashboards
 *   CONDUCTOR_CLUSTER_BACKEND=redis://127.0.0.1:6379 npm run example:cluster   # coordination on Redis
 *
 * It prints each conductor's dashboard URL, then every second which conductor probes which VIMs
 * (the live members of the group and the hash ring they make, as `conductor members` reads them,
 * checked against each conductor's own "VIM monitor run" report and the probes the VIMs received).
 * After about 10 s it stops one conductor; about 10 s later everything, and it removes what it
 * made: its PostgreSQL schema (store and coordination tables), its Redis keys, its RabbitMQ queues
 * and exchanges. Without --keep it ends by itself in about 30 s, exit 0.
 *
 * Everything is named after the run (topic, control exchange, schema), so runs never meet.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openStore } from 'conductor-ts/conductor';
import { createLogger } from 'conductor-ts/core';
import { type Coordinator, getCoordinator, HashRing } from 'conductor-ts/coordination';

const KEEP = process.argv.includes('--keep');
const RABBIT = process.env['CONDUCTOR_CLUSTER_RABBIT'] ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const PG_URL = process.env['CONDUCTOR_CLUSTER_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env['CONDUCTOR_CLUSTER_BACKEND']?.startsWith('redis')
  ? process.env['CONDUCTOR_CLUSTER_BACKEND']
  : undefined;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const HOSTS = ['conductor-1', 'conductor-2', 'conductor-3'];
const VIMS = 12;
/** Seconds: short so that the move shows within a second or two (defaults 15 s and 5 s). */
const LEASE_TTL = 2;
const HEARTBEAT = 0.5;
/** Seconds of each phase: three conductors, then two. */
const PHASE = 10;

const run = randomBytes(3).toString('hex');
const topic = `CLUSTER_DEMO_${run.toUpperCase()}`;
const exchange = `cluster_demo_${run}`;
const schema = `cluster_demo_${run}`;
/** The run's schema first on the search path: the store's and the coordination's tables go there. */
const inSchema = (url: string): string =>
  `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const dbUrl = inSchema(PG_URL.replace(/^postgres:/, 'postgresql:'));
const backendUrl = REDIS ?? dbUrl;

/** This script's own log lines (its store and its observer of the group): warnings only. */
const logger = createLogger({ level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'warn' });

const t0 = Date.now();
const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s`;
const say = (line: string): void => void process.stdout.write(`${at()}  ${line}\n`);
const sleep = (s: number): Promise<void> => new Promise((r) => setTimeout(r, s * 1000));

/** A free TCP port of 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// ---- the VIMs: one local HTTP server answering as Keystone does, recording every probe ----------

/** VIM id -> Date.now() of its probes. */
const probes = new Map<string, number[]>();
/** These two never answer (the connection is reset): they show as UNREACHABLE. */
const DOWN = new Set(['vim-11', 'vim-12']);
const vims = Array.from({ length: VIMS }, (_, i) => {
  const name = `vim-${String(i + 1).padStart(2, '0')}`;
  return { id: `${run}-${name}`, name };
});
const keystone: Server = createHttpServer((req, res) => {
  const id = /^\/vim\/([^/?]+)/.exec(req.url ?? '')?.[1];
  if (id !== undefined) probes.set(id, [...(probes.get(id) ?? []), Date.now()]);
  if (DOWN.has(id?.slice(run.length + 1) ?? '')) {
    req.socket.destroy();
    return;
  }
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end('{"error":{"code":401,"title":"Unauthorized"}}');
});

// ---- the conductors -------------------------------------------------------------------------

interface Conductor {
  readonly host: string;
  readonly port: number;
  readonly proc: ChildProcess;
  out: string;
  /** The VIMs of its last "VIM monitor run" report. */
  lastRun: number | undefined;
  readonly exited: Promise<number | null>;
}

function start(host: string, port: number): Conductor {
  const set = [
    `transport_url=${RABBIT}`,
    `control_exchange=${exchange}`,
    `coordination.backend_url=${backendUrl}`,
    `coordination.lease_ttl=${LEASE_TTL}`,
    `coordination.heartbeat_interval=${HEARTBEAT}`,
    `database.connection=${dbUrl}`,
    `ops.listen=127.0.0.1:${port}`,
    'vim_monitor.interval=1',
    'vim_monitor.timeout=1',
    'report_interval=2',
    'periodic_fuzzy_delay=0',
    // Should a process die without cleaning up, its fanout queue goes within a minute.
    'oslo_messaging_rabbit.rabbit_transient_queues_ttl=60',
  ];
  const proc = spawn(
    process.execPath,
    [CLI, 'run', '--topic', topic, '--host', host, ...set.flatMap((s) => ['--set', s])],
    {
      env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own: Ctrl-C reaches this script only, which stops them in order.
      detached: true,
    },
  );
  const c: Conductor = {
    host,
    port,
    proc,
    out: '',
    lastRun: undefined,
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
  };
  let partial = '';
  const onData = (d: Buffer): void => {
    const text = partial + d.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      c.out += `${line}\n`;
      if (!line.includes('VIM monitor run')) continue;
      try {
        c.lastRun = (JSON.parse(line) as { vims: number }).vims;
      } catch {
        // not a JSON line
      }
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', (d: Buffer) => (c.out += d.toString('utf8')));
  return c;
}

const alive = (c: Conductor): boolean => c.proc.exitCode === null && c.proc.signalCode === null;

async function started(c: Conductor): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!c.out.includes('"msg":"Service started"')) {
    if (!alive(c) || Date.now() > deadline)
      throw new Error(`${c.host} did not start:\n${c.out.split('\n').slice(-15).join('\n')}`);
    await sleep(0.1);
  }
}

async function stop(c: Conductor): Promise<number | null> {
  if (alive(c)) c.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>(
    (resolve) => (timer = setTimeout(() => resolve('late'), 15_000)),
  );
  const code = await Promise.race([c.exited, late]);
  clearTimeout(timer);
  if (code !== 'late') return code;
  c.proc.kill('SIGKILL');
  return c.exited;
}

// ---- who probes what ------------------------------------------------------------------------

/** Each member's VIMs, by the group's hash ring (what each conductor's `run.owns` decides). */
function shards(members: readonly string[]): Map<string, string[]> {
  const ring = new HashRing(members);
  const out = new Map<string, string[]>(members.map((m) => [m, []]));
  for (const v of vims) out.get(ring.owner(v.id) ?? '')?.push(v.name);
  return out;
}

/** VIMs probed since `since` (Date.now() ms). */
const probedSince = (since: number): number =>
  vims.filter((v) => (probes.get(v.id) ?? []).some((t) => t >= since)).length;

/** One line: members, each one's VIMs (and the count of its last own report), probes of the last second. */
function status(members: readonly string[], conductors: readonly Conductor[]): string {
  const parts = [...shards(members)].map(([m, names]) => {
    const c = conductors.find((x) => m.startsWith(`${x.host}:`));
    const ran = c?.lastRun === undefined ? '' : ` ran ${c.lastRun}`;
    const ids = names.map((n) => n.slice(4)).join(' ');
    return `${c?.host ?? m}: ${ids.padEnd(23)} (${names.length}${ran})`;
  });
  const n = members.length;
  return [
    `${n} member${n === 1 ? '' : 's'}`,
    ...parts,
    `probed ${probedSince(Date.now() - 1500)}/${VIMS} in 1.5 s`,
  ].join(' | ');
}

// ---- the run --------------------------------------------------------------------------------

const cleanups: (() => Promise<unknown>)[] = [];
let conductors: Conductor[] = [];
let observer: Coordinator | undefined;
let stopping = false;
/** With --keep, once the move has shown: status lines only when the shards change. */
let quiet = false;

async function cleanup(): Promise<void> {
  for (const c of conductors) await stop(c);
  await observer?.stop().catch(() => undefined);
  for (const work of cleanups.reverse()) {
    try {
      await work();
    } catch (err) {
      say(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

async function main(): Promise<void> {
  say(`run ${run}: topic ${topic}, control_exchange ${exchange}, PostgreSQL schema ${schema}`);
  say(
    `coordination: ${REDIS ?? 'PostgreSQL (same schema)'}; lease_ttl ${LEASE_TTL} s, heartbeat ${HEARTBEAT} s`,
  );

  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  cleanups.push(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    say(`removed PostgreSQL schema ${schema}`);
  });
  cleanups.push(async () => {
    const amqpUrl = RABBIT.replace(/^rabbit:/, 'amqp:');
    const conn = await amqpConnect(amqpUrl);
    try {
      const ch = await conn.createChannel();
      for (const q of [topic, ...HOSTS.map((h) => `${topic}.${h}`)]) await ch.deleteQueue(q);
      for (const x of [exchange, `conductor-lean.${exchange}`, `${topic}_fanout`])
        await ch.deleteExchange(x);
      await ch.close();
    } finally {
      await conn.close();
    }
    say(
      `removed RabbitMQ queues ${topic}, ${topic}.<host> and exchanges ${exchange}, conductor-lean.${exchange}`,
    );
  });
  if (REDIS) {
    cleanups.push(async () => {
      const redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      let removed = 0;
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(
            cursor,
            'MATCH',
            `conductor:*${topic}*`,
            'COUNT',
            500,
          );
          cursor = next;
          if (keys.length > 0) removed += await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
      say(`removed ${removed} Redis key(s) conductor:*${topic}*`);
    });
  }

  await new Promise<void>((resolve) => keystone.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        keystone.closeAllConnections();
        keystone.close(() => resolve());
      }),
  );
  const vimPort = (keystone.address() as AddressInfo).port;
  const store = await openStore(dbUrl, { logger });
  try {
    for (const v of vims)
      await store.registerVim({
        id: v.id,
        name: v.name,
        authUrl: `http://127.0.0.1:${vimPort}/vim/${v.id}/identity/v3`,
        description: DOWN.has(v.name) ? 'never answers' : 'answers 401 as Keystone does',
      });
  } finally {
    await store.close();
  }
  say(
    `registered ${VIMS} VIMs vim-01..vim-${VIMS}, shown below by number (${[...DOWN].join(', ')} never answer), at http://127.0.0.1:${vimPort}/vim/<id>`,
  );
  say(
    'each line: members | each conductor: its VIMs (count, and the count of its last own run) | VIMs probed in the last 1.5 s',
  );

  const ports = await Promise.all(HOSTS.map(() => freePort()));
  conductors = HOSTS.map((h, i) => start(h, ports[i] as number));
  await Promise.all(conductors.map(started));
  for (const c of conductors)
    say(`${c.host} (pid ${c.proc.pid}) started; dashboard http://127.0.0.1:${c.port}/`);
  say(
    `watch: node ${CLI} members --watch --group ${topic} --set coordination.backend_url='${backendUrl}'`,
  );
  say(`       node ${CLI} tasks --watch --url http://127.0.0.1:${conductors[0]?.port}`);

  observer = getCoordinator(backendUrl, {
    memberId: `cluster-demo-observer:${process.pid}`,
    leaseTtl: LEASE_TTL,
    heartbeatInterval: HEARTBEAT,
    logger,
  });
  await observer.start();
  const obs = observer;
  const members = (): Promise<string[]> => obs.members(topic);

  let last = '';
  const tick = async (): Promise<string[]> => {
    const m = await members();
    const line = status(m, conductors);
    const shape = [...shards(m)].map(([k, v]) => `${k}=${v.join(',')}`).join(';');
    if (!quiet || shape !== last) say(line);
    last = shape;
    return m;
  };

  // Three conductors.
  const phase1 = Date.now() + PHASE * 1000;
  let seen3 = false;
  while (Date.now() < phase1 && !stopping) {
    if ((await tick()).length === 3) seen3 = true;
    await sleep(1);
  }
  if (!seen3) throw new Error('the three conductors were never all members');

  const victim = conductors[1] as Conductor;
  say(`-- stopping ${victim.host} (SIGTERM): it leaves the group, its VIMs move to the others --`);
  const stoppedAt = Date.now();
  say(`${victim.host} exited with status ${String(await stop(victim))}`);

  // Two conductors: every VIM is probed by one of them again.
  let movedAt: number | undefined;
  const phase2 = Date.now() + PHASE * 1000;
  while ((KEEP || Date.now() < phase2) && !stopping) {
    const m = await tick();
    if (movedAt === undefined && m.length === 2 && !m.some((x) => x.startsWith(`${victim.host}:`)))
      movedAt = Date.now();
    if (KEEP && movedAt !== undefined && !quiet) {
      quiet = true;
      say('-- --keep: still running; open the dashboards, Ctrl-C stops everything --');
    }
    await sleep(1);
  }
  const after = movedAt ?? stoppedAt;
  const probedAfter = probedSince(after);
  const survivors = conductors
    .filter((c) => c !== victim)
    .map((c) => `${c.host} ran ${c.lastRun ?? '?'}`);
  say(
    `summary: members 3 -> 2 (${movedAt === undefined ? 'never moved' : `${((movedAt - stoppedAt) / 1000).toFixed(1)} s after the stop`}); ` +
      `after the stop every VIM probed: ${probedAfter}/${VIMS} (${survivors.join(', ')})`,
  );
  if (movedAt === undefined || probedAfter !== VIMS) process.exitCode = 1;
}

// Should this script die without its cleanup, no conductor outlives it.
process.on('exit', () => {
  for (const c of conductors) if (alive(c)) c.proc.kill('SIGKILL');
});
// A repeated Ctrl-C (npm forwards it too) does not interrupt the cleanup.
process.on('SIGINT', () => {
  if (stopping) return;
  stopping = true;
  say('-- Ctrl-C: stopping everything --');
});

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  say('stopping the conductors');
  await cleanup();
  say(`done, exit ${process.exitCode ?? 0}`);
}
