import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RpcServer, Transport } from '../../../../src/messaging/index.js';
import {
  Calc,
  cleanup,
  ctx,
  rabbitAvailable,
  rawConnection,
  replyQueueOf,
  RpcClient,
  startServer,
  transport,
  unique,
  waitFor,
} from './helpers.js';

const available = await rabbitAvailable();
const HEX32 = /^[0-9a-f]{32}$/;

/** Next message of a raw consumer. */
function inbox(ch: Channel, queue: string): Promise<() => Promise<ConsumeMessage>> {
  const got: ConsumeMessage[] = [];
  let wake: (() => void) | undefined;
  return ch
    .consume(
      queue,
      (m) => {
        if (m) got.push(m);
        wake?.();
      },
      { noAck: true },
    )
    .then(() => async () => {
      const end = Date.now() + 5000;
      while (got.length === 0) {
        if (Date.now() > end) throw new Error(`nothing arrived on ${queue}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return got.shift() as ConsumeMessage;
    });
}

function decode(m: ConsumeMessage): {
  outerKeys: string[];
  inner: Record<string, unknown>;
  innerKeys: string[];
} {
  const outer = JSON.parse(m.content.toString('utf8')) as Record<string, unknown>;
  expect(outer['oslo.version']).toBe('2.0');
  expect(typeof outer['oslo.message']).toBe('string');
  const inner = JSON.parse(outer['oslo.message'] as string) as Record<string, unknown>;
  return { outerKeys: Object.keys(outer), inner, innerKeys: Object.keys(inner) };
}

const OSLO_PROPERTIES = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: {},
  deliveryMode: 2,
  priority: 0,
  correlationId: undefined,
  replyTo: undefined,
  messageId: undefined,
  timestamp: undefined,
  type: undefined,
};

describe.skipIf(!available)('rabbit driver: wire layout', () => {
  const E = unique('wire');
  let raw: ChannelModel;
  let ch: Channel;
  let clientT: Transport;

  beforeAll(async () => {
    raw = await rawConnection();
    ch = await raw.createChannel();
    clientT = await transport(E);
  });

  const topics: string[] = [];

  afterAll(async () => {
    await clientT?.close();
    await raw?.close();
    await cleanup(
      [E, ...topics.map((t) => `${t}_fanout`)],
      [...topics.flatMap((t) => [t, `${t}.host-a`]), replyQueueOf(clientT)],
    );
  });

  it('publishes calls as oslo.messaging does and takes replies from both reply paths', async () => {
    const T = unique('t');
    await ch.assertExchange(E, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(T, { durable: false, autoDelete: true });
    await ch.bindQueue(T, E, T);
    const next = await inbox(ch, T);

    const client = new RpcClient(
      clientT,
      { topic: T, namespace: 'ns1', version: '1.2' },
      { timeout: 7 },
    );
    const call = client.call(ctx(), 'update_vim', { vim_id: 'vim-1', status: 'REACHABLE' });
    const m = await next();
    expect(m.fields.exchange).toBe(E);
    expect(m.fields.routingKey).toBe(T);
    expect(m.properties).toMatchObject({ ...OSLO_PROPERTIES, expiration: '7000' });
    const { outerKeys, inner, innerKeys } = decode(m);
    expect(outerKeys).toEqual(['oslo.version', 'oslo.message']);
    const ctxKeys = Object.keys(ctx().toDict()).map((k) => `_context_${k}`);
    expect(innerKeys).toEqual([
      'method',
      'args',
      'namespace',
      'version',
      '_msg_id',
      '_reply_q',
      '_timeout',
      '_unique_id',
      ...ctxKeys,
    ]);
    expect(inner).toMatchObject({
      method: 'update_vim',
      args: { vim_id: 'vim-1', status: 'REACHABLE' },
      namespace: 'ns1',
      version: '1.2',
      _timeout: null,
      _context_user_id: 'user-1',
      _context_is_admin: true,
    });
    expect(inner['_msg_id']).toMatch(HEX32);
    expect(inner['_unique_id']).toMatch(HEX32);
    const replyQ = inner['_reply_q'] as string;
    expect(replyQ).toMatch(/^reply_[0-9a-f]{32}$/);

    // A reply as oslo.messaging >= 5.34 sends it: default exchange, routing key = reply queue.
    const reply = (msgId: unknown, result: unknown): Buffer =>
      Buffer.from(
        JSON.stringify({
          'oslo.version': '2.0',
          'oslo.message': JSON.stringify({
            result,
            failure: null,
            ending: true,
            _msg_id: msgId,
            _unique_id: 'f'.repeat(32),
          }),
        }),
      );
    ch.publish('', replyQ, reply(inner['_msg_id'], 'REACHABLE'), {
      contentType: 'application/json',
    });
    expect(await call).toBe('REACHABLE');

    // The reply queue: x-expires 1800000, not durable, not auto-delete (a different declaration is refused).
    await ch.assertQueue(replyQ, {
      durable: false,
      autoDelete: false,
      arguments: { 'x-expires': 1800000 },
    });
    const probe = await raw.createChannel();
    probe.on('error', () => undefined);
    await expect(
      probe.assertQueue(replyQ, {
        durable: false,
        autoDelete: false,
        arguments: { 'x-expires': 1000 },
      }),
    ).rejects.toThrow(/PRECONDITION/);

    // A call-monitor timeout travels as _timeout; a Pike server replies through the direct exchange.
    const monitored = client.prepare({ callMonitorTimeout: 3 });
    const call2 = monitored.call(ctx(), 'ping');
    const m2 = await next();
    const d2 = decode(m2);
    expect(d2.inner['_timeout']).toBe(3);
    expect(d2.inner['_reply_q']).toBe(replyQ);
    ch.publish(replyQ, replyQ, reply(d2.inner['_msg_id'], { pike: true }));
    expect(await call2).toEqual({ pike: true });
  });

  it('publishes casts without a reply address or expiration, and fanout casts to T_fanout', async () => {
    const T = unique('t');
    await ch.assertExchange(E, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(T, { durable: false, autoDelete: true });
    await ch.bindQueue(T, E, `${T}.host-x`);
    const next = await inbox(ch, T);
    const client = new RpcClient(clientT, { topic: T });
    await client.prepare({ server: 'host-x' }).cast(ctx(), 'kill', { id: 7 });
    const m = await next();
    expect(m.fields.routingKey).toBe(`${T}.host-x`);
    expect(m.properties).toMatchObject({ ...OSLO_PROPERTIES, expiration: undefined });
    const d = decode(m);
    expect(d.innerKeys.slice(0, 3)).toEqual(['method', 'args', '_unique_id']);
    expect(d.innerKeys.slice(3).every((k) => k.startsWith('_context_'))).toBe(true);

    const F = unique('f');
    await ch.assertExchange(`${T}_fanout`, 'fanout', { durable: false, autoDelete: true });
    await ch.assertQueue(F, { durable: false, autoDelete: true });
    await ch.bindQueue(F, `${T}_fanout`, T);
    const nextF = await inbox(ch, F);
    await client.prepare({ fanout: true }).cast(ctx(), 'refresh');
    const f = await nextF();
    expect(f.fields.exchange).toBe(`${T}_fanout`);
    expect(f.fields.routingKey).toBe('');
    expect(f.properties).toMatchObject({ ...OSLO_PROPERTIES, expiration: undefined });
  });

  describe('server side', () => {
    const T = unique('srv');
    topics.push(T);
    let serverT: Transport;
    let server: RpcServer;

    beforeAll(async () => {
      serverT = await transport(E);
      server = await startServer(serverT, T, 'host-a', [new Calc()]);
    });

    afterAll(async () => {
      await server?.stop();
      await server?.wait();
      await serverT?.close();
    });

    it('declares oslo.messaging topology', async () => {
      // Re-declaring with the same flags passes; other flags are refused.
      await ch.assertExchange(E, 'topic', { durable: false, autoDelete: false });
      await ch.assertExchange(`${T}_fanout`, 'fanout', { durable: false, autoDelete: true });
      const probe = await raw.createChannel();
      probe.on('error', () => undefined);
      await expect(probe.assertExchange(E, 'topic', { durable: true })).rejects.toThrow(
        /PRECONDITION/,
      );
      expect(await ch.checkQueue(T)).toMatchObject({ consumerCount: 1 });
      expect(await ch.checkQueue(`${T}.host-a`)).toMatchObject({ consumerCount: 1 });
      const { stdout } = await promisify(execFile)(
        'rabbitmqctl',
        [
          'list_queues',
          '-q',
          '--no-table-headers',
          'name',
          'durable',
          'auto_delete',
          'arguments',
          'consumers',
        ],
        { timeout: 20_000 },
      );
      const rows = stdout
        .split('\n')
        .map((l) => l.split('\t'))
        .filter((r) => (r[0] ?? '').startsWith(T));
      const byName = new Map(rows.map((r) => [r[0] as string, r.slice(1)]));
      expect(byName.get(T)).toEqual(['false', 'false', '[]', '1']);
      expect(byName.get(`${T}.host-a`)).toEqual(['false', 'false', '[]', '1']);
      const fanout = rows.find((r) => /_fanout_/.test(r[0] as string)) as string[];
      expect(fanout[0]).toMatch(new RegExp(`^${T}_fanout_[0-9a-f]{32}$`));
      expect(fanout.slice(1)).toEqual(['false', 'false', '[{"x-expires",1800000}]', '1']);
    });

    it('replies (and heartbeats) to the default exchange with oslo properties and key order', async () => {
      const replyQ = unique('reply');
      await ch.assertQueue(replyQ, { durable: false, autoDelete: true });
      const next = await inbox(ch, replyQ);
      const request = (method: string, args: object, timeout: number | null): Buffer =>
        Buffer.from(
          JSON.stringify({
            'oslo.version': '2.0',
            'oslo.message': JSON.stringify({
              method,
              args,
              version: '1.0',
              _msg_id: 'a'.repeat(32),
              _reply_q: replyQ,
              _timeout: timeout,
              _unique_id: unique('u'),
              _context_user_id: 'raw',
            }),
          }),
        );
      ch.publish(E, T, request('sleep', { seconds: 1.2 }, 2), { contentType: 'application/json' });
      const hb = await next();
      expect(hb.fields.exchange).toBe('');
      expect(hb.fields.routingKey).toBe(replyQ);
      expect(hb.properties).toMatchObject({ ...OSLO_PROPERTIES, expiration: undefined });
      const h = decode(hb);
      expect(h.innerKeys).toEqual(['result', 'failure', 'ending', '_msg_id', '_unique_id']);
      expect(h.inner).toMatchObject({
        result: null,
        failure: null,
        ending: false,
        _msg_id: 'a'.repeat(32),
      });
      const final = decode(await next());
      expect(final.innerKeys).toEqual(['result', 'failure', 'ending', '_msg_id', '_unique_id']);
      expect(final.inner).toMatchObject({ result: 1.2, failure: null, ending: true });
      expect(final.inner['_unique_id']).toMatch(HEX32);

      ch.publish(E, `${T}.host-a`, request('nope', {}, null));
      const failed = decode(await next()).inner;
      expect(failed['result']).toBeNull();
      expect(JSON.parse(failed['failure'] as string)).toMatchObject({
        class: 'NoSuchMethod',
        module: 'oslo_messaging.rpc.dispatcher',
        message: 'Endpoint does not support RPC method nope',
        args: ['Endpoint does not support RPC method nope'],
        kwargs: {},
      });
      await waitFor(async () => (await ch.checkQueue(T)).messageCount === 0, 2000, 'empty queue');
    });
  });
});
