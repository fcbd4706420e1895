/**
 * The conductor store: one suite run on SQLite (a temp folder) and on the real PostgreSQL at
 * 127.0.0.1:5432 (a database of its own, dropped at the end). PostgreSQL is skipped loudly when
 * absent (required under CI=true). `CONDUCTOR_TEST_PG_URL` overrides the admin URL.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidOptionError, type Logger } from '../../../src/core/index.js';
import {
  DatabaseMigrationError,
  DatabaseOpenError,
  InvalidVimError,
  InvalidVimStatusError,
  StoreClosedError,
  VimExistsError,
  VimNotFoundError,
} from '../../../src/conductor/errors.js';
import {
  isServiceUp,
  MIGRATION_TABLE,
  openStore,
  parseDatabaseUrl,
  VIM_STATUSES,
  isVimStatus,
  type ConductorStore,
  type ServiceRecord,
} from '../../../src/conductor/db/index.js';
import { serializeRemoteException } from '../../../src/messaging/index.js';
import { captureLogs, type LogLine } from '../../helpers/log-capture.js';
import { PG_URL, requirePostgres } from '../../helpers/services.js';

const PG_ADMIN_URL = PG_URL;
const pgAvailable = await requirePostgres();

const captureLogger = captureLogs;

const applied = (lines: LogLine[]): unknown[] =>
  lines.filter((l) => l.msg === 'applied database migration').map((l) => l.migration);

/** What the shared suite needs from a backend. */
interface Backend {
  /** The suite's database. */
  url: string;
  cwd?: string;
  /** A fresh empty database. */
  scratch(): Promise<string>;
  /** Runs SQL on a database from outside the store. */
  exec(url: string, text: string): Promise<void>;
  /** How many connections are open on a database (SQLite: whether a WAL file is left). */
  connections(url: string): Promise<number>;
  cleanup(): Promise<void>;
}

const T0 = new Date('2024-05-01T10:00:00.123Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

function storeSuite(name: string, setup: () => Promise<Backend>, extra?: (ctx: SuiteCtx) => void) {
  const ctx = {} as SuiteCtx;
  describe(name, () => {
    beforeAll(async () => {
      ctx.backend = await setup();
      ctx.log = captureLogger();
      ctx.store = await openStore(ctx.backend.url, {
        cwd: ctx.backend.cwd,
        logger: ctx.log.logger,
      });
    });
    afterAll(async () => {
      await ctx.store?.close();
      await ctx.backend?.cleanup();
    });

    describe('migrations', () => {
      it('apply at open, once; the migration table lists them', async () => {
        expect(applied(ctx.log.lines)).toEqual(['0001_initial', '0002_task_states']);
        const again = captureLogger();
        const second = await openStore(ctx.backend.url, {
          cwd: ctx.backend.cwd,
          logger: again.logger,
        });
        try {
          expect(applied(again.lines)).toEqual([]);
          const { rows } = await sql<{
            name: string;
          }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(second.db);
          expect(rows.map((r) => r.name)).toEqual(['0001_initial', '0002_task_states']);
        } finally {
          await second.close();
        }
      });

      it('a failing migration is a DatabaseMigrationError and the connection is closed', async () => {
        const url = await ctx.backend.scratch();
        await ctx.backend.exec(url, 'create table vims (id integer)');
        const err = await openStore(url, { cwd: ctx.backend.cwd, logger: captureLogger().logger })
          .then(() => undefined)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DatabaseMigrationError);
        expect(err).toMatchObject({
          code: 'CONDUCTOR_DATABASE_MIGRATION',
          migration: '0001_initial',
        });
        expect((err as Error).message).toMatch(/0001_initial failed/);
        await vi.waitFor(async () => expect(await ctx.backend.connections(url)).toBe(0));
      });
    });

    describe('VIMs', () => {
      it('registers with defaults, gets and lists by name', async () => {
        const prefix = unique('list');
        const b = await ctx.store.registerVim(
          { name: `${prefix}-b`, authUrl: 'https://keystone.example/identity/v3' },
          T0,
        );
        expect(b).toEqual({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          name: `${prefix}-b`,
          type: 'openstack',
          authUrl: 'https://keystone.example/identity/v3',
          description: '',
          tenantId: null,
          status: 'PENDING',
          isDefault: false,
          createdAt: T0,
          updatedAt: null,
        });
        const a = await ctx.store.registerVim(
          {
            id: `${prefix}-id`,
            name: `${prefix}-a`,
            authUrl: 'tcp://10.0.0.1:6633',
            type: 'kubernetes',
            description: 'lab',
            tenantId: 'tenant-1',
            status: 'REGISTERING',
          },
          at(1),
        );
        expect(a).toMatchObject({ id: `${prefix}-id`, type: 'kubernetes', tenantId: 'tenant-1' });
        expect(await ctx.store.getVim(b.id)).toEqual(b);
        expect(await ctx.store.getVim(a.id)).toEqual(a);
        expect(await ctx.store.getVim('no-such-vim')).toBeUndefined();
        const mine = (await ctx.store.listVims()).filter((v) => v.name.startsWith(prefix));
        expect(mine).toEqual([a, b]);
      });

      it('rejects a duplicate name or id with VimExistsError, keeping the first', async () => {
        const first = await ctx.store.registerVim({ name: unique('dup'), authUrl: 'http://h/' });
        await expect(
          ctx.store.registerVim({ name: first.name, authUrl: 'http://other/' }),
        ).rejects.toMatchObject({ code: 'CONDUCTOR_VIM_EXISTS', field: 'name', value: first.name });
        await expect(
          ctx.store.registerVim({ id: first.id, name: unique('dup'), authUrl: 'http://h/' }),
        ).rejects.toThrow(VimExistsError);
        await expect(
          ctx.store.registerVim({ id: first.id, name: unique('dup'), authUrl: 'http://h/' }),
        ).rejects.toMatchObject({ field: 'id' });
        expect(await ctx.store.getVim(first.id)).toEqual(first);
      });

      it('rejects bad input before writing', async () => {
        const name = unique('bad');
        const bad = [
          { name, authUrl: 'ftp://u:s3cret@host/' },
          { name, authUrl: 'not a url' },
          { name, authUrl: 'tcp://host' },
          { name, authUrl: '' },
          { name: ' ', authUrl: 'http://h/' },
          { id: '', name, authUrl: 'http://h/' },
          { id: 'x'.repeat(65), name, authUrl: 'http://h/' },
        ];
        for (const input of bad) {
          const err = await ctx.store.registerVim(input).catch((e: unknown) => e);
          expect(err, JSON.stringify(input)).toBeInstanceOf(InvalidVimError);
          expect((err as Error).message).not.toContain('s3cret');
        }
        await expect(
          ctx.store.registerVim({ name, authUrl: 'http://h/', status: 'UP' as never }),
        ).rejects.toThrow(InvalidVimStatusError);
        expect((await ctx.store.listVims()).some((v) => v.name === name)).toBe(false);
        // 64 characters is the limit, not beyond it.
        const id = `${randomUUID()}${'y'.repeat(28)}`;
        expect((await ctx.store.registerVim({ id, name, authUrl: 'http://h/' })).id).toBe(id);
      });
    });

    describe('updateVimStatus', () => {
      it('sets status and updated_at and writes exactly one MONITOR event', async () => {
        const vim = await ctx.store.registerVim({ name: unique('up'), authUrl: 'http://h/' }, T0);
        expect(await ctx.store.updateVimStatus(vim.id, 'REACHABLE', at(60))).toBe('REACHABLE');
        expect(await ctx.store.getVim(vim.id)).toEqual({
          ...vim,
          status: 'REACHABLE',
          updatedAt: at(60),
        });
        expect(await ctx.store.listEvents(vim.id)).toEqual([
          {
            id: expect.any(Number),
            resourceId: vim.id,
            resourceType: 'vim',
            resourceState: 'REACHABLE',
            eventType: 'MONITOR',
            eventDetails: '',
            timestamp: at(60),
          },
        ]);
      });

      it('an unknown VIM is VimNotFoundError (Tacker VimNotFoundException) and writes nothing', async () => {
        const id = unique('ghost');
        const err = await ctx.store.updateVimStatus(id, 'REACHABLE').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VimNotFoundError);
        expect(err).toMatchObject({
          code: 'CONDUCTOR_VIM_NOT_FOUND',
          message: `VIM ${id} could not be found`,
          pythonName: 'VimNotFoundException',
        });
        const failure = JSON.parse(serializeRemoteException(err));
        expect(failure).toMatchObject({
          class: 'VimNotFoundException',
          module: 'tacker.extensions.nfvo',
          message: `VIM ${id} could not be found`,
          kwargs: { vim_id: id },
        });
        expect(await ctx.store.listEvents(id)).toEqual([]);
      });

      it('an invalid status lists the allowed ones and writes nothing', async () => {
        const vim = await ctx.store.registerVim({ name: unique('inv'), authUrl: 'http://h/' });
        const err = await ctx.store
          .updateVimStatus(vim.id, 'ACTIVE' as never)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidVimStatusError);
        expect((err as Error).message).toContain(VIM_STATUSES.join(', '));
        expect(await ctx.store.getVim(vim.id)).toEqual(vim);
        expect(await ctx.store.listEvents(vim.id)).toEqual([]);
      });

      it('rolls the status back when the event insert fails', async () => {
        const vim = await ctx.store.registerVim({ name: unique('rb'), authUrl: 'http://h/' });
        await sql`alter table events rename to events_hidden`.execute(ctx.store.db);
        try {
          const err = await ctx.store.updateVimStatus(vim.id, 'ERROR').catch((e: unknown) => e);
          expect(err).toBeInstanceOf(Error);
          expect(err).not.toBeInstanceOf(VimNotFoundError);
        } finally {
          await sql`alter table events_hidden rename to events`.execute(ctx.store.db);
        }
        expect(await ctx.store.getVim(vim.id)).toEqual(vim);
        expect(await ctx.store.listEvents(vim.id)).toEqual([]);
      });

      it('lists events newest first, up to the limit', async () => {
        const vim = await ctx.store.registerVim({ name: unique('ev'), authUrl: 'http://h/' });
        const states = ['REACHABLE', 'UNREACHABLE', 'REACHABLE', 'ERROR'] as const;
        for (const [i, s] of states.entries()) await ctx.store.updateVimStatus(vim.id, s, at(i));
        const events = await ctx.store.listEvents(vim.id, { limit: 2 });
        expect(events.map((e) => [e.resourceState, e.timestamp])).toEqual([
          ['ERROR', at(3)],
          ['REACHABLE', at(2)],
        ]);
        expect(await ctx.store.listEvents(vim.id)).toHaveLength(4);
        await expect(ctx.store.listEvents(vim.id, { limit: 0 })).rejects.toThrow(
          InvalidOptionError,
        );
      });
    });

    describe('service heartbeats', () => {
      it('inserts on the first report, then counts and moves updated_at', async () => {
        const host = unique('host');
        const first = await ctx.store.reportService(
          { host, binary: 'tacker-conductor', topic: 'tacker_conductor' },
          T0,
        );
        expect(first).toEqual({
          id: expect.any(Number),
          host,
          binary: 'tacker-conductor',
          topic: 'tacker_conductor',
          reportCount: 1,
          disabled: false,
          createdAt: T0,
          updatedAt: null,
        });
        const second = await ctx.store.reportService(
          { host, binary: 'tacker-conductor', topic: 'tacker_conductor' },
          at(10),
        );
        expect(second).toEqual({ ...first, reportCount: 2, updatedAt: at(10) });
        const other = await ctx.store.reportService(
          { host, binary: 'a-binary', topic: 't' },
          at(11),
        );
        const mine = (await ctx.store.listServices()).filter((s) => s.host === host);
        expect(mine).toEqual([other, second]);
        await expect(
          ctx.store.reportService({ host: '', binary: 'b', topic: 't' }),
        ).rejects.toThrow(InvalidOptionError);
      });

      it('counts every one of concurrent reports from two connections', async () => {
        const host = unique('race');
        const other = await openStore(ctx.backend.url, {
          cwd: ctx.backend.cwd,
          logger: captureLogger().logger,
        });
        try {
          const report = { host, binary: 'tacker-conductor', topic: 'tacker_conductor' };
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) => (i % 2 ? other : ctx.store).reportService(report)),
          );
          expect(results.map((r) => r.reportCount).sort((x, y) => x - y)).toEqual([
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
          ]);
          const [row] = (await ctx.store.listServices()).filter((s) => s.host === host);
          expect(row?.reportCount).toBe(10);
        } finally {
          await other.close();
        }
      });
    });

    describe('ping and close', () => {
      it('pings while open; rejects with StoreClosedError after close (idempotent)', async () => {
        const store = await openStore(ctx.backend.url, {
          cwd: ctx.backend.cwd,
          logger: captureLogger().logger,
        });
        await expect(store.ping()).resolves.toBeUndefined();
        await Promise.all([store.close(), store.close()]);
        await store.close();
        expect(store.closed).toBe(true);
        await expect(store.ping()).rejects.toThrow(StoreClosedError);
        await expect(store.listVims()).rejects.toThrow(StoreClosedError);
      });
    });

    extra?.(ctx);
  });
}

interface SuiteCtx {
  backend: Backend;
  store: ConductorStore;
  log: { logger: Logger; lines: LogLine[] };
}

// ---- SQLite ----------------------------------------------------------------------------------

storeSuite(
  'ConductorStore on SQLite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conductor-store-'));
    const file = (url: string): string => {
      const target = parseDatabaseUrl(url, dir);
      if (target.dialect !== 'sqlite') throw new Error(`not a sqlite URL: ${url}`);
      return target.filename;
    };
    let n = 0;
    return {
      url: 'sqlite:///sub/dir/conductor.db', // relative to cwd; sub/dir does not exist yet
      cwd: dir,
      scratch: () => Promise.resolve(`sqlite:///scratch-${++n}.db`),
      exec(url, text) {
        const db = new Database(file(url));
        db.exec(text);
        db.close();
        return Promise.resolve();
      },
      // The last connection to close in WAL mode removes the -wal file.
      connections: (url) => Promise.resolve(existsSync(`${file(url)}-wal`) ? 1 : 0),
      cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  },
  (ctx) => {
    it('created the folder of a relative sqlite:/// path under cwd, in WAL mode', async () => {
      expect(existsSync(join(ctx.backend.cwd as string, 'sub', 'dir', 'conductor.db'))).toBe(true);
      const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(
        ctx.store.db,
      );
      expect(rows[0]?.journal_mode).toBe('wal');
    });

    it('opens an in-memory store', async () => {
      const store = await openStore('sqlite://', { logger: captureLogger().logger });
      await store.registerVim({ name: 'mem', authUrl: 'http://h/' });
      expect((await store.listVims()).map((v) => v.name)).toEqual(['mem']);
      await store.close();
    });
  },
);

// ---- PostgreSQL ------------------------------------------------------------------------------

function pgUrl(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const dbName = (url: string): string => new URL(url).pathname.slice(1);

describe.skipIf(!pgAvailable)('PostgreSQL', () => {
  storeSuite(
    'ConductorStore on PostgreSQL',
    async () => {
      const created: string[] = [];
      const create = async (): Promise<string> => {
        const name = `conductor_store_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        await withPg(PG_ADMIN_URL, (c) => c.query(`create database ${name}`));
        created.push(name);
        return pgUrl(name);
      };
      return {
        url: await create(),
        scratch: create,
        exec: (url, text) => withPg(url, async (c) => void (await c.query(text))),
        connections: (url) =>
          withPg(PG_ADMIN_URL, async (c) => {
            const r = await c.query<{ n: number }>(
              'select count(*)::int as n from pg_stat_activity where datname = $1',
              [dbName(url)],
            );
            return r.rows[0]?.n ?? 0;
          }),
        cleanup: () =>
          withPg(PG_ADMIN_URL, async (c) => {
            for (const name of created)
              await c.query(`drop database if exists ${name} with (force)`);
          }),
      };
    },
    (ctx) => {
      it('survives the server dropping its connections (idle client errors are logged)', async () => {
        // Several idle connections in the pool, then the server kills them all.
        await Promise.all(Array.from({ length: 4 }, () => ctx.store.ping()));
        const killed = await withPg(PG_ADMIN_URL, (c) =>
          c.query(
            'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
            [dbName(ctx.backend.url)],
          ),
        );
        // Every killed idle connection reports its loss (and leaves the pool) before the next
        // query: otherwise that query may pick one that has not noticed yet.
        await vi.waitFor(() =>
          expect(
            ctx.log.lines.filter((l) => /idle PostgreSQL connection lost/.test(l.msg)).length,
          ).toBeGreaterThanOrEqual(Math.max(1, killed.rowCount ?? 1)),
        );
        await ctx.store.ping();
        const vim = await ctx.store.registerVim({ name: unique('after'), authUrl: 'http://h/' });
        expect(await ctx.store.updateVimStatus(vim.id, 'REACHABLE')).toBe('REACHABLE');
        expect(await ctx.store.listEvents(vim.id)).toHaveLength(1);
      });
    },
  );
});

describe('openStore failures', () => {
  it('an unreachable PostgreSQL is a DatabaseMigrationError without the password', async () => {
    const err = await openStore('postgresql://tacker:s3cret@127.0.0.1:1/tacker', {
      logger: captureLogger().logger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseMigrationError);
    expect(err).toMatchObject({ migration: undefined });
    expect((err as Error).message).toMatch(
      /^Cannot migrate database 'postgresql:\/\/tacker:\*\*\*@/,
    );
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('a SQLite folder that cannot be created is a DatabaseOpenError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conductor-store-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      await expect(openStore('sqlite:///file/x.db', { cwd: dir })).rejects.toThrow(
        DatabaseOpenError,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- pure helpers ----------------------------------------------------------------------------

describe('isServiceUp and isVimStatus', () => {
  const record = (createdAt: Date, updatedAt: Date | null): ServiceRecord => ({
    id: 1,
    host: 'h',
    binary: 'b',
    topic: 't',
    reportCount: 1,
    disabled: false,
    createdAt,
    updatedAt,
  });

  it('is up while the last heartbeat is at most serviceDownTime seconds old', () => {
    expect(isServiceUp(record(T0, null), at(60), 60)).toBe(true);
    expect(isServiceUp(record(T0, null), new Date(at(60).getTime() + 1), 60)).toBe(false);
    expect(isServiceUp(record(T0, at(100)), at(160), 60)).toBe(true);
    expect(isServiceUp(record(T0, at(100)), at(160.001), 60)).toBe(false);
  });

  it('counts a heartbeat dated in the future by its distance, as Nova does (a wrong clock)', () => {
    expect(isServiceUp(record(T0, at(100)), at(40), 60)).toBe(true);
    expect(isServiceUp(record(T0, at(100)), at(39.999), 60)).toBe(false);
  });

  it('knows the VIM statuses', () => {
    expect(VIM_STATUSES.every(isVimStatus)).toBe(true);
    expect(isVimStatus('ACTIVE')).toBe(false);
    expect(isVimStatus(1)).toBe(false);
  });
});
