/**
 * Reference (not a peer): conductor-ts's lean wire (`rpc_reply_mode = direct`, see
 * src/messaging/drivers/rabbit/lean.ts) spoken directly on amqplib, with nothing a framework does.
 *
 *   --role server   declares the queue `N`, binds it to the direct exchange `conductor-lean.N`,
 *                   consumes it with acks under a prefetch of 256, replies to `reply_to`
 *   --role client   calls through direct reply-to
 *
 * What it keeps of the lean wire is everything the broker sees: calls to the direct exchange,
 * `mandatory`, the properties (`type`, `reply_to` = `amq.rabbitmq.reply-to`, `correlation_id`,
 * `expiration`, `content_type`), the body `{"m", "a", "v", "c"}` with the 23-key context, replies
 * `{"result"}` with `type` and `correlation_id`, and the server's acks (sent per turn, with the
 * reply, as conductor-ts does). What it leaves out is the framework: no validation, no context
 * object, no dispatch, no timeouts. Against raw amqplib's default (no acks, no properties, the
 * default exchange) it measures what the lean wire itself costs.
 */
import amqp from 'amqplib';
import {
  batchedAcks,
  corkPerTurn,
  echoHandler,
  pendingCalls,
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

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
const TYPE = 'conductor-lean/1';
const exchangeOf = (a: PeerArgs): string => `conductor-lean.${a.name}`;

async function server(a: PeerArgs): Promise<void> {
  const conn = await amqp.connect(a.amqpUrl, { noDelay: true });
  corkPerTurn(conn);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchangeOf(a), 'direct', { durable: true, autoDelete: false });
  await ch.assertQueue(a.name, { durable: false, autoDelete: false });
  await ch.bindQueue(a.name, exchangeOf(a), a.name);
  await ch.prefetch(256, false);
  const ack = batchedAcks(ch, process.nextTick);
  const handle = echoHandler();
  await ch.consume(
    a.name,
    (msg) => {
      if (!msg) return;
      ack(msg);
      const m = JSON.parse(msg.content.toString('utf8')) as { m: string; a: Request['args'] };
      const result = handle({ method: m.m, args: m.a });
      const { replyTo, correlationId } = msg.properties as {
        replyTo?: string;
        correlationId?: string;
      };
      if (!replyTo) return;
      ch.publish('', replyTo, Buffer.from(JSON.stringify({ result })), {
        type: TYPE,
        correlationId,
        contentType: 'application/json',
      });
    },
    { noAck: false },
  );
  console.log(`READY lean-wire queue=${a.name}`);
  await untilSignal();
  await conn.close();
}

async function client(a: PeerArgs): Promise<void> {
  const conn = await amqp.connect(a.amqpUrl, { noDelay: true });
  corkPerTurn(conn);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchangeOf(a), 'direct', { durable: true, autoDelete: false });
  const calls = pendingCalls();
  await ch.consume(
    DIRECT_REPLY_TO,
    (msg) => {
      if (!msg) return;
      const r = JSON.parse(msg.content.toString('utf8')) as { result: unknown };
      calls.settle(msg.properties.correlationId as string, r.result);
    },
    { noAck: true },
  );
  const ctx = JSON.stringify(tackerContextDict());
  const exchange = exchangeOf(a);
  const request = (method: string, args: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve) => {
      const id = calls.add(resolve);
      const body = `${JSON.stringify({ m: method, a: args, v: '1.0' }).slice(0, -1)},"c":${ctx}}`;
      ch.publish(exchange, a.name, Buffer.from(body), {
        type: TYPE,
        replyTo: DIRECT_REPLY_TO,
        correlationId: id,
        expiration: '30000',
        contentType: 'application/json',
        mandatory: true,
      });
    });
  try {
    await runModes(a, 'raw amqplib', {
      call: () => request('echo', { value: 'x' }),
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
