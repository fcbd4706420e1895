/**
 * The PostgreSQL coordination backend on the real server at 127.0.0.1:5432: the backend contract
 * (real sleeps, ttl 0.3 s), then what is PostgreSQL's own: table creation racing at start, failures
 * mapped to `CoordinationUnavailable` within the operation timeout, recovery on the same object
 * (through a TCP proxy that cuts and blocks), expiry by the database's clock. Every table lives
 * under a key prefix of this run, dropped at the end. Skipped loudly without PostgreSQL (required
 * under CI=true); `CONDUCTOR_TEST_PG_URL` overrides the URL.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { PostgresBackend } from '../../src/coordination/postgresql.js';
import { CoordinationUnavailable, InvalidCoordinationOption } from '../../src/core/index.js';
import {
  dropCoordinationTables,
  freePort,
  PG_URL,
  pgAdmin,
  requirePostgres,
} from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { backendContract } from './backend-contract.js';

const pgTarget = new URL(PG_URL);
const PG_HOST = pgTarget.hostname;
const PG_PORT = Number(pgTarget.port || 5432);
const pgAvailable = await requirePostgres();

/** This run's key prefix; others derive from it, and every one used is dropped in afterAll. */
const RUN = `t_pg_${process.pid}_${randomBytes(3).toString('hex')}`;
const prefixes = new Set<string>();
const prefix = (suffix = ''): string => {
  const p = RUN + suffix;
  prefixes.add(p);
  return p;
};

const sleep = (seconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** `PG_URL` with another host:port (same user, database and parameters). */
function urlAt(port: number, params: Record<string, string> = {}): string {
  const u = new URL(PG_URL);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

async function dropAll(): Promise<void> {
  if (prefixes.size === 0) return;
  await pgAdmin(async (c) => {
    for (const p of prefixes) await dropCoordinationTables(c, p);
  });
}

/** Rejects of `op` with its error and how long it took (ms); fails the test if it resolves. */
async function failure(op: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const start = performance.now();
  try {
    await op();
  } catch (err) {
    return { err, ms: performance.now() - start };
  }
  throw new Error('expected the operation to reject');
}

if (pgAvailable) {
  afterAll(dropAll);
  backendContract('postgresql', {
    ttl: 0.3,
    elapse: sleep,
    async make() {
      const b = new PostgresBackend(PG_URL, { keyPrefix: prefix() });
      await b.connect();
      return b;
    },
  });
}

describe.runIf(pgAvailable)('PostgresBackend', () => {
  /** Backends and servers of the running test, closed after it. */
  const open: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(thing: T): T => {
    open.push(thing);
    return thing;
  };
  const backend = (url: string, options: ConstructorParameters<typeof PostgresBackend>[1] = {}) =>
    track(new PostgresBackend(url, { keyPrefix: prefix(), ...options }));

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(open.splice(0).map((x) => x.close()));
  });

  describe('options', () => {
    it('kind is postgresql and where is the URL with the password masked', () => {
      const b = new PostgresBackend('postgresql://postgres:s3cret@db.example:5433/coord');
      expect(b.kind).toBe('postgresql');
      expect(b.where).toBe('postgresql://postgres:***@db.example:5433/coord');
      expect(new PostgresBackend(PG_URL, { where: 'shown' }).where).toBe('shown');
    });

    it.each([
      'Conductor',
      'tacker-conductor',
      '1abc',
      '',
      'has space',
      'x;drop table y',
      'ä',
      'a'.repeat(43),
    ])('keyPrefix %j is refused with InvalidCoordinationOption', (bad) => {
      expect(() => new PostgresBackend(PG_URL, { keyPrefix: bad })).toThrow(
        InvalidCoordinationOption,
      );
    });

    it('an identifier of up to 42 characters is a keyPrefix; operationTimeout must be > 0', () => {
      expect(
        () => new PostgresBackend(PG_URL, { keyPrefix: `_a1${'b'.repeat(39)}` }),
      ).not.toThrow();
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => new PostgresBackend(PG_URL, { operationTimeout: bad })).toThrow(
          InvalidCoordinationOption,
        );
      }
    });
  });

  describe('connect', () => {
    it('an unreachable server: connect rejects CoordinationUnavailable within ~2.5 s, password masked', async () => {
      const port = await freePort();
      const b = track(new PostgresBackend(`postgresql://postgres:s3cret@127.0.0.1:${port}/test`));
      const { err, ms } = await failure(() => b.connect());
      expect(err).toBeInstanceOf(CoordinationUnavailable);
      const message = (err as Error).message;
      expect(message).toContain(`postgresql://postgres:***@127.0.0.1:${port}/test`);
      expect(message).toContain('ECONNREFUSED');
      expect(message).not.toContain('s3cret');
      expect(JSON.stringify(err)).not.toContain('s3cret');
      expect(ms).toBeLessThan(2500);
    });

    it('a server that accepts but never answers: every operation rejects within operationTimeout', async () => {
      const sockets = new Set<Socket>();
      const silent: Server = createServer((s) => {
        sockets.add(s);
        s.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      track({
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise<void>((resolve) => silent.close(() => resolve()));
        },
      });
      const port = (silent.address() as AddressInfo).port;
      const b = backend(urlAt(port), { operationTimeout: 0.4 });
      for (const op of [() => b.connect(), () => b.ping(), () => b.acquire('n', 'a', 1)]) {
        const { err, ms } = await failure(op);
        expect(err).toBeInstanceOf(CoordinationUnavailable);
        expect((err as Error).message).toMatch(/within 0\.4 s/);
        expect(ms).toBeLessThan(900);
      }
    });

    it('three backends connecting at once on a fresh prefix all succeed (advisory lock)', async () => {
      for (let round = 0; round < 3; round++) {
        const p = prefix(`_race${round}`);
        const three = [0, 1, 2].map(() => backend(PG_URL, { keyPrefix: p }));
        const results = await Promise.allSettled(three.map((b) => b.connect()));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        // The tables are usable from each of them.
        const got = await Promise.all(three.map((b, i) => b.acquire('race', `m${i}`, 5)));
        expect(got.filter((g) => g !== null)).toHaveLength(1);
      }
    });

    it('connect is repeatable and, after close, opens a new pool', async () => {
      const b = backend(PG_URL);
      await b.connect();
      await b.connect();
      await b.close();
      await expect(b.ping()).rejects.toBeInstanceOf(CoordinationUnavailable);
      await b.connect();
      await expect(b.ping()).resolves.toBeUndefined();
    });
  });

  describe('several replicas (separate pools) on one prefix', () => {
    it('exactly one of them takes a lease; the others see its holding', async () => {
      const p = prefix('_replicas');
      const replicas = [0, 1, 2].map(() => backend(PG_URL, { keyPrefix: p }));
      await Promise.all(replicas.map((b) => b.connect()));
      const got = await Promise.all(replicas.map((b, i) => b.acquire('leader', `r${i}`, 5)));
      const winners = got.filter((g) => g !== null);
      expect(winners).toHaveLength(1);
      for (const b of replicas) expect((await b.holder('leader'))?.token).toBe(winners[0]?.token);
      // Concurrent claims of one slot from every replica with the winner's holding: one true.
      const w = winners[0];
      const claims = await Promise.all(
        replicas.flatMap((b) =>
          [0, 1, 2].map(() => b.claimSlot('leader', w?.holder ?? '', w?.token ?? 0, 42)),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('faults through a TCP proxy', () => {
    let proxy: TcpProxy;
    const viaProxy = async (operationTimeout = 1): Promise<PostgresBackend> => {
      proxy = track(await startTcpProxy(PG_PORT, PG_HOST));
      const b = backend(urlAt(proxy.port), { operationTimeout });
      await b.connect();
      return b;
    };

    it('block: operations reject CoordinationUnavailable without hanging; unblock: the same object works again', async () => {
      const b = await viaProxy(1);
      const lease = await b.acquire('job', 'a', 30);
      expect(lease).not.toBeNull();
      const token = lease?.token ?? 0;

      proxy.block();
      const ops: Array<() => Promise<unknown>> = [
        () => b.ping(),
        () => b.acquire('job', 'a', 30),
        () => b.renew('job', 'a', token, 30),
        () => b.holder('job'),
        () => b.claimSlot('job', 'a', token, 1),
        () => b.members('g'),
      ];
      for (const op of ops) {
        const { err, ms } = await failure(op);
        expect(err).toBeInstanceOf(CoordinationUnavailable);
        expect((err as Error).message).toContain(`127.0.0.1:${proxy.port}`);
        expect(ms).toBeLessThan(1500);
      }

      proxy.unblock();
      await expect(b.ping()).resolves.toBeUndefined();
      // The lease outlived the outage on the server: same holder, same token.
      expect(await b.holder('job')).toMatchObject({ holder: 'a', token });
      expect(await b.renew('job', 'a', token, 30)).toBe(true);
      expect(await b.claimSlot('job', 'a', token, 1)).toBe(true);
    });

    it('cut: idle connections dropped under the pool do not crash; the next operations work', async () => {
      const b = await viaProxy(1);
      // Several pooled connections, then all dropped while idle.
      await Promise.all([b.ping(), b.ping(), b.ping(), b.ping()]);
      expect(proxy.connections()).toBeGreaterThan(0);
      proxy.cut();
      await sleep(0.1);
      await expect(b.ping()).resolves.toBeUndefined();
      expect(await b.acquire('after-cut', 'a', 5)).not.toBeNull();
    });

    it('connections terminated by the server (57P01) are replaced', async () => {
      const app = `${RUN}_terminate`;
      const b = backend(urlAt(PG_PORT, { application_name: app }));
      await b.connect();
      await Promise.all([b.ping(), b.ping()]);
      const killed = await pgAdmin(async (c) => {
        const r = await c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [app],
        );
        return r.rowCount;
      });
      expect(killed).toBeGreaterThan(0);
      await sleep(0.1);
      await expect(b.ping()).resolves.toBeUndefined();
      await b.heartbeat('g', 'a', 5);
      expect(await b.members('g')).toEqual(['a']);
    });
  });

  describe("the database's clock, not the caller's", () => {
    it('a caller clock an hour ahead or behind changes no verdict', async () => {
      const b = backend(PG_URL);
      await b.connect();
      const realNow = Date.now.bind(Date);

      // An hour ahead: a 30 s lease is still held, by the database's clock.
      vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
      const a = await b.acquire('skew', 'a', 30);
      expect(await b.acquire('skew', 'b', 30)).toBeNull();
      expect((await b.holder('skew'))?.expiresIn).toBeGreaterThan(25);
      await b.heartbeat('skew', 'a', 30);
      expect(await b.members('skew')).toEqual(['a']);

      // An hour behind: a 0.3 s lease still expires after 0.45 s of real time.
      vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
      expect(await b.release('skew', 'a', a?.token ?? 0)).toBe(true);
      await b.acquire('skew', 'c', 0.3);
      await b.heartbeat('skew', 'c', 0.3);
      await sleep(0.45);
      expect(await b.holder('skew')).toBeNull();
      expect(await b.members('skew')).toEqual(['a']);
    });
  });
});
