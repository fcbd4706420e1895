/**
 * Raw amqplib request/reply, the floor of the RPC benchmark.
 *
 *   --role server   consumes queue `N` and replies; counts echoes
 *   --role client   calls (and confirmed casts, on a confirm channel) against it
 *
 * `--variant default`: no envelope, no publisher confirms on calls, no acks, RabbitMQ direct
 * reply-to (`amq.rabbitmq.reply-to`), correlation by `correlationId`, one connection per side.
 *
 * `--variant oslo-style` (a reference, not a peer): the same body, but the delivery protocol an
 * oslo.messaging-compatible driver must speak — requests and replies published on confirm channels
 * of a separate publishing connection (replies `mandatory`, both persistent as oslo sends them),
 * a named reply queue consumed with acks, the server acking each request before handling it under
 * a prefetch of 64. What this variant loses against `default` is the protocol's cost, not a
 * library's.
 *
 * The oslo-compatible references `oslo-lean` and `oslo-wire` are in `oslo-wire.ts`.
 *
 * The body is the same JSON the other peers carry: `{method, args, ctx, id}` with the 23-key context.
 */
import amqp from 'amqplib';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { echoHandler, pendingCalls, publishConfirmed, type Request } from './amqp-helpers.js';
import {
  main,
  type PeerArgs,
  peerArgs,
  runModes,
  tackerContextDict,
  untilSignal,
} from './common.js';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

async function server(a: PeerArgs): Promise<void> {
  const oslo = a.variant === 'oslo-style';
  const conn = await amqp.connect(a.amqpUrl, oslo ? { noDelay: true } : {});
  const pubConn = oslo ? await amqp.connect(a.amqpUrl, { noDelay: true }) : conn;
  const ch = await conn.createChannel();
  const pub: ConfirmChannel | undefined = oslo ? await pubConn.createConfirmChannel() : undefined;
  await ch.assertQueue(a.name, { durable: false, autoDelete: true });
  if (oslo) await ch.prefetch(64, true);
  const handle = echoHandler();
  await ch.consume(
    a.name,
    (msg) => {
      if (!msg) return;
      if (oslo) ch.ack(msg);
      const req = JSON.parse(msg.content.toString('utf8')) as Request;
      const result = handle(req);
      const { replyTo, correlationId } = msg.properties as {
        replyTo?: string;
        correlationId?: string;
      };
      const to = req.replyQ ?? replyTo;
      if (!to) return;
      const body = Buffer.from(JSON.stringify({ result, id: req.id }));
      if (pub) pub.publish('', to, body, { mandatory: true, persistent: true }, () => undefined);
      else ch.sendToQueue(to, body, { correlationId });
    },
    { noAck: !oslo },
  );
  console.log(`READY raw-amqplib queue=${a.name} variant=${a.variant}`);
  await untilSignal();
  await conn.close();
  if (pubConn !== conn) await pubConn.close();
}

async function client(a: PeerArgs): Promise<void> {
  const oslo = a.variant === 'oslo-style';
  const conn = await amqp.connect(a.amqpUrl, oslo ? { noDelay: true } : {});
  const pubConn = oslo ? await amqp.connect(a.amqpUrl, { noDelay: true }) : conn;
  const ch = await conn.createChannel();
  const pub: ConfirmChannel | undefined = oslo ? await pubConn.createConfirmChannel() : undefined;
  const confirm = await pubConn.createConfirmChannel();
  const calls = pendingCalls();
  const onReply = (msg: ConsumeMessage | null): void => {
    if (!msg) return;
    if (oslo) ch.ack(msg);
    const r = JSON.parse(msg.content.toString('utf8')) as { result: unknown; id?: string };
    calls.settle(r.id ?? (msg.properties.correlationId as string), r.result);
  };
  let replyQ = DIRECT_REPLY_TO;
  if (oslo) {
    replyQ = `${a.name}_reply`;
    await ch.assertQueue(replyQ, { durable: false, autoDelete: true, exclusive: true });
    await ch.consume(replyQ, onReply, { noAck: false });
  } else {
    // Direct reply-to: consume the pseudo-queue (noAck) on the channel that publishes the requests.
    await ch.consume(DIRECT_REPLY_TO, onReply, { noAck: true });
  }
  const ctx = tackerContextDict();
  const request = (method: string, args: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve) => {
      const id = calls.add(resolve);
      if (pub) {
        const body = Buffer.from(JSON.stringify({ method, args, ctx, id, replyQ }));
        pub.publish('', a.name, body, { persistent: true }, () => undefined);
      } else {
        const body = Buffer.from(JSON.stringify({ method, args, ctx, id }));
        ch.sendToQueue(a.name, body, { replyTo: replyQ, correlationId: id });
      }
    });
  const castBody = (): Buffer =>
    Buffer.from(JSON.stringify({ method: 'echo', args: { value: 'x' }, ctx }));
  try {
    await runModes(a, 'raw amqplib', {
      call: () => request('echo', { value: 'x' }),
      // The cast floor: publish on a confirm channel, resolved by the broker's confirm.
      cast: () =>
        publishConfirmed(confirm, '', a.name, castBody(), { contentType: 'application/json' }),
      handled: async () => ((await request('stats', {})) as { echo: number }).echo,
    });
  } finally {
    await conn.close();
    if (pubConn !== conn) await pubConn.close();
  }
}

main(async () => {
  const a = peerArgs();
  if (a.variant !== 'default' && a.variant !== 'oslo-style')
    throw new Error('--variant must be default or oslo-style (oslo-lean is in oslo-wire.ts)');
  if (a.role === 'server') return server(a);
  return client(a);
});
