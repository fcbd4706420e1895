/**
 * oslo.messaging-compatible references on raw amqplib (not peers): one server and one client, run
 * with either of two wires, so that the difference between the two variants is the wire alone.
 *
 *   --role server   declares the queue `N` (and the wire's exchange), consumes it with acks, replies
 *   --role client   calls and confirmed casts against it
 *
 * Both make the cheapest choices the wire does not show, as conductor-ts does since its fourth RPC
 * session: calls and replies unconfirmed, the reply queue consumed with batched acks on the
 * connection that publishes the calls, the server acking each request before handling it under a
 * prefetch of 256, a side's acks and replies written together (the socket corked for the turn). No
 * validation, no context object, no dispatch, no timeouts.
 *
 * `--variant oslo-lean`: the least of oslo's protocol — requests to the queue through the default
 * exchange, `persistent`, calls with an `expiration`, replies `mandatory` — carrying the body the
 * other peers carry, `{method, args, ctx, id, replyQ}` with the 23-key context.
 *
 * `--variant oslo-wire`: everything `../shared/spec/wire-format.md` requires — requests to the
 * topic exchange `N` with the topic as routing key; oslo's basic properties (`application/json`,
 * `utf-8`, empty headers, persistent, priority 0, `expiration` on calls); the double-encoded
 * `oslo.version` 2.0 envelope with `_msg_id`, `_reply_q`, `_timeout`, `_unique_id` (uuid4 hex) and
 * the 23 `_context_*` keys; `mandatory` replies with `result`, `failure`, `ending`, `_msg_id`,
 * `_unique_id`; a reply queue with `x-expires`. What it costs against raw amqplib is what oslo's
 * wire costs.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel, Options } from 'amqplib';
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

/** A request as the server reads it: the handler's view, and where its reply goes. */
interface Inbound {
  readonly req: Request;
  readonly replyQ: unknown;
  readonly id: unknown;
}

/** What differs between the two variants: names, declarations, properties and bodies. */
interface Wire {
  /** The exchange requests are published to (`''`: the default exchange). */
  exchange(a: PeerArgs): string;
  /** The server's queue `a.name` and what routes to it. */
  declareServer(ch: Channel, a: PeerArgs): Promise<void>;
  /** The client's declarations; returns the reply queue. */
  declareClient(ch: Channel, replies: Channel, a: PeerArgs): Promise<string>;
  readonly callProperties: Options.Publish;
  readonly castProperties: Options.Publish;
  readonly replyProperties: Options.Publish;
  /** Correlation ids (default: a counter). */
  readonly newId: (() => string) | undefined;
  request(method: string, args: Record<string, unknown>, id: string, replyQ: string): Buffer;
  cast(): Buffer;
  readRequest(content: Buffer): Inbound;
  reply(result: unknown, id: unknown): Buffer;
  readReply(content: Buffer): { id: string; result: unknown };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const parse = (content: Buffer): Record<string, unknown> =>
  JSON.parse(content.toString('utf8')) as Record<string, unknown>;

function leanWire(): Wire {
  const ctx = tackerContextDict();
  return {
    exchange: () => '',
    async declareServer(ch, a) {
      await ch.assertQueue(a.name, { durable: false, autoDelete: true });
    },
    async declareClient(_ch, replies, a) {
      const replyQ = `${a.name}_reply`;
      await replies.assertQueue(replyQ, { durable: false, autoDelete: true, exclusive: true });
      return replyQ;
    },
    callProperties: { persistent: true, expiration: '30000' },
    castProperties: { persistent: true },
    replyProperties: { mandatory: true, persistent: true },
    newId: undefined,
    request: (method, args, id, replyQ) => json({ method, args, ctx, id, replyQ }),
    cast: () => json({ method: 'echo', args: { value: 'x' }, ctx }),
    readRequest(content) {
      const req = parse(content) as unknown as Request;
      return { req, replyQ: req.replyQ, id: req.id };
    },
    reply: (result, id) => json({ result, id }),
    readReply(content) {
      const r = parse(content);
      return { id: r['id'] as string, result: r['result'] };
    },
  };
}

/** The basic properties of every oslo publish (plus `expiration` on calls, `mandatory` on replies). */
const OSLO_PROPERTIES: Options.Publish = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: {},
  deliveryMode: 2,
  priority: 0,
};

function osloWire(): Wire {
  const uuidHex = (): string => randomUUID().replaceAll('-', '');
  const envelope = (message: Record<string, unknown>): Buffer =>
    json({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(message) });
  const open = (content: Buffer): Record<string, unknown> =>
    JSON.parse(parse(content)['oslo.message'] as string) as Record<string, unknown>;
  const context: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tackerContextDict())) context[`_context_${k}`] = v;
  const declareExchange = (ch: Channel, a: PeerArgs) =>
    ch.assertExchange(a.name, 'topic', { durable: false, autoDelete: false });
  return {
    exchange: (a) => a.name,
    async declareServer(ch, a) {
      await declareExchange(ch, a);
      await ch.assertQueue(a.name, { durable: false, autoDelete: false });
      await ch.bindQueue(a.name, a.name, a.name);
    },
    async declareClient(ch, replies, a) {
      await declareExchange(ch, a);
      const replyQ = `${a.name}_reply`;
      await replies.assertQueue(replyQ, {
        durable: false,
        autoDelete: false,
        arguments: { 'x-expires': 1_800_000 },
      });
      return replyQ;
    },
    callProperties: { ...OSLO_PROPERTIES, expiration: '30000' },
    castProperties: OSLO_PROPERTIES,
    replyProperties: { ...OSLO_PROPERTIES, mandatory: true },
    newId: uuidHex,
    request: (method, args, id, replyQ) =>
      envelope({
        method,
        args,
        version: '1.0',
        _msg_id: id,
        _reply_q: replyQ,
        _timeout: null,
        _unique_id: uuidHex(),
        ...context,
      }),
    cast: () =>
      envelope({
        method: 'echo',
        args: { value: 'x' },
        version: '1.0',
        _unique_id: uuidHex(),
        ...context,
      }),
    readRequest(content) {
      const m = open(content);
      return { req: m as unknown as Request, replyQ: m['_reply_q'], id: m['_msg_id'] };
    },
    reply: (result, id) =>
      envelope({ result, failure: null, ending: true, _msg_id: id, _unique_id: uuidHex() }),
    readReply(content) {
      const r = open(content);
      return { id: r['_msg_id'] as string, result: r['result'] };
    },
  };
}

async function server(a: PeerArgs, wire: Wire): Promise<void> {
  const conn = await amqp.connect(a.amqpUrl, { noDelay: true });
  corkPerTurn(conn);
  const ch = await conn.createChannel();
  const pub = await conn.createChannel();
  await wire.declareServer(ch, a);
  await ch.prefetch(256, true);
  const ack = batchedAcks(ch, setImmediate);
  const handle = echoHandler();
  await ch.consume(
    a.name,
    (msg) => {
      if (!msg) return;
      ack(msg);
      const { req, replyQ, id } = wire.readRequest(msg.content);
      const result = handle(req);
      if (typeof replyQ !== 'string' || replyQ === '') return;
      pub.publish('', replyQ, wire.reply(result, id), wire.replyProperties);
    },
    { noAck: false },
  );
  console.log(`READY ${a.variant} queue=${a.name}`);
  await untilSignal();
  await conn.close();
}

async function client(a: PeerArgs, wire: Wire): Promise<void> {
  const conn = await amqp.connect(a.amqpUrl, { noDelay: true });
  corkPerTurn(conn);
  const ch = await conn.createChannel();
  const replies = await conn.createChannel();
  const confirm = await conn.createConfirmChannel();
  const replyQ = await wire.declareClient(ch, replies, a);
  const calls = pendingCalls(wire.newId);
  const ack = batchedAcks(replies, (f) => setTimeout(f, 25));
  await replies.consume(
    replyQ,
    (msg) => {
      if (!msg) return;
      ack(msg);
      const r = wire.readReply(msg.content);
      calls.settle(r.id, r.result);
    },
    { noAck: false },
  );
  const exchange = wire.exchange(a);
  const request = (method: string, args: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve) => {
      const body = wire.request(method, args, calls.add(resolve), replyQ);
      ch.publish(exchange, a.name, body, wire.callProperties);
    });
  try {
    await runModes(a, 'raw amqplib', {
      call: () => request('echo', { value: 'x' }),
      cast: () => publishConfirmed(confirm, exchange, a.name, wire.cast(), wire.castProperties),
      handled: async () => ((await request('stats', {})) as { echo: number }).echo,
    });
  } finally {
    await conn.close();
  }
}

const WIRES: Record<string, () => Wire> = { 'oslo-lean': leanWire, 'oslo-wire': osloWire };

main(async () => {
  const a = peerArgs();
  const wire = WIRES[a.variant];
  if (!wire) throw new Error(`--variant must be one of ${Object.keys(WIRES).join(', ')}`);
  if (a.role === 'server') return server(a, wire());
  return client(a, wire());
});
