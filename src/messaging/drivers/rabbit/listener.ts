import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { errorMessage, type Logger, MessageDeliveryFailure } from '../../../core/index.js';
import type { DriverListener, IncomingMessage } from '../../driver.js';
import { serializeRemoteException } from '../../failure.js';
import type { Target } from '../../target.js';
import { ChannelAcks } from './acks.js';
import { type ConnectionConfig, ManagedConnection } from './connection.js';
import { Held, type HeldOwner } from './held.js';
import { readInbound, type ReplyAddress } from './inbound.js';
import { isLean, leanExchangeOf, readLeanInbound } from './lean.js';
import { Publisher } from './publisher.js';
import { uuidHex, withTimeout } from './util.js';

/** Seconds the consumers' cancel and the fanout queue's delete may take on stop. */
const STOP_TIMEOUT = 5;

/** Remembered acknowledged `_unique_id`s per listener (oslo `DUP_MSG_CHECK_SIZE`). */
export const DUPLICATE_WINDOW = 16;

/** What a listener needs of its driver. */
export interface ListenerContext {
  readonly config: ConnectionConfig;
  readonly controlExchange: string;
  /** Sends a final reply (`ending` true), on `via` when it is ready. */
  reply(
    to: ReplyAddress,
    result: unknown,
    failure: string | null,
    via: Publisher | undefined,
  ): Promise<void>;
  /** Sends a call-monitor heartbeat, on `via` when it is ready; never throws. */
  heartbeat(to: ReplyAddress, via: Publisher | undefined): Promise<void>;
  /** A reply the broker returned. */
  onReturn(msg: ConsumeMessage): void;
  /** Called once the listener has stopped. */
  stopped(listener: RabbitListener): void;
}

/**
 * An RPC server's subscription, on a connection of its own: exchange `E` (topic) with queues `T`
 * and `T.S`, exchange `T_fanout` (fanout, auto-delete) with queue `T_fanout_<uuid4 hex>`
 * (`x-expires`), consumed on one channel with tags "1", "2", "3" and manual acks. Restored after
 * every reconnection (same fanout queue name).
 *
 * Replies go out on a second channel of the same connection, so that a request's ack and its reply
 * leave in one write (while the connection is down, or once the listener stopped, they go through
 * the driver's publishing connection).
 *
 * Prefetch: oslo.messaging sends no Basic.Qos (unlimited) unless `rabbit_qos_prefetch_count` is
 * set; this driver always bounds each consumer (per-consumer Basic.Qos, cheaper for the broker
 * than a per-channel one) to the server's `prefetch` (or to `rabbit_qos_prefetch_count` when set),
 * so a busy server's hoard of the shared queue is bounded.
 *
 * The topic and server queues are also bound to the lean exchange (see lean.ts): a call that came
 * on the lean wire is read and answered on it, any other on oslo's.
 */
export class RabbitListener implements DriverListener {
  readonly exchange: string;
  readonly topic: string;
  readonly serverQueue: string;
  readonly fanoutExchange: string;
  readonly fanoutQueue: string;
  readonly #ctx: ListenerContext;
  readonly #onMessage: (m: IncomingMessage) => void;
  readonly #prefetch: number;
  readonly #log: Logger;
  readonly #mc: ManagedConnection;
  /** This listener's replies (a plain channel on its connection). */
  readonly #replies: Publisher;
  readonly #recent: string[] = [];
  /** Deliveries handed to the server and not yet settled, by `_unique_id`. */
  readonly #held = new Map<string, Held>();
  readonly #owner: HeldOwner;
  #ch: Channel | undefined;
  /** The acks of {@link #ch}'s deliveries. */
  #acks: ChannelAcks | undefined;
  #stopping = false;
  #stopped: Promise<void> | undefined;

  constructor(
    ctx: ListenerContext,
    target: Target,
    onMessage: (m: IncomingMessage) => void,
    prefetch: number,
  ) {
    this.#ctx = ctx;
    this.exchange = target.exchange ?? ctx.controlExchange;
    this.topic = target.topic as string;
    this.serverQueue = `${this.topic}.${target.server as string}`;
    this.fanoutExchange = `${this.topic}_fanout`;
    this.fanoutQueue = `${this.topic}_fanout_${uuidHex()}`;
    this.#onMessage = onMessage;
    this.#owner = {
      settle: (h, how) => {
        if (!h.release()) return;
        const uid = h.uniqueId;
        if (uid !== undefined && this.#held.get(uid) === h) this.#held.delete(uid);
        if (how === 'ack') this.#remember(uid);
        this.#settleHeld(h, how);
      },
      reply: (to, result, failure) => ctx.reply(to, result, failure, this.#replies),
      heartbeat: (to) => ctx.heartbeat(to, this.#replies),
    };
    const qos = ctx.config.options.rabbit_qos_prefetch_count;
    this.#prefetch = Math.min(qos > 0 ? qos : prefetch, 65535); // Basic.Qos takes a short
    this.#log = ctx.config.logger.child({ topic: this.topic, server: target.server });
    this.#mc = new ManagedConnection(
      `listener ${this.serverQueue}`,
      { ...ctx.config, logger: this.#log },
      (conn) => this.#setup(conn),
      true,
    );
    this.#replies = new Publisher(
      { ...ctx.config, logger: this.#log },
      {
        name: `listener ${this.serverQueue} replies`,
        confirms: false,
        onReturn: (msg) => ctx.onReturn(msg),
        connection: this.#mc,
      },
    );
  }

  /** True while consuming. */
  get ready(): boolean {
    return this.#mc.ready && this.#ch !== undefined;
  }

  /** Connects, declares and consumes; waits for the broker as long as it takes. */
  async start(): Promise<void> {
    try {
      await this.#mc.waitReady(Infinity, `listen on ${this.serverQueue}`);
    } catch (err) {
      if (err instanceof MessageDeliveryFailure) throw err;
      throw new MessageDeliveryFailure(
        `Cannot listen on exchange '${this.exchange}' topic '${this.topic}': ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * Cancels the consumers, deletes the fanout queue (as oslo does on a clean shutdown) and closes
   * the connection: deliveries not yet acknowledged go back to their queues.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    // Acks marked in this turn leave before the consumers are cancelled and the connection closed:
    // a dispatched request must not go back to the queue.
    this.#acks?.flush();
    const ch = this.#ch;
    if (ch && this.#mc.ready) {
      try {
        await withTimeout(
          (async () => {
            for (const tag of ['1', '2', '3']) await ch.cancel(tag);
            await ch.deleteQueue(this.fanoutQueue);
          })(),
          STOP_TIMEOUT,
          this.#ctx.config.clock,
          'Cancelling the consumers',
        );
      } catch (err) {
        this.#log.debug({ err: errorMessage(err) }, 'Could not cancel the consumers cleanly');
      }
    }
    this.#acks?.flush();
    await this.#replies.close();
    await this.#mc.close();
    this.#ch = undefined;
    this.#acks?.close();
    this.#acks = undefined;
    this.#held.clear();
    this.#ctx.stopped(this);
  }

  async #setup(conn: ChannelModel): Promise<void> {
    const o = this.#ctx.config.options;
    const ch = await conn.createChannel();
    const acks = new ChannelAcks(ch, (err) =>
      this.#log.debug({ err: errorMessage(err) }, 'Could not settle a delivery'),
    );
    ch.on('error', (err: unknown) =>
      this.#log.warn({ err: errorMessage(err) }, 'AMQP channel error'),
    );
    ch.on('close', () => {
      acks.close();
      if (this.#ch !== ch) return;
      this.#ch = undefined;
      this.#acks = undefined;
      if (this.#stopping) return;
      // The channel alone went away (e.g. a protocol error): start over on a fresh connection.
      setImmediate(() => {
        if (this.#mc.connection === conn) this.#mc.reset('listener channel closed');
      });
    });
    const durable = o.amqp_durable_queues || o.rabbit_quorum_queue;
    const topicArgs: Record<string, unknown> = {};
    if (o.rabbit_ha_queues) topicArgs['x-ha-policy'] = 'all';
    if (o.rabbit_quorum_queue) topicArgs['x-queue-type'] = 'quorum';
    const fanoutArgs: Record<string, unknown> = {
      'x-expires': o.rabbit_transient_queues_ttl * 1000,
    };
    if (o.rabbit_ha_queues) fanoutArgs['x-ha-policy'] = 'all';

    await ch.assertExchange(this.exchange, 'topic', {
      durable: o.amqp_durable_queues,
      autoDelete: o.amqp_auto_delete,
      internal: false,
      arguments: {},
    });
    for (const q of [this.topic, this.serverQueue]) {
      await ch.assertQueue(q, {
        durable,
        autoDelete: o.amqp_auto_delete,
        exclusive: false,
        arguments: topicArgs,
      });
      await ch.bindQueue(q, this.exchange, q);
    }
    await ch.assertExchange(this.fanoutExchange, 'fanout', {
      durable: false,
      autoDelete: true,
      internal: false,
      arguments: {},
    });
    await ch.assertQueue(this.fanoutQueue, {
      durable: false,
      autoDelete: false,
      exclusive: false,
      arguments: fanoutArgs,
    });
    await ch.bindQueue(this.fanoutQueue, this.fanoutExchange, this.topic);
    await this.#bindLean(conn);
    // Per-consumer QoS: a global (per-channel) limit makes the broker consult the channel for
    // every delivery, which costs it more per message; quorum queues only support this one.
    await ch.prefetch(this.#prefetch, false);
    await this.#replies.attach(conn);
    this.#ch = ch;
    this.#acks = acks;
    const queues = [this.topic, this.serverQueue, this.fanoutQueue];
    for (const [i, q] of queues.entries()) {
      await ch.consume(q, (msg) => this.#onDelivery(ch, acks, msg), {
        noAck: false,
        consumerTag: String(i + 1),
      });
    }
  }

  /**
   * Binds the topic and server queues to the lean exchange too (conductor-ts's lean wire, see
   * lean.ts), on a channel of its own: should the broker refuse it, oslo's wire still works.
   */
  async #bindLean(conn: ChannelModel): Promise<void> {
    const lean = leanExchangeOf(this.exchange);
    let ch: Channel | undefined;
    try {
      ch = await conn.createChannel();
      ch.on('error', () => undefined); // reported below
      await ch.assertExchange(lean, 'direct', { durable: true, autoDelete: false });
      for (const q of [this.topic, this.serverQueue]) await ch.bindQueue(q, lean, q);
    } catch (err) {
      this.#log.warn(
        { exchange: lean, err: errorMessage(err) },
        'Cannot bind the lean exchange: this server answers only calls on oslo.messaging wire',
      );
    } finally {
      if (ch) await ch.close().catch(() => undefined);
    }
  }

  /** Runs an ack/nack on the delivery's channel unless that channel is gone (then the broker requeued it). */
  #settle(ch: Channel, op: (ch: Channel) => void): void {
    if (this.#ch !== ch) return;
    try {
      op(ch);
    } catch (err) {
      this.#log.debug({ err: errorMessage(err) }, 'Could not settle a delivery');
    }
  }

  /**
   * Settles a held delivery, or its redelivered copy when its own channel is gone. Acks are
   * coalesced per turn ({@link ChannelAcks}); nacks leave at once.
   */
  #settleHeld(h: Held, how: 'ack' | 'requeue' | 'reject'): void {
    const d = h.acks === this.#acks ? h : h.proxy;
    if (!d || d.acks !== this.#acks) return;
    if (how === 'ack') d.acks.ack(d.d, true);
    else d.acks.nack(d.d, how === 'requeue');
  }

  #remember(uniqueId: string | undefined): void {
    if (uniqueId === undefined) return;
    this.#recent.push(uniqueId);
    if (this.#recent.length > DUPLICATE_WINDOW) this.#recent.shift();
  }

  #onDelivery(ch: Channel, acks: ChannelAcks, msg: ConsumeMessage | null): void {
    if (msg === null) {
      if (this.#stopping || this.#ch !== ch) return;
      this.#log.warn('A consumer was cancelled by the broker (queue deleted?); re-declaring');
      acks.flush();
      this.#mc.reset('consumer cancelled by the broker');
      return;
    }
    if (this.#stopping) return this.#settle(ch, (c) => c.nack(msg, false, true));
    const max = this.#ctx.config.options.rabbit_max_message_size;
    const r = isLean(msg) ? readLeanInbound(msg, max) : readInbound(msg.content, max);
    if (!r.ok) {
      this.#log.warn(
        {
          reason: r.error.message,
          exchange: msg.fields.exchange,
          routingKey: msg.fields.routingKey,
          bytes: msg.content.length,
        },
        'Rejected a malformed message',
      );
      this.#settle(ch, (c) => c.nack(msg, false, false));
      if (r.reply) {
        const to = r.reply;
        void this.#ctx
          .reply(to, null, serializeRemoteException(r.error), this.#replies)
          .catch((err: unknown) =>
            this.#log.error(
              { err: errorMessage(err), msgId: to.msgId },
              'Can not send reply for message',
            ),
          );
      }
      return;
    }
    const uid = r.uniqueId;
    if (uid !== undefined) {
      const prior = this.#held.get(uid);
      if (prior && prior.acks !== acks && prior.proxy?.acks !== acks) {
        // Redelivered after a connection loss while the first copy still waits in the server.
        prior.proxy = { acks, d: acks.track(msg) };
        this.#log.debug(
          { uniqueId: uid },
          'Redelivered message is already held; not dispatched twice',
        );
        return;
      }
      if (prior || this.#recent.includes(uid)) {
        this.#log.warn(
          { uniqueId: uid, err: `Found duplicate message(${uid}). Skipping it.` },
          'Failed to process message ... skipping it.',
        );
        this.#settle(ch, (c) => c.nack(msg, false, false));
        return;
      }
    }
    const held = new Held(
      acks,
      acks.track(msg),
      uid,
      r.reply,
      r,
      r.reply === undefined ? undefined : r.callMonitorTimeout,
      this.#owner,
    );
    if (uid !== undefined) this.#held.set(uid, held);
    try {
      this.#onMessage(held);
    } catch (err) {
      this.#log.error(
        { err: errorMessage(err) },
        'The message handler failed; dropping the message',
      );
      this.#owner.settle(held, 'reject');
    }
  }
}
