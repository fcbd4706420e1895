/**
 * The conductor store's task states (`KyselyTaskStateStore`, migration 0002): one suite run on
 * SQLite in memory, on a SQLite file and on the real PostgreSQL at 127.0.0.1:5432 (a database of
 * its own, dropped at the end; skipped loudly when absent, required under CI=true).
 * `CONDUCTOR_TEST_PG_URL` overrides the admin URL.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, type Logger } from '../../../src/core/index.js';
import { InvalidStoreArgument, StoreClosedError } from '../../../src/conductor/errors.js';
import {
  ConductorStore,
  KyselyTaskStateStore,
  MIGRATION_TABLE,
  openStore,
  parseDatabaseUrl,
  type ConductorDatabase,
  type StoreDialect,
} from '../../../src/conductor/db/index.js';
import { conductorMigrator } from '../../../src/conductor/db/migrations.js';
import { TASK_STATE_LOAD_CHUNK } from '../../../src/conductor/db/task-states.js';
import {
  emptyTaskState,
  type TaskKey,
  type TaskState,
  type TaskStateStore,
} from '../../../src/periodic/task-state.js';
import { type LogLine, captureLogs } from '../../helpers/log-capture.js';
import { PG_URL, requirePostgres } from '../../helpers/services.js';

const pgAvailable = await requirePostgres();

const captureLogger = captureLogs;

const applied = (lines: LogLine[]): unknown[] =>
  lines.filter((l) => l.msg === 'applied database migration').map((l) => l.migration);

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Unix seconds of a time in ms since T0 (integer ms / 1000: the double the store reads back). */
const at = (ms: number): number => (1_714_557_600_123 + ms) / 1000;
/** 2024-05-01T10:00:00.123Z in Unix seconds. */
const T0 = at(0);

function state(key: TaskKey, fields: Partial<TaskState> = {}): TaskState {
  return { ...emptyTaskState(key), ...fields };
}

/** A state with every field set (the counts beyond 32 bits). */
function full(key: TaskKey): TaskState {
  return state(key, {
    lastScheduled: T0,
    lastStart: at(500),
    lastEnd: at(2250),
    outcome: 'error',
    error: `it's "broken"\nline 2`,
    runCount: 2 ** 40 + 1,
    missedCount: 3,
    skippedCount: Number.MAX_SAFE_INTEGER,
    timeoutCount: 1,
  });
}

/** Code-point order of (service, task, scope), as both dialects sort the key columns. */
const byKey = (a: TaskKey, b: TaskKey): number => {
  for (const c of ['service', 'task', 'scope'] as const) {
    const x = [...a[c]].map((ch) => ch.codePointAt(0) as number);
    const y = [...b[c]].map((ch) => ch.codePointAt(0) as number);
    for (let i = 0; i < Math.min(x.length, y.length); i++)
      if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
    if (x.length !== y.length) return x.length - y.length;
  }
  return 0;
};

/** What a backend gives the suite. */
interface Backend {
  dialect: StoreDialect;
  url: string;
  cwd?: string;
  /** A fresh empty database, or undefined where there is none to reopen (memory). */
  scratch?(): Promise<string>;
  /** A bare Kysely on `url`, no migrations applied. */
  raw?(url: string): Kysely<ConductorDatabase>;
  cleanup(): Promise<void>;
}

interface Ctx {
  backend: Backend;
  store: ConductorStore;
  states: TaskStateStore;
  log: { logger: Logger; lines: LogLine[] };
}

/** `reopen`: the database outlives its connections (a file, a server); another can open it. */
function taskStateSuite(name: string, reopen: boolean, setup: () => Promise<Backend>): void {
  const ctx = {} as Ctx;
  // Tests that only make sense on one kind of backend are defined only there.
  type Test = (title: string, fn: () => Promise<void>) => void;
  const ifReopen: Test = reopen ? (title, fn) => it(title, fn) : () => undefined;
  const ifMemory: Test = reopen ? () => undefined : (title, fn) => it(title, fn);
  describe(name, () => {
    beforeAll(async () => {
      ctx.backend = await setup();
      ctx.log = captureLogger();
      ctx.store = await openStore(ctx.backend.url, {
        cwd: ctx.backend.cwd,
        logger: ctx.log.logger,
      });
      ctx.states = ctx.store.taskStates;
    });
    afterAll(async () => {
      await ctx.store?.close();
      await ctx.backend?.cleanup();
    });

    it('applies 0002_task_states after 0001_initial at open', async () => {
      expect(applied(ctx.log.lines)).toEqual(['0001_initial', '0002_task_states']);
      const { rows } = await sql<{
        name: string;
      }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(ctx.store.db);
      expect(rows.map((r) => r.name)).toEqual(['0001_initial', '0002_task_states']);
      expect(ctx.store.taskStates).toBe(ctx.states);
      expect(ctx.states).toBeInstanceOf(KyselyTaskStateStore);
    });

    it('round-trips every field: nulls, fractional seconds (ms), counts over 32 bits', async () => {
      const service = unique('rt');
      const fresh = emptyTaskState({ service, task: 'A.fresh', scope: 'host-1' });
      const partial = state(
        { service, task: 'A.running', scope: 'cluster' },
        { lastScheduled: T0, lastStart: at(1), outcome: null, runCount: 1 },
      );
      const done = full({ service, task: 'A.done', scope: 'host-1' });
      for (const s of [fresh, partial, done]) await ctx.states.save(s);
      expect(await ctx.states.load([fresh, partial, done])).toEqual([fresh, partial, done]);
      const [got] = await ctx.states.load([done]);
      expect(got?.lastStart).toBe(1_714_557_600.623);
      expect(got?.lastEnd).toBe(1_714_557_602.373);
      expect(got?.skippedCount).toBe(Number.MAX_SAFE_INTEGER);
      // The keys only: extra fields of the argument are not stored.
      expect(Object.keys(got ?? {}).sort()).toEqual(Object.keys(done).sort());
    });

    it('stores times to the millisecond (sub-millisecond digits are rounded)', async () => {
      const key = { service: unique('ms'), task: 'A.t', scope: 'h' };
      await ctx.states.save(
        state(key, { lastScheduled: 1.0004, lastStart: 2.9996, lastEnd: T0 + 1e-4 }),
      );
      const [got] = await ctx.states.load([key]);
      expect(got).toMatchObject({ lastScheduled: 1, lastStart: 3, lastEnd: T0 });
    });

    it('a save replaces the stored state of its key (nulls too), sets updated_at', async () => {
      const key = { service: unique('up'), task: 'A.t', scope: 'h' };
      const before = Date.now();
      await ctx.states.save(full(key));
      const second = state(key, { lastScheduled: at(60_000), runCount: 7 });
      await ctx.states.save(second);
      expect(await ctx.states.load([key])).toEqual([second]);
      expect(await ctx.states.list({ service: key.service })).toEqual([second]);
      const third = { ...full(key), outcome: 'timeout' as const, timeoutCount: 2 };
      await ctx.states.save(third);
      expect(await ctx.states.load([key])).toEqual([third]);
      const row = await ctx.store.db
        .selectFrom('task_states')
        .select('updated_at')
        .where('service', '=', key.service)
        .executeTakeFirstOrThrow();
      const updated = new Date(row.updated_at).getTime();
      expect(updated).toBeGreaterThanOrEqual(before - 1);
      expect(updated).toBeLessThanOrEqual(Date.now() + 1);
    });

    it('load leaves absent keys out and answers in the order of the keys', async () => {
      const service = unique('load');
      const a = full({ service, task: 'A.a', scope: 'h' });
      const b = state({ service, task: 'A.b', scope: 'h' }, { runCount: 2 });
      await ctx.states.save(a);
      await ctx.states.save(b);
      expect(await ctx.states.load([])).toEqual([]);
      expect(await ctx.states.load([{ service, task: 'A.none', scope: 'h' }])).toEqual([]);
      const missing = [
        { service, task: 'A.a', scope: 'other-host' },
        { service, task: 'A.A', scope: 'h' },
        { service: `${service}x`, task: 'A.a', scope: 'h' },
      ];
      expect(await ctx.states.load([b, ...missing, a])).toEqual([b, a]);
      // Like the memory store: a key asked twice is answered twice.
      expect(await ctx.states.load([a, a])).toEqual([a, a]);
    });

    it('lists by service, task, scope (code-point order on both dialects), filtered', async () => {
      const prefix = unique('list');
      const services = [`${prefix}-b`, `${prefix}-a`, `${prefix}-B`];
      const tasks = ['Z.t', 'a.t', 'B.t', 'é.t', '_.t'];
      const scopes = ['host-2', 'cluster', 'Host-1', 'host-10'];
      const saved: TaskState[] = [];
      for (const service of services)
        for (const task of tasks)
          for (const scope of scopes) saved.push(state({ service, task, scope }, { runCount: 1 }));
      // Saved out of order.
      for (const s of [...saved].reverse()) await ctx.states.save(s);
      const one = await ctx.states.list({ service: `${prefix}-a` });
      expect(one).toEqual(saved.filter((s) => s.service === `${prefix}-a`).sort(byKey));
      const all = await ctx.states.list();
      expect(all.filter((s) => s.service.startsWith(prefix))).toEqual([...saved].sort(byKey));
      expect([...all].sort(byKey)).toEqual(all);
      expect(await ctx.states.list({})).toEqual(all);
      expect(await ctx.states.list({ service: `${prefix}-none` })).toEqual([]);
    });

    it(`loads 1,000 keys (chunks of ${TASK_STATE_LOAD_CHUNK}) in the order asked`, async () => {
      const service = unique('many');
      const saved = Array.from({ length: 1000 }, (_, i) =>
        state(
          { service, task: `Task.t${i % 10}`, scope: `host-${Math.floor(i / 10)}` },
          { lastScheduled: at(i * 1000), runCount: i },
        ),
      );
      await Promise.all(saved.map((s) => ctx.states.save(s)));
      const keys: TaskKey[] = [];
      for (const [i, s] of [...saved].reverse().entries()) {
        keys.push({ service: s.service, task: s.task, scope: s.scope });
        if (i % 5 === 0) keys.push({ service, task: 'Task.absent', scope: `host-${i}` });
      }
      expect(keys.length).toBeGreaterThan(2 * TASK_STATE_LOAD_CHUNK);
      expect(await ctx.states.load(keys)).toEqual([...saved].reverse());
      expect(await ctx.states.list({ service })).toHaveLength(1000);
    });

    it('keeps keys with unicode, quotes and SQL-looking text', async () => {
      const key = {
        service: `${unique('q')} it's "quoted"; drop table task_states; --`,
        task: 'Ünïcødé.τάσκ_🚀',
        scope: "back\\slash `tick` 'single' %_ 日本",
      };
      const s = full(key);
      await ctx.states.save({ ...s, error: 'ошибка: "😱" \\ \'' });
      const back = { ...s, error: 'ошибка: "😱" \\ \'' };
      expect(await ctx.states.load([key])).toEqual([back]);
      expect(await ctx.states.list({ service: key.service })).toEqual([back]);
      // LIKE wildcards in a filter are plain text.
      expect(await ctx.states.list({ service: '%' })).toEqual([]);
      expect(await ctx.states.load([{ ...key, scope: key.scope.toUpperCase() }])).toEqual([]);
    });

    it('rejects bad arguments with InvalidStoreArgument and writes nothing', async () => {
      const key = { service: unique('bad'), task: 'A.t', scope: 'h' };
      const bad: Partial<TaskState>[] = [
        { service: '' },
        { task: 42 as never },
        { scope: 'a\u0000b' },
        { lastScheduled: Number.NaN },
        { lastStart: Number.POSITIVE_INFINITY },
        { lastEnd: 253_402_300_800 }, // year 10000
        { lastEnd: '1' as never },
        { outcome: 'done' as never },
        { error: 5 as never },
        { error: 'a\u0000' },
        { runCount: -1 },
        { missedCount: 1.5 },
        { skippedCount: 2 ** 53 },
        { timeoutCount: '1' as never },
      ];
      for (const fields of bad) {
        const err = await ctx.states.save(state(key, fields)).catch((e: unknown) => e);
        expect(err, JSON.stringify(fields)).toBeInstanceOf(InvalidStoreArgument);
        expect(err).toBeInstanceOf(InvalidOptionError);
        expect(err).toMatchObject({ code: 'CONDUCTOR_STORE_INVALID_ARGUMENT' });
      }
      expect(await ctx.states.list({ service: key.service })).toEqual([]);
      await expect(ctx.states.save(null as never)).rejects.toThrow(InvalidStoreArgument);
      await expect(ctx.states.load('x' as never)).rejects.toThrow(InvalidStoreArgument);
      await expect(ctx.states.load([null as never])).rejects.toThrow(InvalidStoreArgument);
      await expect(ctx.states.load([{ ...key, scope: '\u0000' }])).rejects.toThrow(
        InvalidStoreArgument,
      );
      await expect(ctx.states.list({ service: 1 as never })).rejects.toThrow(InvalidStoreArgument);
      // Year 1 and year 9999 are fine.
      const edges = state(key, { lastScheduled: -62_135_596_800, lastEnd: 253_402_300_799.999 });
      await ctx.states.save(edges);
      expect(await ctx.states.load([key])).toEqual([edges]);
    });

    ifReopen('concurrent saves of one key from two connections leave one row', async () => {
      const other = await openStore(ctx.backend.url, {
        cwd: ctx.backend.cwd,
        logger: captureLogger().logger,
      });
      try {
        const key = { service: unique('race'), task: 'A.t', scope: 'cluster' };
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? other : ctx.store).taskStates.save(state(key, { runCount: i })),
          ),
        );
        const rows = await other.taskStates.list({ service: key.service });
        expect(rows).toHaveLength(1);
        expect(await ctx.states.load([key])).toEqual(rows);
      } finally {
        await other.close();
      }
    });

    ifMemory('a new in-memory database has the table (nothing older to reopen)', async () => {
      const store = await openStore(ctx.backend.url, { logger: captureLogger().logger });
      try {
        expect(await store.taskStates.list()).toEqual([]);
      } finally {
        await store.close();
      }
    });

    ifReopen('migrates a database that has only 0001_initial, keeping its rows', async () => {
      const { scratch, raw } = ctx.backend;
      if (!scratch || !raw) throw new Error(`${name}: a reopenable backend needs scratch and raw`);
      const url = await scratch();
      const old = raw(url);
      let vimId: string;
      try {
        const result = await conductorMigrator(old, ctx.backend.dialect).migrateTo('0001_initial');
        expect(result.error).toBeUndefined();
        expect(result.results?.map((r) => r.migrationName)).toEqual(['0001_initial']);
        const oldStore = new ConductorStore(old, ctx.backend.dialect);
        vimId = (await oldStore.registerVim({ name: 'old', authUrl: 'http://h/' })).id;
        await expect(oldStore.taskStates.list()).rejects.toThrow(/task_states/);
      } finally {
        await old.destroy();
      }
      const log = captureLogger();
      const store = await openStore(url, { cwd: ctx.backend.cwd, logger: log.logger });
      try {
        expect(applied(log.lines)).toEqual(['0002_task_states']);
        expect((await store.getVim(vimId))?.name).toBe('old');
        const s = full({ service: 's', task: 'A.t', scope: 'h' });
        await store.taskStates.save(s);
        expect(await store.taskStates.list()).toEqual([s]);
        // And back down: 0002's down drops only its table.
        const down = await conductorMigrator(store.db, ctx.backend.dialect).migrateDown();
        expect(down.error).toBeUndefined();
        await expect(store.taskStates.list()).rejects.toThrow(/task_states/);
        expect((await store.getVim(vimId))?.name).toBe('old');
      } finally {
        await store.close();
      }
    });

    it('rejects with StoreClosedError after close', async () => {
      const store = await openStore(ctx.backend.url, {
        cwd: ctx.backend.cwd,
        logger: captureLogger().logger,
      });
      const states = store.taskStates;
      await store.close();
      const key = { service: 's', task: 't', scope: 'h' };
      await expect(states.save(emptyTaskState(key))).rejects.toThrow(StoreClosedError);
      await expect(states.load([key])).rejects.toThrow(StoreClosedError);
      await expect(store.taskStates.list()).rejects.toThrow(StoreClosedError);
    });
  });
}

// ---- SQLite ----------------------------------------------------------------------------------

taskStateSuite('task states on SQLite in memory', false, () =>
  Promise.resolve({ dialect: 'sqlite', url: 'sqlite://', cleanup: () => Promise.resolve() }),
);

taskStateSuite('task states on a SQLite file', true, () => {
  const dir = mkdtempSync(join(tmpdir(), 'conductor-task-states-'));
  let n = 0;
  return Promise.resolve({
    dialect: 'sqlite',
    url: 'sqlite:///task-states.db',
    cwd: dir,
    scratch: () => Promise.resolve(`sqlite:///scratch-${++n}.db`),
    raw(url) {
      const target = parseDatabaseUrl(url, dir);
      if (target.dialect !== 'sqlite') throw new Error(`not a sqlite URL: ${url}`);
      return new Kysely<ConductorDatabase>({
        dialect: new SqliteDialect({ database: new Database(target.filename) }),
      });
    },
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
});

// ---- PostgreSQL ------------------------------------------------------------------------------

function pgUrl(database: string): string {
  const url = new URL(PG_URL);
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

describe.skipIf(!pgAvailable)('PostgreSQL', () => {
  taskStateSuite('task states on PostgreSQL', true, async () => {
    const created: string[] = [];
    const create = async (): Promise<string> => {
      const name = `conductor_task_states_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      await withPg(PG_URL, (c) => c.query(`create database ${name}`));
      created.push(name);
      return pgUrl(name);
    };
    return {
      dialect: 'postgres',
      url: await create(),
      scratch: create,
      raw: (url) =>
        new Kysely<ConductorDatabase>({
          dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }),
        }),
      cleanup: () =>
        withPg(PG_URL, async (c) => {
          for (const name of created) await c.query(`drop database if exists ${name} with (force)`);
        }),
    };
  });

  it('stores the counts as bigint and the key columns in the "C" collation', async () => {
    const name = `conductor_task_states_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await withPg(PG_URL, (c) => c.query(`create database ${name}`));
    try {
      const store = await openStore(pgUrl(name), { logger: captureLogger().logger });
      await store.close();
      const rows = await withPg(pgUrl(name), async (c) => {
        const r = await c.query<{ column_name: string; data_type: string; collation_name: string }>(
          `select column_name, data_type, collation_name from information_schema.columns
            where table_name = 'task_states' order by ordinal_position`,
        );
        return r.rows;
      });
      expect(rows.map((r) => [r.column_name, r.data_type, r.collation_name])).toEqual([
        ['service', 'text', 'C'],
        ['task', 'text', 'C'],
        ['scope', 'text', 'C'],
        ['last_scheduled', 'timestamp with time zone', null],
        ['last_start', 'timestamp with time zone', null],
        ['last_end', 'timestamp with time zone', null],
        ['outcome', 'text', null],
        ['error', 'text', null],
        ['run_count', 'bigint', null],
        ['missed_count', 'bigint', null],
        ['skipped_count', 'bigint', null],
        ['timeout_count', 'bigint', null],
        ['updated_at', 'timestamp with time zone', null],
      ]);
    } finally {
      await withPg(PG_URL, (c) => c.query(`drop database if exists ${name} with (force)`));
    }
  });
});
