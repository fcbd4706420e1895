import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/coordination/redis.js';
import { CoordinationUnavailable } from '../../src/core/index.js';
import { dropRedisKeys, startRedisServer, stopRedisServers } from '../helpers/redis-server.js';
import { freePort, reachable, requireService } from '../helpers/services.js';
import { backendContract } from './backend-contract.js';

const URL = 'redis://127.0.0.1:6379';
const available = await requireService('Redis on 127.0.0.1:6379', await reachable(6379));
/** Every key this file writes starts with it (afterAll deletes them). */
const PREFIX = `test-redis-${String(process.pid)}-${randomUUID().slice(0, 8)}`;
let made = 0;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function keysOf(url: string, match: string): Promise<string[]> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found.sort();
  } finally {
    await redis.quit();
  }
}

/** A TCP server that accepts connections, counts them, and never answers. */
async function silentServer(
  port: number,
): Promise<{ count: () => number; stop: () => Promise<void> }> {
  let n = 0;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    n += 1;
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    count: () => n,
    stop: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

/** Retries `fn` until it resolves, for up to `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(50);
    }
  }
}

/** Awaits `p`, expecting CoordinationUnavailable; returns it and how long the rejection took. */
async function unavailable(p: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const t0 = Date.now();
  const error = await p.then(
    () => new Error('resolved, expected a rejection'),
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  expect(error).toBeInstanceOf(CoordinationUnavailable);
  return { error, ms: Date.now() - t0 };
}

afterAll(async () => {
  await stopRedisServers();
});

describe.skipIf(!available)('RedisBackend', () => {
  backendContract('redis', {
    async make() {
      made += 1;
      const b = new RedisBackend(URL, { keyPrefix: `${PREFIX}-${String(made)}` });
      await b.connect();
      return b;
    },
    elapse: (seconds) => sleep(seconds * 1000),
    ttl: 0.4,
    cleanup: () => dropRedisKeys(URL, `${PREFIX}*`),
  });

  describe('redis specifics', () => {
    afterAll(async () => {
      await dropRedisKeys(URL, `${PREFIX}*`);
    });

    it('keeps its keys under the prefix; abandoned groups expire; tokens are seeded from TIME', async () => {
      const prefix = `${PREFIX}-keys`;
      const b = new RedisBackend(URL, { keyPrefix: prefix });
      await b.connect();
      try {
        expect(b.kind).toBe('redis');
        expect(b.where).toBe(URL);
        const before = Date.now();
        const lease = await b.acquire('job:a', 'host:1', 5);
        expect(lease).not.toBeNull();
        // The fence counter starts at the server time in µs (same machine, so same clock).
        expect(lease?.token).toBeGreaterThan((before - 60_000) * 1000);
        expect(lease?.token).toBeLessThan((Date.now() + 60_000) * 1000);
        expect(await b.release('job:a', 'host:1', lease?.token ?? 0)).toBe(true);
        const next = await b.acquire('job:a', 'host:1', 5);
        expect(next?.token).toBe((lease?.token ?? 0) + 1);
        expect(await b.claimSlot('job:a', 'host:1', next?.token ?? 0, 3)).toBe(true);
        await b.heartbeat('workers', 'host:1', 5);
        expect(await keysOf(URL, `${prefix}:*`)).toEqual([
          `${prefix}:fence:job:a`,
          `${prefix}:group:workers`,
          `${prefix}:lease:job:a`,
          `${prefix}:slot:job:a`,
        ]);
        const raw = new Redis(URL);
        try {
          expect(await raw.get(`${prefix}:lease:job:a`)).toBe(`${String(next?.token)}|host:1`);
          const groupTtl = await raw.pttl(`${prefix}:group:workers`);
          expect(groupTtl).toBeGreaterThan(5000);
          expect(groupTtl).toBeLessThanOrEqual(10_000);
          expect(await raw.pttl(`${prefix}:fence:job:a`)).toBe(-1);
          expect(await raw.pttl(`${prefix}:slot:job:a`)).toBe(-1);
        } finally {
          await raw.quit();
        }
      } finally {
        await b.close();
      }
    });

    it('rejects operations before connect()', async () => {
      const b = new RedisBackend(URL, { keyPrefix: `${PREFIX}-idle` });
      const { error } = await unavailable(b.acquire('x', 'a', 1));
      expect(error.message).toMatch(/not connected/);
      await b.close();
    });

    it('close() during connect() wins; connect() after close() reopens', async () => {
      const b = new RedisBackend(URL, { keyPrefix: `${PREFIX}-reopen` });
      const connecting = b.connect();
      await b.close();
      await unavailable(connecting);
      const { error } = await unavailable(b.ping());
      expect(error.message).toMatch(/ping: closed/);
      await b.connect();
      expect((await b.acquire('job', 'a', 5))?.holder).toBe('a');
      await b.close();
      await b.connect(); // right after close(): waits for the old connection to end
      expect((await b.holder('job'))?.holder).toBe('a');
      await b.close();
    });

    it('an unreachable server: connect rejects fast, names the masked URL, never retries', async () => {
      const port = await freePort();
      const url = `redis://:s3cret@127.0.0.1:${String(port)}`;
      const b = new RedisBackend(url);
      expect(b.where).toBe(`redis://:***@127.0.0.1:${String(port)}`);
      const { error, ms } = await unavailable(b.connect());
      expect(ms).toBeLessThan(2500);
      expect(error.message).toContain(`redis://:***@127.0.0.1:${String(port)}`);
      expect(error.message).toContain(`ECONNREFUSED 127.0.0.1:${String(port)}`);
      expect(error.message).not.toContain('s3cret');
      expect(String((error as { stack?: string }).stack)).not.toContain('s3cret');
      await unavailable(b.ping());
      await b.close();
      // Nothing keeps trying in the background: a listener that appears now sees no connection.
      const silent = await silentServer(port);
      try {
        await sleep(400);
        expect(silent.count()).toBe(0);
      } finally {
        await silent.stop();
      }
    });

    it('a server that accepts but never answers: connect rejects within operationTimeout', async () => {
      const port = await freePort();
      const silent = await silentServer(port);
      const b = new RedisBackend(`redis://127.0.0.1:${String(port)}`, { operationTimeout: 0.5 });
      try {
        const { error, ms } = await unavailable(b.connect());
        expect(ms).toBeLessThan(1500);
        expect(error.message).toContain(`redis://127.0.0.1:${String(port)}`);
        await sleep(300);
        expect(silent.count()).toBe(1); // no reconnect after the failed connect
      } finally {
        await b.close();
        await silent.stop();
      }
    });

    it('connect() may be called again after a failure, once the server is there', async () => {
      const port = await freePort();
      const b = new RedisBackend(`redis://127.0.0.1:${String(port)}`, {
        keyPrefix: `${PREFIX}-late`,
      });
      const server = await (async () => {
        await unavailable(b.connect());
        return startRedisServer(port);
      })();
      try {
        await b.connect();
        expect((await b.acquire('job', 'a', 5))?.holder).toBe('a');
        await b.connect(); // already connected: a PING
      } finally {
        await b.close();
        await server.kill();
      }
    });

    it('survives a server restart on the same object; tokens keep growing across it', async () => {
      const port = await freePort();
      const server = await startRedisServer(port);
      const b = new RedisBackend(`redis://127.0.0.1:${String(port)}`, {
        operationTimeout: 0.5,
        keyPrefix: 'restart',
      });
      try {
        await b.connect();
        const first = await b.acquire('job', 'a', 30);
        expect(first).not.toBeNull();
        await b.heartbeat('g', 'a', 30);

        await server.kill();
        // Down: every operation rejects (quickly: nothing is queued), none hangs.
        const ops: Array<() => Promise<unknown>> = [
          () => b.ping(),
          () => b.acquire('job', 'a', 30),
          () => b.renew('job', 'a', first?.token ?? 0, 30),
          () => b.holder('job'),
          () => b.claimSlot('job', 'a', first?.token ?? 0, 1),
          () => b.members('g'),
        ];
        for (const op of ops) {
          const { ms } = await unavailable(op());
          expect(ms).toBeLessThan(1000);
        }
        const { error } = await unavailable(b.ping());
        // "(connection closing)" until the client sees the socket close, then "(reconnecting, last
        // error: connection lost)" or "... connect ECONNREFUSED ...".
        expect(error.message).toMatch(/ping: not connected \((connection closing|reconnecting)/);

        await server.restart();
        await eventually(() => b.ping(), 5000);
        // The server kept nothing (no persistence): the lease, the group and the slot are gone...
        expect(await b.holder('job')).toBeNull();
        expect(await b.members('g')).toEqual([]);
        expect(await b.lastSlot('job')).toBeNull();
        // ...and so is the fence counter. Re-seeded from the server's TIME (µs), the next token is
        // still larger than every token handed out before the restart, so a holder from before
        // cannot be confused with the new one.
        const second = await b.acquire('job', 'b', 30);
        expect(second?.token).toBeGreaterThan(first?.token ?? Infinity);
        expect(await b.claimSlot('job', 'b', second?.token ?? 0, 1)).toBe(true);
      } finally {
        await b.close();
        await server.kill();
      }
    });

    it('a server that stops answering: operations time out, then recover when it resumes', async () => {
      const port = await freePort();
      const server = await startRedisServer(port);
      const b = new RedisBackend(`redis://127.0.0.1:${String(port)}`, {
        operationTimeout: 0.3,
        keyPrefix: 'stopped',
      });
      try {
        await b.connect();
        await b.heartbeat('g', 'a', 30);
        server.signal('SIGSTOP');
        const { error, ms } = await unavailable(b.members('g'));
        expect(ms).toBeLessThan(1000);
        expect(error.message).toMatch(/no reply within 300 ms/);
        // The next ones fail too, and none waits longer than the timeout.
        for (let i = 0; i < 3; i++) {
          const next = await unavailable(b.ping());
          expect(next.ms).toBeLessThan(1000);
        }
        server.signal('SIGCONT');
        await eventually(() => b.ping(), 5000);
        expect(await b.members('g')).toEqual(['a']);
      } finally {
        server.signal('SIGCONT');
        await b.close();
        await server.kill();
      }
    });

    it('close() is idempotent and stops reconnecting', async () => {
      const port = await freePort();
      const server = await startRedisServer(port);
      const b = new RedisBackend(`redis://127.0.0.1:${String(port)}`, { keyPrefix: 'closing' });
      await b.connect();
      await server.kill();
      await sleep(100); // the client notices and starts its reconnect loop
      await b.close();
      await b.close();
      // Nothing connects to a listener that appears now.
      const silent = await silentServer(port);
      try {
        await sleep(1200); // longer than the largest backoff
        expect(silent.count()).toBe(0);
      } finally {
        await silent.stop();
      }
      await unavailable(b.ping());
    });
  });
});
