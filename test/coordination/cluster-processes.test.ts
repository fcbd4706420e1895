/**
 * Coordination across real processes, per backend (Redis, PostgreSQL): three built `conductor run`
 * processes (test/fixtures/coordination/slot-conductor.mjs: the Conductor plus a once-per-cluster
 * task that records every slot it runs) on RabbitMQ, a PostgreSQL store and the backend.
 *
 * - once-per-cluster: 200 slots of 0.05 s, each run exactly once (no duplicates; no gaps but for
 *   runs the holder's own scheduler reports skipped, `fell behind`, which only CPU starvation
 *   causes: a skipped slot is run by nobody); then the holder is SIGKILLed and another replica takes
 *   over within lease_ttl + one heartbeat + one slot (×2 slack), with larger fencing tokens, and
 *   still no slot runs twice (those of the takeover gap are missing, counted and printed).
 * - sharded: the VIM monitor over 300 VIMs (a local HTTP server records every probe): every VIM is
 *   probed exactly once per interval by three replicas, and again by the two left after a SIGKILL;
 *   and a replica frozen (SIGSTOP) for longer than lease_ttl, then resumed, never makes a VIM probed
 *   twice in an interval (its keys go to the others, then come back to it once it has settled).
 *
 * The two run in separate process sets: the periodic tasks of one manager run one at a time, so a
 * VIM monitor run (100 probes) on the lease holder would delay, and so skip, slots of 0.05 s.
 *
 * Verdicts are counts; the only timing verdict is the takeover bound. The measured numbers are
 * printed. Isolation: a RabbitMQ vhost of this file, a PostgreSQL database per scenario (store, slot
 * table and, for the PostgreSQL backend, the coordination tables), a topic per scenario (it names
 * the leases and the group; the Redis keys under it are deleted at the end). The databases commit
 * without waiting for the disk (`synchronous_commit = off`): fewer latency spikes on a loaded host.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { openStore } from '../../src/conductor/db/index.js';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { dropRedisKeys } from '../helpers/redis-server.js';
import { RABBIT_URL, REDIS_URL, reachable, requireService } from '../helpers/services.js';

const execFileP = promisify(execFile);
const suffix = randomBytes(4).toString('hex');
const VHOST = `cluster-processes-${suffix}`;
const TRANSPORT_URL = `${RABBIT_URL.replace(/\/[^/]*$/, '')}/${VHOST}`;
const PG_SERVER = 'postgres://postgres@127.0.0.1:5432';
const CLI = join(ROOT, 'dist/src/cli/main.js');
const FIXTURE = join(ROOT, 'test/fixtures/coordination/slot-conductor.mjs');

/** [coordination] of every replica, seconds. */
const TTL = 1;
const BEAT = 0.25;
/** The once-per-cluster task. */
const SPACING = 0.05;
const SLOTS = 200;
/** [vim_monitor] interval (its minimum), seconds. */
const INTERVAL = 1;
const VIMS = 300;
const REPLICAS = 3;
/** Windows (intervals) checked with three replicas, then with two. */
const WINDOWS = 4;

const rabbit = await requireService('RabbitMQ', await reachable(5672));
const postgres = await requireService('PostgreSQL', await reachable(5432));

const BACKENDS = [
  {
    name: 'redis',
    available: rabbit && postgres && (await requireService('Redis', await reachable(6379))),
    url: (_db: string) => REDIS_URL,
  },
  {
    name: 'postgresql',
    available: rabbit && postgres,
    // The scenario's own database: dropping it removes the coordination tables too.
    url: (db: string) => `postgresql://postgres@127.0.0.1:5432/${db}`,
  },
] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

// ---- resources (all released in afterEach / afterAll, whatever happened) -------------------------

const databases: string[] = [];
const topics: string[] = [];
let vhostCreated = false;

async function withPg<T>(database: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: `${PG_SERVER}/${database}` });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** A fresh database and topic for one scenario. */
async function scenario(label: string): Promise<{ db: string; dbUrl: string; topic: string }> {
  const id = randomBytes(4).toString('hex');
  const db = `cluster_${label}_${id}`;
  await withPg('test', (c) => c.query(`CREATE DATABASE ${db}`));
  databases.push(db);
  // A throwaway database: commits need not wait for the disk (fewer latency spikes under load).
  await withPg('test', (c) => c.query(`ALTER DATABASE ${db} SET synchronous_commit = off`));
  const topic = `CLUSTER_${label.toUpperCase()}_${id.toUpperCase()}`;
  topics.push(topic);
  return { db, dbUrl: `postgresql://postgres@127.0.0.1:5432/${db}`, topic };
}

// ---- replicas --------------------------------------------------------------------------------

interface Replica {
  readonly host: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** stdout and stderr (JSON log lines). */
  out: string;
  readonly exited: Promise<void>;
}

const children = new Set<Replica>();
const alive = (r: Replica): boolean => r.proc.exitCode === null && r.proc.signalCode === null;

// Should the runner exit without afterEach, no replica outlives it (the fixture also checks).
process.on('exit', () => {
  for (const r of children) if (alive(r)) r.proc.kill('SIGKILL');
});

interface ReplicaOptions {
  readonly host: string;
  readonly topic: string;
  readonly backendUrl: string;
  readonly dbUrl: string;
  readonly set?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

function startReplica(o: ReplicaOptions): Replica {
  const set = [
    `coordination.backend_url=${o.backendUrl}`,
    `coordination.lease_ttl=${TTL}`,
    `coordination.heartbeat_interval=${BEAT}`,
    `database.connection=${o.dbUrl}`,
    `transport_url=${TRANSPORT_URL}`,
    'ops.listen=0',
    'periodic_fuzzy_delay=0',
    ...(o.set ?? []),
  ];
  const args = [
    CLI,
    'run',
    '--manager',
    `${FIXTURE}#SlotConductor`,
    '--topic',
    o.topic,
    '--host',
    o.host,
    ...set.flatMap((s) => ['--set', s]),
  ];
  const proc = spawn('node', args, {
    cwd: ROOT,
    env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const r: Replica = { host: o.host, proc, pid: proc.pid ?? -1, out: '', exited };
  proc.stdout?.on('data', (d: Buffer) => (r.out += d.toString('utf8')));
  proc.stderr?.on('data', (d: Buffer) => (r.out += d.toString('utf8')));
  children.add(r);
  return r;
}

/** Resolves with Date.now() once the replica logged "Service started". */
function started(r: Replica): Promise<number> {
  return until(
    `${r.host} to start`,
    () => {
      if (r.out.includes('"msg":"Service started"')) return Date.now();
      if (!alive(r)) throw new Error(`${r.host} exited before it started:\n${r.out}`);
      return undefined;
    },
    30_000,
  );
}

async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (r) => {
      if (alive(r)) r.proc.kill('SIGKILL');
      await Promise.race([r.exited, sleep(5000)]);
      children.delete(r);
    }),
  );
}

/** The JSON log lines of a replica whose `msg` contains `msg`. */
function logLines(r: Replica, msg: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of r.out.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (typeof entry['msg'] === 'string' && entry['msg'].includes(msg)) lines.push(entry);
    } catch {
      // a partial last line
    }
  }
  return lines;
}

/**
 * The runs of the slot task the replica's scheduler reported skipped (`fell behind: skipped N
 * run(s)`: a run overran, here under CPU load) in lines logged from `since` (Date.now() ms).
 */
function skippedRuns(r: Replica, since: number): number {
  let n = 0;
  for (const l of logLines(r, 'SlotConductor.record_slot fell behind'))
    if ((l['time'] as number) >= since) n += l['missed'] as number;
  return n;
}

/** On failure: the end of every replica's output, for the diagnosis. */
function dumpOnFailure(replicas: () => readonly Replica[]): void {
  onTestFailed(() => {
    for (const r of replicas()) {
      const tail = r.out.split('\n').slice(-60).join('\n');
      process.stderr.write(`\n--- ${r.host} (pid ${r.pid}), last lines ---\n${tail}\n`);
    }
  });
}

// ---- counting --------------------------------------------------------------------------------

interface SlotRow {
  readonly slot: number;
  readonly member: string;
  readonly token: number;
  readonly pid: number;
  /** Date.now() in the replica when it ran the slot. */
  readonly at: number;
}

async function slotRows(c: pg.Client, table: string): Promise<SlotRow[]> {
  const r = await c.query<{
    slot: string;
    member: string;
    token: string;
    pid: number;
    at_ms: number;
  }>(`SELECT slot::text, member, token::text, pid, at_ms FROM ${table} ORDER BY slot, at_ms`);
  return r.rows.map((x) => ({
    slot: Number(x.slot),
    member: x.member,
    token: Number(x.token),
    pid: x.pid,
    at: x.at_ms,
  }));
}

/** Slots recorded more than once. */
function duplicated(rows: readonly SlotRow[]): number[] {
  const seen = new Map<number, number>();
  for (const r of rows) seen.set(r.slot, (seen.get(r.slot) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([s]) => s);
}

/** How many slots between the first and last of `rows` were not recorded. */
function gaps(rows: readonly SlotRow[]): number {
  if (rows.length === 0) return 0;
  const slots = new Set(rows.map((r) => r.slot));
  const first = Math.min(...slots);
  const last = Math.max(...slots);
  return last - first + 1 - slots.size;
}

// ---- the file's setup ------------------------------------------------------------------------

const anyBackend = BACKENDS.some((b) => b.available);

beforeAll(async () => {
  if (!anyBackend) return;
  ensureBuilt();
  await execFileP('rabbitmqctl', ['add_vhost', VHOST], { timeout: 30_000 });
  vhostCreated = true;
  await execFileP('rabbitmqctl', ['set_permissions', '-p', VHOST, 'guest', '.*', '.*', '.*'], {
    timeout: 30_000,
  });
}, 180_000);

afterEach(async () => {
  await killAll();
}, 30_000);

afterAll(async () => {
  await killAll();
  const failures: unknown[] = [];
  const attempt = async (work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      failures.push(err);
    }
  };
  for (const db of databases)
    await attempt(() =>
      withPg('test', (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)),
    );
  if (BACKENDS[0].available)
    for (const topic of topics)
      await attempt(() => dropRedisKeys(REDIS_URL, `conductor:*${topic}*`));
  if (vhostCreated)
    await attempt(() => execFileP('rabbitmqctl', ['delete_vhost', VHOST], { timeout: 30_000 }));
  if (failures.length > 0) throw new AggregateError(failures, 'cleanup failed');
}, 60_000);

// ---- the sharded VIM monitor ----------------------------------------------------------------

/** A window in which every VIM was probed once. */
const ONCE = { probes: VIMS, distinct: VIMS, unknown: 0 };

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

interface VimEndpoint {
  /** The VIMs registered. */
  readonly ids: readonly string[];
  /** Every probe received: the VIM and Date.now() on arrival. */
  readonly probes: readonly { readonly id: string; readonly at: number }[];
  close(): Promise<void>;
}

/** VIMS VIMs in the store at `dbUrl`, all on one local endpoint that records each probe. */
async function vimEndpoint(dbUrl: string): Promise<VimEndpoint> {
  const probes: { id: string; at: number }[] = [];
  // Answers 401 as Keystone does: reachable.
  const server: Server = createServer((req, res) => {
    const m = /^\/vim\/([^/?]+)/.exec(req.url ?? '');
    if (m) probes.push({ id: m[1] as string, at: Date.now() });
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":"unauthorized"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const { port } = server.address() as AddressInfo;
  const ids = Array.from({ length: VIMS }, () => randomUUID());
  try {
    const store = await openStore(dbUrl);
    try {
      for (let i = 0; i < VIMS; i += 50) {
        await Promise.all(
          ids.slice(i, i + 50).map((id, j) =>
            store.registerVim({
              id,
              name: `vim-${String(i + j).padStart(3, '0')}`,
              authUrl: `http://127.0.0.1:${port}/vim/${id}`,
              // Already what the probes find: the runs only probe, no status writes.
              status: 'REACHABLE',
            }),
          ),
        );
      }
    } finally {
      await store.close();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { ids, probes, close };
}

/**
 * One sharded scenario: its VIMs on a recording endpoint, three replicas started, their windows,
 * and the first window to check: two after the last start (a replica's first run is immediate, off
 * the grid; the others see it join within a heartbeat). The caller closes the endpoint.
 */
async function vimCluster(label: string, backendUrl: (db: string) => string) {
  const { db, dbUrl, topic } = await scenario(label);
  const endpoint = await vimEndpoint(dbUrl);
  try {
    const replicas = Array.from({ length: REPLICAS }, (_, i) =>
      startReplica({
        host: `${label}-${i + 1}`,
        topic,
        backendUrl: backendUrl(db),
        dbUrl,
        set: [`vim_monitor.interval=${INTERVAL}`],
      }),
    );
    dumpOnFailure(() => replicas);
    const up = Math.max(...(await Promise.all(replicas.map(started))));
    const w0 = Math.round(up / 1000 / INTERVAL) + 2;
    return { endpoint, replicas, win: vimWindows(replicas, endpoint), w0 };
  } catch (err) {
    await endpoint.close();
    throw err;
  }
}

/**
 * The probes in windows of one interval on the cluster's grid (multiples of the interval in Unix
 * time, the same on every replica). Runs start on the grid (plus lateness); a window begins just
 * before a grid point, so that a run's probes, received while it runs, fall in its window even when
 * a loaded machine makes it late and long. (Estimating the grid from the runs went wrong when the
 * estimate came early: replicas' first runs are immediate, off the grid.)
 */
function vimWindows(replicas: readonly Replica[], endpoint: VimEndpoint) {
  const runs = (r: Replica) => logLines(r, 'VIM monitor run');
  /** When a run began, ms (its line is logged at its end). */
  const startOf = (l: Record<string, unknown>): number =>
    (l['time'] as number) - (l['duration'] as number) * 1000;
  /** Margin before a grid point at which its window begins (runs never start early). */
  const EARLY = 0.1;
  const windowOf = (at: number): number => Math.floor((at / 1000 + EARLY) / INTERVAL);
  const known = new Set<string>(endpoint.ids);
  const count = (w: number): { probes: number; distinct: number; unknown: number } => {
    const seen = new Set<string>();
    let probes = 0;
    let unknown = 0;
    for (const p of endpoint.probes) {
      if (windowOf(p.at) !== w) continue;
      probes++;
      seen.add(p.id);
      if (!known.has(p.id)) unknown++;
    }
    return { probes, distinct: seen.size, unknown };
  };
  /** Replica `i`'s share of window `w` ('-' for none), from its run lines. */
  const shareOf = (w: number, i: number): string =>
    runs(replicas[i] as Replica)
      .filter((l) => windowOf(startOf(l)) === w)
      .map((l) => String(l['vims']))
      .join('+') || '-';
  const shares = (w: number): string[] => replicas.map((_, i) => shareOf(w, i));
  return {
    windowOf,
    count,
    shareOf,
    /** The replicas with a share of window `w`. */
    sharers: (w: number): string[] => shares(w).filter((s) => s !== '-'),
    /** Resolves once `fraction` of window `w` has passed. */
    untilPast: async (w: number, fraction: number): Promise<void> => {
      const at = ((w + fraction) * INTERVAL - EARLY) * 1000;
      if (Date.now() < at) await sleep(at - Date.now());
    },
    report: (ws: readonly number[]): string =>
      ws
        .map((w) => {
          const k = count(w);
          return `${k.probes} probes/${k.distinct} VIMs (${shares(w).join('/')})`;
        })
        .join(', '),
    longest: (): number =>
      Math.max(0, ...replicas.flatMap((r) => runs(r).map((l) => l['duration'] as number))),
  };
}

// ---- the scenarios ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  describe.runIf(backend.available)(`three conductor processes on ${backend.name}`, () => {
    it('once-per-cluster: every slot runs exactly once, and a SIGKILLed holder is taken over within lease_ttl + a heartbeat', async () => {
      const { db, dbUrl, topic } = await scenario('slots');
      const table = `slots_${suffix}`;
      await withPg(db, (c) =>
        c.query(
          `CREATE TABLE ${table} (slot bigint NOT NULL, member text NOT NULL, token bigint NOT NULL, pid integer NOT NULL, at_ms double precision NOT NULL)`,
        ),
      );
      const replicas = Array.from({ length: REPLICAS }, (_, i) =>
        startReplica({
          host: `slots-${i + 1}`,
          topic,
          backendUrl: backend.url(db),
          dbUrl,
          // The VIM monitor has its own scenario (see the file's comment).
          set: ['vim_monitor.enabled=false'],
          env: { SLOT_TABLE: table, SLOT_SPACING: String(SPACING), SLOT_DB_URL: dbUrl },
        }),
      );
      dumpOnFailure(() => replicas);
      const up = Math.max(...(await Promise.all(replicas.map(started))));
      // Undisturbed: from half a second after the last replica started (start-up is CPU-bound).
      const settled = up + 500;

      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      try {
        await until(
          `${SLOTS} slots`,
          async () => {
            const r = await c.query<{ n: string }>(
              `SELECT count(*) AS n FROM ${table} WHERE at_ms >= $1`,
              [settled],
            );
            return Number(r.rows[0]?.n) >= SLOTS ? true : undefined;
          },
          SLOTS * SPACING * 1000 + 20_000,
        );
        const before = await slotRows(c, table);
        const latest = before.at(-1) as SlotRow;
        const victim = replicas.find((r) => r.pid === latest.pid);
        expect(victim, `the holder's pid ${latest.pid} is one of the replicas`).toBeDefined();
        const killedAt = Date.now();
        victim?.proc.kill('SIGKILL');
        await victim?.exited;

        // Another replica takes over: wait for a second of its slots.
        await until(
          'the takeover',
          async () => {
            const r = await c.query<{ n: string }>(
              `SELECT count(*) AS n FROM ${table} WHERE pid <> $1 AND at_ms > $2`,
              [latest.pid, killedAt],
            );
            return Number(r.rows[0]?.n) >= 1 / SPACING ? true : undefined;
          },
          15_000,
        );
        const rows = await slotRows(c, table);

        // No slot ever ran twice.
        expect(duplicated(rows)).toEqual([]);

        const old = rows.filter((r) => r.pid === latest.pid);
        const lastOld = Math.max(...old.map((r) => r.slot));
        const undisturbed = rows.filter((r) => r.at >= settled && r.slot <= lastOld);
        const startup = rows.filter((r) => r.at < settled);
        const after = rows.filter((r) => r.slot > lastOld);
        const first = after[0] as SlotRow;

        // The undisturbed phase: every slot from its first to its last once, but for the runs
        // the holder's own scheduler reported skipped (a run overran under CPU load: nobody runs
        // a skipped slot, which is the scheduler's rule, not coordination's).
        const holderSkipped = skippedRuns(victim as Replica, settled);
        expect(undisturbed.length).toBeGreaterThanOrEqual(SLOTS - holderSkipped);
        const undisturbedGaps = gaps(undisturbed);
        expect({ unexplainedGaps: Math.max(0, undisturbedGaps - holderSkipped) }).toEqual({
          unexplainedGaps: 0,
        });
        // After the takeover: one survivor, every slot from its first once (same rule), larger
        // fencing tokens.
        const survivors = new Set(after.map((r) => r.pid));
        expect(survivors.size).toBe(1);
        expect(survivors.has(latest.pid)).toBe(false);
        const heir = replicas.find((r) => r.pid === first.pid) as Replica;
        const heirSkipped = skippedRuns(heir, first.at);
        const afterGaps = gaps(after);
        expect({ unexplainedGaps: Math.max(0, afterGaps - heirSkipped) }).toEqual({
          unexplainedGaps: 0,
        });
        expect(Math.min(...after.map((r) => r.token))).toBeGreaterThan(
          Math.max(...old.map((r) => r.token)),
        );

        const takeover = first.at - killedAt;
        const missing = first.slot - lastOld - 1;
        const bound = (TTL + BEAT + SPACING) * 1000;
        const holders = new Set(rows.filter((r) => r.slot <= lastOld).map((r) => r.pid)).size;
        console.log(
          `[${backend.name}] once-per-cluster: ${undisturbed.length} undisturbed slots, 0 duplicates, ` +
            `${undisturbedGaps} gaps (${holderSkipped} runs reported skipped by the holder); ` +
            `${startup.length} start-up slots, ${gaps([...startup, ...undisturbed])} gaps in all; ` +
            `holders before the kill: ${holders}; ` +
            `takeover ${takeover.toFixed(0)} ms after SIGKILL (bound ${bound} ms, ×2 slack); ` +
            `${missing} slot(s) missing in the takeover gap; ${after.length} slots by the new holder, ` +
            `0 duplicates, ${afterGaps} gaps (${heirSkipped} reported skipped)`,
        );
        expect(takeover).toBeLessThanOrEqual(2 * bound);
        expect(missing).toBeGreaterThanOrEqual(0);
      } finally {
        await c.end();
      }
    }, 60_000);

    it('sharded VIM monitor: every VIM probed exactly once per interval by 3 replicas, then by the 2 left after a SIGKILL', async () => {
      const { endpoint, replicas, win, w0 } = await vimCluster('vims', backend.url);
      try {
        // Three replicas: the windows after start-up.
        const three = range(w0, w0 + WINDOWS);
        // Kill in the window after the checked ones, so that every checked run has ended and
        // logged (a SIGKILL drops what the victim has not written yet); that window is part of
        // the transition, which is reported, not checked.
        await win.untilPast(w0 + WINDOWS, 0.5);
        const victim = replicas[1] as Replica;
        const killedAt = Date.now();
        victim.proc.kill('SIGKILL');
        await victim.exited;

        // Two replicas: once the victim's membership expired (lease_ttl), both saw it (a
        // heartbeat each) and a run started on the grid (an interval).
        const w1 = Math.ceil((killedAt / 1000 + TTL + 2 * BEAT + INTERVAL) / INTERVAL);
        const two = range(w1, w1 + WINDOWS);
        await win.untilPast(w1 + WINDOWS - 1, 1);
        const transition = range(w0 + WINDOWS, w1);
        const summary =
          `[${backend.name}] sharded: 3 replicas: ${win.report(three)}; ` +
          `after SIGKILL (transition): ${win.report(transition) || 'none'}; ` +
          `2 replicas: ${win.report(two)}; longest run ${win.longest().toFixed(3)} s`;
        console.log(summary);
        for (const w of [...three, ...two]) {
          expect({ window: w - w0, ...win.count(w) }, summary).toEqual({
            window: w - w0,
            ...ONCE,
          });
        }
        // Each window of three was shared by all three, each of two by the two survivors.
        for (const w of three) expect(win.sharers(w), summary).toHaveLength(3);
        for (const w of two) expect(win.shareOf(w, 1), summary).toBe('-');
      } finally {
        await endpoint.close();
      }
    }, 60_000);

    it('sharded VIM monitor: a replica stalled past lease_ttl (SIGSTOP) and resumed never gets a VIM probed twice; once settled, it has its share again', async () => {
      const { endpoint, replicas, win, w0 } = await vimCluster('stall', backend.url);
      try {
        const before = range(w0, w0 + 2);

        // Frozen between runs, in mid-window, for longer than its membership lasts: the others
        // take its VIMs. Resumed in mid-window too, so that its first (late) run falls in a
        // window whose VIMs the others have probed already: it must own none of them yet.
        await win.untilPast(w0 + 2, 0.5);
        const victim = replicas[1] as Replica;
        const stoppedAt = Date.now();
        victim.proc.kill('SIGSTOP');
        await sleep((TTL + 2) * 1000);
        victim.proc.kill('SIGCONT');
        const resumedAt = Date.now();

        // Settled: its heartbeat lands and settles (a heartbeat and the margin), each replica
        // polled (a heartbeat), and a run started on the grid.
        const w1 = Math.ceil((resumedAt / 1000 + 3 * BEAT + INTERVAL) / INTERVAL);
        const after = range(w1, w1 + WINDOWS);
        await win.untilPast(w1 + WINDOWS - 1, 1);
        const stalled = range(win.windowOf(stoppedAt) + 1, win.windowOf(resumedAt) + 1);
        const settling = range(win.windowOf(resumedAt) + 1, w1);
        const summary =
          `[${backend.name}] stall: before: ${win.report(before)}; ` +
          `stalled ${((resumedAt - stoppedAt) / 1000).toFixed(1)} s: ${win.report(stalled)}; ` +
          `resumed: ${win.report(settling) || 'none'}; after: ${win.report(after)}; ` +
          `longest run ${win.longest().toFixed(3)} s`;
        console.log(summary);
        // Never a VIM probed twice in a window, from before the stall to the end.
        for (const w of range(w0, w1 + WINDOWS)) {
          const k = win.count(w);
          expect({ window: w - w0, twice: k.probes - k.distinct }, summary).toEqual({
            window: w - w0,
            twice: 0,
          });
        }
        // The two others covered the stalled replica's VIMs while it was frozen.
        expect(
          stalled.some((w) => win.count(w).distinct === VIMS && win.shareOf(w, 1) === '-'),
          summary,
        ).toBe(true);
        for (const w of [...before, ...after]) {
          expect({ window: w - w0, ...win.count(w) }, summary).toEqual({ window: w - w0, ...ONCE });
          expect(win.sharers(w), summary).toHaveLength(3);
        }
      } finally {
        await endpoint.close();
      }
    }, 60_000);
  });
}
