/**
 * The oslo.messaging wire, written directly on amqplib: a reference, not a peer. It shows what the
 * protocol itself costs, apart from any framework, so that conductor-ts can be compared with the
 * best that a program speaking exactly this wire can do on the same broker.
 *
 *   --role server   declares the control exchange `N` (topic), the queue `N` bound with key `N`,
 *                   consumes it with acks and replies
 *   --role client   calls and confirmed casts against it
 *
 * On the wire, everything `../shared/spec/wire-format.md` requires: requests published to the topic
 * exchange with the routing key of the topic; the basic properties oslo sends
 * (`application/json`, `utf-8`, empty headers, persistent, priority 0, `expiration` on calls); the
 * double-encoded `oslo.version` 2.0 envelope with `_msg_id`, `_reply_q`, `_timeout`,
 * `_unique_id` (uuid4 hex) and the 23 `_context_*` keys; replies `mandatory` to the default exchange
 * with `result`, `failure`, `ending`, `_msg_id`, `_unique_id`; a named `reply_*` queue with
 * `x-expires`, consumed with acks; casts on a confirm channel.
 *
 * Off the wire, the cheapest choices, as in the `oslo-lean` variant of `raw-amqplib.ts`: calls and
 * replies unconfirmed, the reply queue on the connection that publishes the calls, each side's
 * acks coalesced and written with its replies, prefetch 256, no validation, no request context
 * object, no dispatch.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Options } from 'amqplib';
import {
  batchedAcks,
  corkPerTurn,
  echoHandler,
  pendingCalls,
  publishConfirmed,
  type Request,
} from './amqp-helpers.js';
import {
  main,
  type PeerArgs,
  peerArgs,
  runModes,
  tackerContextDict,
  untilSignal,
} from './common.js';

/** The basic properties of every oslo publish (plus `expiration` on calls, `mandatory` on replies). */
const PROPERTIES: Options.Publish = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: {},
  deliveryMode: 2,
  priority: 0,
};
const CALL_PROPERTIES: Options.Publish = { ...PROPERTIES, expiration: '30000' };
const REPLY_PROPERTIES: Options.Publish = { ...PROPERTIES, mandatory: true };

const uuidHex = (): string => randomUUID().replaceAll('-', '');

const encode = (message: Record<string, unknown>): Buffer =>
  Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(message) }));

const decode = (content: Buffer): Record<string, unknown> => {
  const outer = JSON.parse(content.toString('utf8')) as { 'oslo.message': string };
  return JSON.parse(outer['oslo.message']) as Record<string, unknown>;
};

async function server(a: PeerArgs): Promise<void> {
  const conn = await amqp.connect(a.amqpUrl, { noDelay: true });
  corkPerTurn(conn);
  const ch = await conn.createChannel();
  const pub = await conn.createChannel();
  await ch.assertExchange(a.name, 'topic', { durable: false, autoDelete: false });
  await ch.assertQueue(a.name, { durable: false, autoDelete: false });
  await ch.bindQueue(a.name, a.name, a.name);
  await ch.prefetch(256, true);
  const ack = batchedAcks(ch, setImmediate);
  const handle = echoHandler();
  await ch.consume(
    a.name,
    (msg) => {
      if (!msg) return;
      ack(msg);
      const m = decode(msg.content);
      const result = handle(m as unknown as Request);
      if (typeof m['_reply_q'] !== 'string') return;
      const reply = { result, failure: null, ending: true, _msg_id: m['_msg_id'] };
      pub.publish('', m['_reply_q'], encode({ ...reply, _unique_id: uuidHex() }), REPLY_PROPERTIES);
    },
    { noAck: false },
  );
  console.log(`READY oslo-wire exchange=${a.name} queue=${a.name}`);
  await untilSignal();
  await conn.close();
}

async function client(a: PeerArgs): Promise<void> {
  const conn = await amqp.connect(a.amqpUrl, { noDelay: true });
  corkPerTurn(conn);
  const ch = await conn.createChannel();
  const replies = await conn.createChannel();
  const confirm = await conn.createConfirmChannel();
  await ch.assertExchange(a.name, 'topic', { durable: false, autoDelete: false });
  const replyQ = `${a.name}_reply`;
  await replies.assertQueue(replyQ, {
    durable: false,
    autoDelete: false,
    arguments: { 'x-expires': 1_800_000 },
  });
  const calls = pendingCalls(uuidHex);
  const ack = batchedAcks(replies, (f) => setTimeout(f, 25));
  await replies.consume(
    replyQ,
    (msg) => {
      if (!msg) return;
      ack(msg);
      const r = decode(msg.content);
      calls.settle(r['_msg_id'] as string, r['result']);
    },
    { noAck: false },
  );
  const context: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tackerContextDict())) context[`_context_${k}`] = v;
  const request = (method: string, args: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve) => {
      const body = encode({
        method,
        args,
        version: '1.0',
        _msg_id: calls.add(resolve),
        _reply_q: replyQ,
        _timeout: null,
        _unique_id: uuidHex(),
        ...context,
      });
      ch.publish(a.name, a.name, body, CALL_PROPERTIES);
    });
  try {
    await runModes(a, 'raw amqplib', {
      call: () => request('echo', { value: 'x' }),
      cast: () =>
        publishConfirmed(
          confirm,
          a.name,
          a.name,
          encode({
            method: 'echo',
            args: { value: 'x' },
            version: '1.0',
            _unique_id: uuidHex(),
            ...context,
          }),
          PROPERTIES,
        ),
      handled: async () => ((await request('stats', {})) as { echo: number }).echo,
    });
  } finally {
    await conn.close();
  }
}

main(async () => {
  const a = peerArgs();
  if (a.role === 'server') return server(a);
  return client(a);
});
