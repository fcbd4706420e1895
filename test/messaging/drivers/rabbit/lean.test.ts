/**
 * The lean wire (`rpc_reply_mode = direct`): its codec, and calls over the real broker — beside
 * oslo's wire on the same server, failures, refusals, timeouts, a lost channel, the call-monitor
 * fallback, malformed lean traffic, and a broker that cuts the connections.
 */
import type { ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanWireUnsupported, MessagingTimeout } from '../../../../src/core/index.js';
import {
  encodeLeanReply,
  encodeLeanRequest,
  LEAN_TYPE,
  leanExchangeOf,
  readLeanInbound,
  readLeanReply,
} from '../../../../src/messaging/drivers/rabbit/lean.js';
import { RemoteError, type RpcServer, type Transport } from '../../../../src/messaging/index.js';
import {
  Calc,
  cleanup,
  ctx,
  cutConnections,
  rabbitAvailable,
  rawConnection,
  replyQueueOf,
  RpcClient,
  startServer,
  transport,
  unique,
  waitFor,
} from './helpers.js';

const MAX = 1 << 20;

/** A delivery as amqplib hands it, for the codec tests. */
function delivery(body: string, properties: Record<string, unknown>): ConsumeMessage {
  return {
    content: Buffer.from(body),
    fields: {} as ConsumeMessage['fields'],
    properties: properties as unknown as ConsumeMessage['properties'],
  };
}

describe('lean wire codec', () => {
  const props = { type: LEAN_TYPE, replyTo: 'amq.rabbitmq.reply-to.g1h', correlationId: 'c1' };

  it('round-trips a request: fields, namespace, version and context', () => {
    const ctxt = Object.freeze({ user_id: 'u', roles: ['admin'] });
    const body = encodeLeanRequest(
      { method: 'echo', args: { value: [1, 'é'] }, namespace: 'ns', version: '1.2' },
      ctxt,
    );
    expect(JSON.parse(body)).toEqual({
      m: 'echo',
      a: { value: [1, 'é'] },
      ns: 'ns',
      v: '1.2',
      c: { user_id: 'u', roles: ['admin'] },
    });
    // The same frozen context is encoded once and reused.
    expect(encodeLeanRequest({ method: 'x', args: {} }, ctxt)).toContain('"c":{"user_id":"u"');
    const r = readLeanInbound(delivery(body, props), MAX);
    expect(r).toMatchObject({
      ok: true,
      message: { method: 'echo', args: { value: [1, 'é'] }, namespace: 'ns', version: '1.2' },
      ctxt: { user_id: 'u', roles: ['admin'] },
      reply: { msgId: 'c1', replyQ: 'amq.rabbitmq.reply-to.g1h', lean: true },
      uniqueId: 'c1',
    });
  });

  it('leaves namespace and version out when unset, and keeps no oslo keys a Python server could dispatch', () => {
    const body = JSON.parse(encodeLeanRequest({ method: 'echo', args: {} }, {})) as object;
    expect(body).toEqual({ m: 'echo', a: {}, c: {} });
    expect(Object.keys(body)).not.toContain('method');
  });

  it('refuses malformed lean calls, with the reply address when the properties hold one', () => {
    const bad = [
      ['not json', props, /not valid JSON/],
      ['[1]', props, /not a JSON object/],
      ['{"m":"x","c":7}', props, /context of a lean call/],
      ['{"m":"x"}', { type: LEAN_TYPE }, /reply_to and a correlation_id/],
    ] as const;
    for (const [body, p, why] of bad) {
      const r = readLeanInbound(delivery(body, p), MAX);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.message).toMatch(why);
      expect(r.reply === undefined).toBe(!('replyTo' in p));
    }
    const big = readLeanInbound(delivery(`{"m":"${'x'.repeat(2000)}"}`, props), 1024);
    expect(big).toMatchObject({ ok: false, reply: { msgId: 'c1' } });
  });

  it('round-trips replies and failures, and refuses unusable ones', () => {
    const ok = readLeanReply(delivery(encodeLeanReply({ a: [1] }, null), props), MAX);
    expect(ok).toEqual({ msgId: 'c1', ending: true, result: { a: [1] }, failure: null });
    expect(readLeanReply(delivery(encodeLeanReply(undefined, null), props), MAX).result).toBe(null);
    const failed = readLeanReply(delivery(encodeLeanReply(null, '{"class":"X"}'), props), MAX);
    expect(failed.failure).toBe('{"class":"X"}');
    expect(() => readLeanReply(delivery('{"result":1}', {}), MAX)).toThrow(/correlation_id/);
    expect(() => readLeanReply(delivery('{"failure":3}', props), MAX)).toThrow(/failure/);
    expect(() => readLeanReply(delivery('{"result":1}', props), 4)).toThrow(/exceeds/);
    expect(() => encodeLeanReply(10n, null)).toThrow();
  });

  it('names the lean exchange apart from every oslo name', () => {
    expect(leanExchangeOf('tacker')).toBe('conductor-lean.tacker');
  });
});

const available = await rabbitAvailable();

describe.skipIf(!available)('lean wire over RabbitMQ', () => {
  const exchange = unique('lean');
  const topic = unique('lean-topic');
  let serverT: Transport;
  let osloT: Transport;
  let leanT: Transport;
  let server: RpcServer;
  const calc = new Calc();

  beforeAll(async () => {
    serverT = await transport(exchange);
    osloT = await transport(exchange);
    leanT = await transport(exchange, { rpc_reply_mode: 'direct' });
    server = await startServer(serverT, topic, 'host-a', [calc]);
  });

  afterAll(async () => {
    await server?.stop();
    await server?.wait();
    for (const t of [serverT, osloT, leanT]) await t?.close();
    await cleanup(
      [exchange, `${topic}_fanout`, leanExchangeOf(exchange)],
      [topic, `${topic}.host-a`, replyQueueOf(osloT), replyQueueOf(leanT), replyQueueOf(serverT)],
    );
  });

  it('calls one server on both wires at once, each answered on its own', async () => {
    const lean = new RpcClient(leanT, { topic }, { timeout: 5 });
    const oslo = new RpcClient(osloT, { topic }, { timeout: 5 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? lean : oslo).call(ctx(), 'echo', { value: { i, s: 'é' } }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => ({ i, s: 'é' })));
    expect(await lean.call(ctx(), 'whoami')).toEqual({
      user: 'user-1',
      project: 'project-1',
      admin: true,
    });
    // The lean client declared no reply queue: its calls never needed one.
    const c = await rawConnection();
    try {
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      await expect(ch.checkQueue(replyQueueOf(leanT) as string)).rejects.toThrow(/404/);
    } finally {
      await c.close().catch(() => undefined);
    }
  });

  it("reaches one server of the topic, and carries the endpoint's failures", async () => {
    const lean = new RpcClient(leanT, { topic, server: 'host-a' }, { timeout: 5 });
    expect(await lean.call(ctx(), 'echo', { value: 7 })).toBe(7);
    const err = await lean.call(ctx(), 'fail', { message: 'no such VIM' }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).excType).toBe('ValueError');
    expect((err as RemoteError).value).toBe('no such VIM');
  });

  it('fails at once, never hangs, when no server takes lean calls', async () => {
    const lean = new RpcClient(leanT, { topic, server: 'nobody' }, { timeout: 30 });
    const t0 = Date.now();
    const err = await lean.call(ctx(), 'echo', { value: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(LeanWireUnsupported);
    expect((err as Error).message).toMatch(/rpc_reply_mode/);
    expect((err as LeanWireUnsupported).routingKey).toBe(`${topic}.nobody`);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('times out like any call when a server takes it but does not answer in time', async () => {
    const lean = new RpcClient(leanT, { topic }, { timeout: 0.3 });
    const err = await lean.call(ctx(), 'sleep', { seconds: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(MessagingTimeout);
    // The late reply is dropped; the next call is unaffected.
    await new Promise((r) => setTimeout(r, 900));
    expect(await lean.prepare({ timeout: 5 }).call(ctx(), 'echo', { value: 'after' })).toBe(
      'after',
    );
  });

  it('sends calls with a call monitor on oslo wire (the lean wire has no heartbeats)', async () => {
    const monitored = new RpcClient(leanT, { topic }, { timeout: 10, callMonitorTimeout: 2 });
    expect(await monitored.call(ctx(), 'sleep', { seconds: 1.2 })).toBe(1.2);
    // That call needed the oslo reply queue, which now exists.
    const c = await rawConnection();
    try {
      const ch = await c.createChannel();
      await expect(ch.checkQueue(replyQueueOf(leanT) as string)).resolves.toMatchObject({
        queue: replyQueueOf(leanT),
      });
    } finally {
      await c.close().catch(() => undefined);
    }
  });

  it('answers a malformed lean call with a failure instead of leaving it to time out', async () => {
    const c = await rawConnection();
    try {
      const ch = await c.createChannel();
      const replies: ConsumeMessage[] = [];
      await ch.consume('amq.rabbitmq.reply-to', (m) => m && replies.push(m), { noAck: true });
      ch.publish(leanExchangeOf(exchange), topic, Buffer.from('{"m":'), {
        type: LEAN_TYPE,
        replyTo: 'amq.rabbitmq.reply-to',
        correlationId: 'bad-1',
      });
      await waitFor(() => replies.length > 0, 5000, 'the failure reply');
      const reply = readLeanReply(replies[0] as ConsumeMessage, MAX);
      expect(reply.msgId).toBe('bad-1');
      expect(reply.failure).toMatch(/not valid JSON/);
      // The server goes on serving.
      const lean = new RpcClient(leanT, { topic }, { timeout: 5 });
      expect(await lean.call(ctx(), 'echo', { value: 'still' })).toBe('still');
    } finally {
      await c.close().catch(() => undefined);
    }
  });

  it('survives the broker cutting every connection: calls fail cleanly, then work again', async () => {
    const lean = new RpcClient(leanT, { topic }, { timeout: 10 });
    const pending = lean.call(ctx(), 'sleep', { seconds: 4 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    expect(await cutConnections()).toBeGreaterThan(0);
    // Its reply could only come back on the lost channel: it fails at once, not at its timeout.
    const err = await pending;
    expect(err).toBeInstanceOf(MessagingTimeout);
    expect((err as Error).message).toMatch(/closed before its reply/);
    await waitFor(() => leanT.connected && serverT.connected, 15_000, 'reconnection');
    await waitFor(
      async () =>
        (await lean.call(ctx(), 'echo', { value: 'back' }).catch(() => undefined)) === 'back',
      15_000,
      'a lean call after the reconnection',
    );
  });
});
