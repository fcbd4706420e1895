/**
 * Issue 16, scenario 3, fast variant: PostgreSQL restarted while `update_vim` calls arrive. The built
 * bench/faults/postgres.ts (`npm run build` first; CI does) runs a conductor service in a child
 * process against a private cluster (test/helpers/pg-server.ts: never the machine's server), with 16
 * callers, and restarts the cluster three ways (fast stop, SIGKILL of the postmaster, immediate
 * stop); the figures it prints are asserted here. Beside it, the store's two failure paths, made
 * deterministic with locks: a connection lost inside the transaction (nothing written), and one
 * lost during the COMMIT (in doubt).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresFaultData } from '../../bench/faults/postgres.js';
import { parseResult } from '../../bench/faults/result.js';
import {
  type ConductorStore,
  DatabaseOpenError,
  DatabaseOutcomeUnknown,
  DatabaseUnavailable,
  openStore,
  type Vim,
} from '../../src/conductor/index.js';
import { createLogger } from '../../src/core/index.js';
import { hasPgServer, type PgServer, startPgServer, stopPgServers } from '../helpers/pg-server.js';
import { requireService } from '../helpers/services.js';

const SCRIPT = fileURLToPath(new URL('../../dist/bench/faults/postgres.js', import.meta.url));
const ready = await requireService('PostgreSQL server binaries (initdb, postgres)', hasPgServer());
const run = promisify(execFile);

describe.skipIf(!ready)('PostgreSQL restarted under update_vim load', () => {
  it('fails each call cleanly or succeeds, writes row and event together, reconnects by itself', async () => {
    if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run npm run build first`);
    const { stdout } = await run(
      process.execPath,
      [SCRIPT, '--seconds', '6', '--restarts', '3', '--down', '0.5', '--vims', '32'],
      { timeout: 90_000, maxBuffer: 1 << 24 },
    );
    const r = parseResult<PostgresFaultData>(stdout);
    const d = r.data;
    expect(d.restarts.map((x) => x.mode)).toEqual(['fast', 'kill', 'immediate']);
    expect(d.crashes).toBe(0);
    expect(d.exitedByItself).toBe(true);
    const res = d.result;
    expect(res).not.toBeNull();
    if (!res) return;
    // Every call settled: ok, or a DatabaseOpenError; none went unanswered.
    expect(res.timedOut).toBe(0);
    expect(res.hung).toBe(0);
    const failed = Object.values(res.failed).reduce((a, b) => a + b, 0);
    expect(res.ok + failed).toBe(res.calls);
    expect(failed).toBeGreaterThan(0); // the outages were seen
    for (const cls of Object.keys(res.failed))
      expect(['DatabaseUnavailable', 'DatabaseOutcomeUnknown']).toContain(cls);
    // Back after each restart, without restarting the service.
    expect(res.reconnectMs).toHaveLength(3);
    for (const ms of res.reconnectMs) expect(ms).not.toBeNull();
    expect(res.okAfterLastRestart).toBeGreaterThan(0);
    // The query afterwards: rows and events agree, and the events are the calls'.
    expect(d.check).toMatchObject({
      vims: 32,
      rowEventMismatches: 0,
      missingEvents: 0,
      extraEvents: 0,
      orphanEvents: 0,
    });
    expect(d.check?.events).toBeGreaterThanOrEqual(res.ok);
    expect(d.check?.events).toBeLessThanOrEqual(res.ok + res.inDoubt);
    expect(r.figures.filter((f) => f.ok === false)).toEqual([]);
  }, 120_000);
});

describe.skipIf(!ready)('the store when PostgreSQL goes away', () => {
  let server: PgServer;
  let store: ConductorStore;
  let admin: pg.Client;
  let vim: Vim;

  beforeAll(async () => {
    server = await startPgServer();
    store = await openStore(server.url, { logger: createLogger({ level: 'silent' }) });
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined); // it is cut by the restarts below, and reconnected
    await admin.connect();
    vim = await store.registerVim({ name: 'site-a', authUrl: 'http://a:5000/v3' });
  }, 60_000);

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await store?.close();
    await stopPgServers();
  });

  const events = async (): Promise<number> =>
    (await store.listEvents(vim.id, { limit: 100 })).length;

  /** Waits (bounded) until the store's backend waits for a lock; returns its pid. */
  async function blockedBackend(): Promise<number> {
    const until = Date.now() + 10_000;
    for (;;) {
      const { rows } = await admin.query<{ pid: number }>(
        `select pid from pg_stat_activity where wait_event_type = 'Lock' and application_name = 'conductor-ts'`,
      );
      if (rows[0]) return rows[0].pid;
      if (Date.now() > until) throw new Error('the update never blocked');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A new admin connection (the restarts cut the old one), the server started if a test left it down. */
  async function reconnectAdmin(): Promise<void> {
    await server.start();
    await admin.end().catch(() => undefined);
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  }

  /** The pids of the server's client backends (the store's pool among them). */
  async function clientBackends(): Promise<number[]> {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ pid: number }>(
        `select pid from pg_stat_activity where backend_type = 'client backend'`,
      );
      return rows.map((r) => r.pid);
    } finally {
      await c.end();
    }
  }

  /**
   * Waits (bounded) until the server's backend processes have exited. After a SIGKILL of the
   * postmaster alone, an orphaned backend still answers its connection until it notices: a call made
   * at once can succeed (it did, once, in CI), and is then written.
   */
  async function backendsGone(pids: readonly number[]): Promise<void> {
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    };
    const until = Date.now() + 10_000;
    while (pids.some(alive)) {
      if (Date.now() > until) throw new Error(`backends ${pids.filter(alive).join(', ')} live on`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('stopped or killed: a call fails at once with DatabaseUnavailable, the next after the start succeeds', async () => {
    await store.updateVimStatus(vim.id, 'REACHABLE');
    for (const stop of [
      () => server.stop('fast'),
      () => server.kill(),
      () => server.stop('immediate'),
    ]) {
      const pids = await clientBackends();
      await stop();
      await backendsGone(pids);
      const t0 = Date.now();
      const err = await store.updateVimStatus(vim.id, 'UNREACHABLE').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseUnavailable);
      expect(err).toMatchObject({ code: 'CONDUCTOR_DATABASE_UNAVAILABLE' });
      expect((err as Error).message).toMatch(/database is unavailable .*nothing was written/);
      expect(Date.now() - t0).toBeLessThan(5000);
      await expect(store.ping()).rejects.toBeInstanceOf(DatabaseUnavailable);
      await server.start();
      // The idle connections the stop cut were dropped by the pool (their errors handled): the
      // same store works again.
      await expect(store.updateVimStatus(vim.id, 'REACHABLE')).resolves.toBe('REACHABLE');
    }
    expect(await events()).toBe(4);
    expect((await store.getVim(vim.id))?.status).toBe('REACHABLE');
  }, 60_000);

  it('a connection lost inside the transaction: nothing was written', async () => {
    await reconnectAdmin();
    const before = await events();
    await admin.query('begin');
    await admin.query('select 1 from vims where id = $1 for update', [vim.id]);
    const call = store.updateVimStatus(vim.id, 'ERROR').catch((e: unknown) => e);
    const pid = await blockedBackend();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    const err = await call;
    await admin.query('rollback');
    expect(err).toBeInstanceOf(DatabaseUnavailable);
    expect((err as Error).message).toMatch(/nothing was written/);
    expect(await events()).toBe(before);
    expect((await store.getVim(vim.id))?.status).toBe('REACHABLE');
    await expect(store.updateVimStatus(vim.id, 'UNREACHABLE')).resolves.toBe('UNREACHABLE');
  }, 30_000);

  it('a connection lost during the COMMIT: in doubt, and both halves or neither were written', async () => {
    await reconnectAdmin();
    // A deferred trigger runs at COMMIT; it waits for an advisory lock the test holds.
    await admin.query(`
      create function hold_commit() returns trigger language plpgsql as
        $$ begin perform pg_advisory_xact_lock(4242); return null; end $$`);
    await admin.query(`
      create constraint trigger hold_commit after insert on events
        deferrable initially deferred for each row execute function hold_commit()`);
    try {
      const before = await events();
      await admin.query('select pg_advisory_lock(4242)');
      const call = store.updateVimStatus(vim.id, 'ERROR').catch((e: unknown) => e);
      const pid = await blockedBackend();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      const err = await call;
      await admin.query('select pg_advisory_unlock(4242)');
      expect(err).toBeInstanceOf(DatabaseOutcomeUnknown);
      expect(err).toMatchObject({ code: 'CONDUCTOR_DATABASE_OUTCOME_UNKNOWN' });
      // Still a DatabaseOpenError, as before the two classes existed.
      expect(err).toBeInstanceOf(DatabaseOpenError);
      expect((err as Error).message).toMatch(/the outcome is unknown/);
      // Here the server had not committed: neither half is there.
      expect(await events()).toBe(before);
      expect((await store.getVim(vim.id))?.status).toBe('UNREACHABLE');
    } finally {
      await admin.query('drop trigger if exists hold_commit on events');
      await admin.query('drop function if exists hold_commit()');
    }
    await expect(store.updateVimStatus(vim.id, 'REACHABLE')).resolves.toBe('REACHABLE');
  }, 30_000);
});
