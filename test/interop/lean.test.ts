/**
 * The lean wire (`rpc_reply_mode = direct`) beside oslo.messaging's, against real RabbitMQ and
 * Python oslo.messaging: one TypeScript server answers a Python client, a default TypeScript client
 * and a lean TypeScript client at once; a lean call nobody can take (no conductor-ts server, or
 * only a Python one) fails at once with LeanWireUnsupported; lean calls declare no reply queue.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  LeanWireUnsupported,
  MessageDeliveryFailure,
  realClock,
} from 'conductor-ts/core';
import {
  DictContextSerializer,
  getRpcTransport,
  RpcClient,
  type Transport,
} from 'conductor-ts/messaging';
import { CASE_ORDER, runConformance } from '../../interop/conformance-client.js';
import { startReferenceServer } from '../../interop/reference-server.js';
import type { RabbitDriver } from '../../src/messaging/drivers/rabbit/index.js';
import { leanExchangeOf } from '../../src/messaging/drivers/rabbit/lean.js';
import { RABBIT_URL, reachable, requireService } from '../helpers/services.js';
import {
  deleteTopology,
  hasOslo,
  type Names,
  names,
  pythonClient,
  pythonServer,
  stopChild,
  withBroker,
} from './helpers.js';

type Ctx = Record<string, unknown>;

const ready = await requireService(
  'RabbitMQ on 127.0.0.1:5672 and python3-oslo.messaging',
  (await reachable(5672)) && hasOslo(),
);

/** The test broker's URL with the lean wire turned on for the transport's calls. */
const LEAN_URL = `${RABBIT_URL}${RABBIT_URL.includes('?') ? '&' : '?'}rpc_reply_mode=direct`;
/** The lean case that cannot hold: a lean call to a server nobody runs fails at once instead. */
const UNKNOWN_SERVER_CASE = 'call_unknown_server_times_out';

const transportOf = (url: string, n: Names): Promise<Transport> =>
  getRpcTransport({
    transportUrl: url,
    controlExchange: n.exchange,
    logger: createLogger({ level: 'silent' }),
  });

const clientOf = (t: Transport, n: Names, timeout = 30): RpcClient<Ctx> =>
  new RpcClient<Ctx>(
    t,
    { topic: n.topic, version: '1.0' },
    { timeout, serializer: new DictContextSerializer() },
  );

/** The name of the transport's oslo reply queue (declared only once a call needs it). */
const replyQueueOf = (t: Transport): string => (t.driver as RabbitDriver).replyQueue;

/** `checkQueue` on a fresh channel: resolves with its answer, rejects with the broker's error. */
const checkQueue = (queue: string): Promise<unknown> =>
  withBroker(async (conn) => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined); // a 404 closes the channel; the rejection reports it
    const ok = await ch.checkQueue(queue);
    await ch.close();
    return ok;
  });

/** Settles `p` and times it: what it rejected with (undefined if it resolved) and the seconds. */
async function failureOf(p: Promise<unknown>): Promise<{ err: unknown; seconds: number }> {
  const t0 = performance.now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, seconds: (performance.now() - t0) / 1000 };
}

const failures = (lines: readonly string[]): string[] => lines.filter((l) => l.startsWith('FAIL'));

describe.skipIf(!ready)('the lean wire (rpc_reply_mode = direct) beside oslo.messaging', () => {
  it('one TypeScript server passes the Python, the default and the lean client at once', async () => {
    const n = names('tacker-lean', 'conductor-lean');
    const server = await startReferenceServer({ url: RABBIT_URL, ...n });
    try {
      const osloLines: string[] = [];
      const leanLines: string[] = [];
      const [py, oslo, lean] = await Promise.all([
        pythonClient(n),
        runConformance({ url: RABBIT_URL, ...n, timeout: 10 }, (l) => osloLines.push(l)),
        runConformance({ url: LEAN_URL, ...n, timeout: 10, skip: [UNKNOWN_SERVER_CASE] }, (l) =>
          leanLines.push(l),
        ),
      ]);
      expect(py.out, py.out).toContain(`${CASE_ORDER.length} passed, 0 failed`);
      expect(py.code, py.out).toBe(0);
      expect(failures(osloLines), osloLines.join('\n')).toEqual([]);
      expect(oslo).toEqual({ passed: CASE_ORDER.length, failed: 0 });
      expect(failures(leanLines), leanLines.join('\n')).toEqual([]);
      expect(lean).toEqual({ passed: CASE_ORDER.length - 1, failed: 0 });
      expect(leanLines.at(-1)).toBe(`${CASE_ORDER.length - 1} passed, 0 failed`);
    } finally {
      await server.stop();
      await deleteTopology(n);
    }
  }, 120_000);

  it('lean calls need no reply queue, and one to a server nobody runs fails at once', async () => {
    const n = names('tacker-lean', 'conductor-lean');
    const server = await startReferenceServer({ url: RABBIT_URL, ...n });
    const t = await transportOf(LEAN_URL, n);
    const replyQueue = replyQueueOf(t);
    try {
      const c = clientOf(t, n);
      expect(await c.call({}, 'echo', { value: 'lean' })).toBe('lean');
      expect(await c.prepare({ server: n.server }).call({}, 'echo', { value: 'to-a' })).toBe(
        'to-a',
      );
      const many = await Promise.all(
        Array.from({ length: 8 }, (_, i) => c.call({}, 'echo', { value: i })),
      );
      expect(many).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

      const { err, seconds } = await failureOf(
        c.prepare({ server: 'nobody-here' }).call({}, 'echo', { value: 1 }),
      );
      expect(err).toBeInstanceOf(LeanWireUnsupported);
      expect(err).toBeInstanceOf(MessageDeliveryFailure);
      expect(err).toMatchObject({
        code: 'CONDUCTOR_RPC_LEAN_UNSUPPORTED',
        exchange: leanExchangeOf(n.exchange),
        routingKey: `${n.topic}.nobody-here`,
      });
      expect(seconds).toBeLessThan(2);

      // Only plain calls so far: the oslo reply queue was never declared.
      await expect(checkQueue(replyQueue)).rejects.toMatchObject({ code: 404 });
      // A call with a call monitor goes on oslo's wire, which declares it (so the check can tell).
      expect(await c.prepare({ callMonitorTimeout: 2 }).call({}, 'sleep', { seconds: 0.1 })).toBe(
        0.1,
      );
      await expect(checkQueue(replyQueue)).resolves.toMatchObject({ queue: replyQueue });
    } finally {
      await t.close();
      await server.stop();
      await deleteTopology(n, [replyQueue]);
    }
  }, 60_000);

  it('a Python server refuses a lean call at once and still serves the default client', async () => {
    const n = names('tacker-lean', 'conductor-lean');
    const child = await pythonServer(n);
    let lean: Transport | undefined;
    let oslo: Transport | undefined;
    try {
      lean = await transportOf(LEAN_URL, n);
      oslo = await transportOf(RABBIT_URL, n);
      const leanClient = clientOf(lean, n, 30);
      const osloClient = clientOf(oslo, n, 10);

      const { err, seconds } = await failureOf(leanClient.call({}, 'echo', { value: 'x' }));
      expect(err).toBeInstanceOf(LeanWireUnsupported);
      expect((err as Error).message).toContain('rpc_reply_mode');
      expect(err).toMatchObject({ exchange: leanExchangeOf(n.exchange), routingKey: n.topic });
      expect(seconds).toBeLessThan(2);
      const targeted = await failureOf(
        leanClient.prepare({ server: n.server }).call({}, 'echo', { value: 'x' }),
      );
      expect(targeted.err).toBeInstanceOf(LeanWireUnsupported);
      expect(targeted.seconds).toBeLessThan(2);

      // The Python server works beside: the default client's call is answered ...
      expect(await osloClient.call({}, 'echo', { value: 'x' })).toBe('x');
      // ... a cast from the lean transport still goes on oslo's wire, so it reaches it ...
      const vimId = `lean-cast-${randomUUID()}`;
      await leanClient.cast({}, 'update_vim', { vim_id: vimId, status: 'LEAN-CAST' });
      const deadline = realClock.now() + 5;
      let status: unknown;
      while (realClock.now() < deadline) {
        status = await osloClient.call({}, 'get_vim_status', { vim_id: vimId });
        if (status === 'LEAN-CAST') break;
        await realClock.sleep(0.05);
      }
      expect(status).toBe('LEAN-CAST');
      // ... and the refused lean calls never got to it: one echo only, the default client's.
      expect(await osloClient.call({}, 'stats')).toMatchObject({ calls: { echo: 1 } });
    } finally {
      await lean?.close();
      await oslo?.close();
      await stopChild(child);
      await deleteTopology(n);
    }
  }, 60_000);
});
