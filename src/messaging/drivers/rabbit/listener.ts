import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { errorMessage, type Logger, MessageDeliveryFailure } from '../../../core/index.js';
import type { DriverListener, IncomingMessage } from '../../driver.js';
import { serializeRemoteException } from '../../failure.js';
import type { Target } from '../../target.js';
import { ChannelAcks } from './acks.js';
import { retryDelay, type ConnectionConfig } from './connection.js';
import { Held, type HeldOwner } from './held.js';
import { readInbound, type ReplyAddress } from './inbound.js';
import { isLean, leanExchangeOf, readLeanInbound } from './lean.js';
import type { ConnectionMember, ListenerConnection } from './listener-connection.js';
import type { Publisher } from './publisher.js';
import { closeQuietly, pause, uuidHex, withTimeout } from './util.js';

/** Seconds the consumers' cancel and the fanout queue's delete may take on stop. */
const STOP_TIMEOUT = 5;

/** Remembered acknowledged `_unique_id`s per listener (oslo `DUP_MSG_CHECK_SIZE`). */
export const DUPLICATE_WINDOW = 16;

/** What a listener needs of its driver. */
export interface ListenerContext {
  readonly config: ConnectionConfig;
  readonly controlExchange: string;
  /** The connection the driver's listeners share (with their replies publisher). */
  readonly connection: ListenerConnection;
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
 * An RPC server's subscription, on a channel of its own on the connection the driver's listeners
 * share ({@link ListenerConnection}): exchange `E` (topic) with queues `T` and `T.S`, exchange
 * `T_fanout` (fanout, auto-delete) with queue `T_fanout_<uuid4 hex>` (`x-expires`), consumed with
 * tags "1", "2", "3" and manual acks. Restored after every reconnection (same fanout queue name),
 * and on the same connection when its channel alone closes.
 *
 * Replies go out on the shared connection's replies channel, so that a request's ack and its reply
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
export class RabbitListener implements DriverListener, ConnectionMember {
  readonly exchange: string;
  readonly topic: string;
  readonly serverQueue: string;
  readonly fanoutExchange: string;
  readonly fanoutQueue: string;
  readonly #ctx: ListenerContext;
  readonly #onMessage: (m: IncomingMessage) => void;
  readonly #prefetch: number;
  readonly #log: Logger;
  readonly #shared: ListenerConnection;
  /** The set-up in progress or done on a connection (one per connection). */
  #attach: { readonly conn: ChannelModel; readonly done: Promise<void> } | undefined;
  readonly #recent: string[] = [];
  /** Deliveries handed to the server and not yet settled, by `_unique_id`. */
  readonly #held = new Map<string, Held>();
  readonly #owner: HeldOwner;
  #ch: Channel | undefined;
  /** The acks of {@link #ch}'s deliveries. */
  #acks: ChannelAcks | undefined;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #requeued = 0;

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
      reply: (to, result, failure) => ctx.reply(to, result, failure, this.#shared.replies),
      heartbeat: (to) => ctx.heartbeat(to, this.#shared.replies),
    };
    const qos = ctx.config.options.rabbit_qos_prefetch_count;
    this.#prefetch = Math.min(qos > 0 ? qos : prefetch, 65535); // Basic.Qos takes a short
    this.#log = ctx.config.logger.child({ topic: this.topic, server: target.server });
    this.#shared = ctx.connection;
  }

  /**
   * Deliveries this listener returned to their queue itself, never handing them to the server:
   * those that arrived while it was stopping (the server counts the ones it held).
   */
  get requeued(): number {
    return this.#requeued;
  }

  /** True while consuming. */
  get ready(): boolean {
    return this.#shared.mc.ready && this.#ch !== undefined;
  }

  /**
   * Declares and consumes on the shared connection; waits for the broker as long as it takes. A
   * set-up the broker refuses (a declaration with other flags, ...) fails the start.
   */
  async start(): Promise<void> {
    this.#shared.add(this);
    try {
      for (;;) {
        const conn = await this.#shared.mc.waitReady(Infinity, `listen on ${this.serverQueue}`);
        try {
          await this.attach(conn);
        } catch (err) {
          // Lost with its connection: the next one sets it up. Refused on a live one: for good.
          if (this.#shared.mc.connection === conn) throw err;
          continue;
        }
        if (this.#ch) return;
      }
    } catch (err) {
      this.#shared.remove(this);
      if (err instanceof MessageDeliveryFailure) throw err;
      throw new MessageDeliveryFailure(
        `Cannot listen on exchange '${this.exchange}' topic '${this.topic}': ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  /** Sets the listener up on `conn` (once per connection; again after a failure). */
  attach(conn: ChannelModel): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    const current = this.#attach;
    if (current?.conn === conn) return current.done;
    const done = this.#setup(conn);
    const attach = { conn, done };
    this.#attach = attach;
    done.catch(() => {
      if (this.#attach === attach) this.#attach = undefined;
    });
    return done;
  }

  /** The set-up on a new connection failed: try again on it, until it works or the connection goes. */
  attachFailed(conn: ChannelModel, err: unknown): void {
    this.#log.warn(
      { err: errorMessage(err) },
      'Cannot set up the listener on the new connection; retrying',
    );
    void this.#retryAttach(conn);
  }

  async #retryAttach(conn: ChannelModel): Promise<void> {
    const o = this.#ctx.config.options;
    for (let failures = 1; ; failures++) {
      await pause(this.#ctx.config.clock, retryDelay(o, failures));
      if (this.#stopping || this.#ch || this.#shared.mc.connection !== conn) return;
      try {
        await this.attach(conn);
        return;
      } catch (err) {
        this.#log.debug({ err: errorMessage(err) }, 'The listener set-up failed again');
      }
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
    if (ch && this.#shared.mc.ready) {
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
    // Closing the channel returns what it still holds unacknowledged to the queues.
    if (ch)
      await closeQuietly(ch, this.#log, 'Could not close the listener channel (already closed)');
    this.#shared.remove(this);
    this.#ch = undefined;
    this.#acks?.close();
    this.#acks = undefined;
    this.#held.clear();
    this.#ctx.stopped(this);
  }

  async #setup(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    try {
      await this.#setupOn(conn, ch);
    } catch (err) {
      // Most refusals closed the channel already; anything else must not leave it half set up.
      await closeQuietly(ch, this.#log, 'Could not close a listener channel that failed to set up');
      throw err;
    }
  }

  async #setupOn(conn: ChannelModel, ch: Channel): Promise<void> {
    const o = this.#ctx.config.options;
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
      // The channel alone went away (a protocol error, a consumer the broker cancelled): set it up
      // again on the same connection. A lost connection is restored, with every listener on it,
      // by the shared connection.
      this.#attach = undefined;
      setImmediate(() => {
        if (this.#stopping || this.#shared.mc.connection !== conn) return;
        this.attach(conn).catch((err: unknown) => this.attachFailed(conn, err));
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
    if (this.#stopping) {
      await closeQuietly(ch, this.#log, 'Could not close a listener channel set up while stopping');
      return;
    }
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
      // Closing the channel sets the listener up again on the same connection.
      void closeQuietly(ch, this.#log, 'Could not close the channel of a cancelled consumer');
      return;
    }
    if (this.#stopping) {
      this.#requeued++;
      return this.#settle(ch, (c) => c.nack(msg, false, true));
    }
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
          .reply(to, null, serializeRemoteException(r.error), this.#shared.replies)
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
