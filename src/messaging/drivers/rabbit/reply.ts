import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { errorMessage, type Logger, MessageDeliveryFailure } from '../../../core/index.js';
import type { ConnectionConfig, ManagedConnection } from './connection.js';
import { readReply, type InboundReply } from './inbound.js';
import { closeQuietly, Notifier, uuidHex, waitChange } from './util.js';

/** A call waiting for its reply. */
export interface PendingCall {
  /** The final reply (`ending` true). */
  settle(reply: InboundReply): void;
  /** A call-monitor heartbeat (`ending` false). */
  heartbeat(): void;
  fail(err: Error): void;
}

/** Replies acknowledged together at most (one `Basic.Ack` with `multiple`). */
const ACK_BATCH = 64;
/**
 * Real-time ms after which replies received are acknowledged however few. Not a clock wait: it
 * only coalesces socket writes (acks), so it follows the I/O, not the scheduling clock.
 */
const ACK_DELAY_MS = 25;

/** The reply channel's acks: every delivery on it is acknowledged, so one `multiple` ack covers all. */
interface ReplyAcks {
  readonly ch: Channel;
  last: ConsumeMessage | undefined;
  count: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The client side of replies: one queue `reply_<uuid4 hex>` per driver, declared lazily on the
 * first call (non-durable, not auto-delete, `x-expires` = `rabbit_transient_queues_ttl`), consumed
 * on the driver's publishing connection (so that the broker's delivery of a reply carries the TCP
 * acknowledgement of the request) and restored after every reconnection. Replies are routed to the
 * waiting call by `_msg_id`; others are logged and dropped. The consumer takes no `Basic.Qos`
 * unless `rabbit_qos_prefetch_count` is set, so a connection the broker blocks for a resource alarm
 * (it stops reading from it, not writing to it) still receives every reply.
 *
 * Acks (the consumer uses manual acks, as oslo's does): every reply is acknowledged, in batches —
 * one `Basic.Ack` with `multiple` per {@link ACK_BATCH} replies or after {@link ACK_DELAY_MS} ms,
 * and never more than half the prefetch unacknowledged. A call is settled when its reply arrives,
 * not when it is acknowledged. A reply still unacknowledged when the connection drops is
 * delivered again after the reconnection and dropped, its call being settled already.
 *
 * Replies come through the default exchange (oslo.messaging >= 5.34). With
 * `rabbit_reply_direct_exchange` the queue is also bound to a direct exchange of the same name,
 * which is where Pike-era servers publish them.
 */
export class ReplyConsumer {
  readonly queue = `reply_${uuidHex()}`;
  readonly #config: ConnectionConfig;
  readonly #log: Logger;
  readonly #calls = new Map<string, PendingCall>();
  readonly #ackBatch: number;
  readonly #mc: ManagedConnection;
  readonly #changed = new Notifier();
  /** Set by the first {@link ensure}: the queue is consumed from then on, on every connection. */
  #wanted = false;
  /** The connection being set up by {@link ensure} (not by the owner's set-up). */
  #attaching: Promise<void> | undefined;
  #ch: Channel | undefined;
  /** {@link #ch} is consuming (its Basic.ConsumeOk came). */
  #consuming = false;
  #acks: ReplyAcks | undefined;
  #closed = false;

  /**
   * `connection` is shared with the driver's publisher: its set-up calls {@link attach} once the
   * queue is {@link wanted}, and its owner closes it.
   */
  constructor(config: ConnectionConfig, connection: ManagedConnection) {
    this.#config = config;
    this.#log = config.logger;
    this.#mc = connection;
    const prefetch = config.options.rabbit_qos_prefetch_count;
    this.#ackBatch = prefetch > 0 ? Math.max(1, Math.min(ACK_BATCH, prefetch >> 1)) : ACK_BATCH;
  }

  /** True once a call asked for the reply queue. */
  get wanted(): boolean {
    return this.#wanted;
  }

  /** True when not in use yet, or while consuming. */
  get ready(): boolean {
    return !this.#wanted || this.consuming;
  }

  /** True while the reply queue is being consumed (a call can be sent without {@link ensure}). */
  get consuming(): boolean {
    return !this.#closed && this.#consuming && this.#mc.ready;
  }

  /** Calls waiting for a reply. */
  get pending(): number {
    return this.#calls.size;
  }

  /** Declares and consumes the reply queue (once); rejects with MessageDeliveryFailure in time. */
  async ensure(deadline: number): Promise<void> {
    const what = `set up the reply queue ${this.queue}`;
    this.#wanted = true;
    for (;;) {
      if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
      if (this.consuming) return;
      const conn = await this.#mc.waitReady(deadline, what);
      if (this.consuming) return;
      // Connected before the queue was wanted: set it up here (the set-up of the next
      // connection does it from then on).
      if (this.#attaching === undefined) {
        this.#attaching = this.attach(conn)
          .catch((err: unknown) => {
            this.#log.warn({ queue: this.queue, err: errorMessage(err) }, 'Cannot consume replies');
            if (this.#mc.connection === conn) this.#mc.reset('reply queue set-up failed');
          })
          .finally(() => {
            this.#attaching = undefined;
            this.#changed.notify();
          });
      }
      // Until the set-up ends (it notifies either way) or the connection changes, at most until
      // the deadline.
      if (!(await waitChange(this.#changed, this.#config.clock, deadline)) && !this.consuming) {
        throw new MessageDeliveryFailure(`Could not ${what} in time`);
      }
    }
  }

  /** Declares and consumes the queue on a new connection (from the connection's set-up). */
  attach(conn: ChannelModel): Promise<void> {
    return this.#setup(conn);
  }

  register(msgId: string, call: PendingCall): void {
    this.#calls.set(msgId, call);
  }

  unregister(msgId: string): void {
    this.#calls.delete(msgId);
  }

  /** Fails every waiting call (transport closing) and stops consuming. */
  async close(err: Error): Promise<void> {
    this.#closed = true;
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    for (const call of calls) call.fail(err);
    if (this.#acks) this.#flushAcks(this.#acks);
    const ch = this.#ch;
    this.#ch = undefined;
    this.#consuming = false;
    this.#changed.notify();
    if (ch) {
      await closeQuietly(
        ch,
        this.#log,
        'Could not close the reply channel (already closed with its connection)',
      );
    }
  }

  /** Acknowledges every reply received on the channel so far (one `multiple` ack). */
  #flushAcks(a: ReplyAcks): void {
    if (a.timer !== undefined) {
      clearTimeout(a.timer);
      a.timer = undefined;
    }
    const last = a.last;
    if (!last) return;
    a.last = undefined;
    a.count = 0;
    if (this.#ch !== a.ch) return; // the broker requeued them with the channel
    try {
      a.ch.ack(last, true);
    } catch {
      // The channel is closing; the broker requeues the replies, which come back and are dropped.
    }
  }

  async #setup(conn: ChannelModel): Promise<void> {
    const o = this.#config.options;
    const q = this.queue;
    const ch = await conn.createChannel();
    ch.on('error', (err: unknown) =>
      this.#log.warn({ connection: 'reply', err: errorMessage(err) }, 'AMQP channel error'),
    );
    const acks: ReplyAcks = { ch, last: undefined, count: 0, timer: undefined };
    ch.on('close', () => {
      if (acks.timer !== undefined) clearTimeout(acks.timer);
      acks.timer = undefined;
      acks.last = undefined;
      if (this.#ch !== ch) return;
      this.#ch = undefined;
      this.#consuming = false;
      this.#changed.notify();
      if (this.#closed) return;
      // The channel alone went away: start over on a fresh connection.
      setImmediate(() => {
        if (this.#mc.connection === conn) this.#mc.reset('reply channel closed');
      });
    });
    const args: Record<string, unknown> = { 'x-expires': o.rabbit_transient_queues_ttl * 1000 };
    if (o.rabbit_ha_queues) args['x-ha-policy'] = 'all';
    if (o.rabbit_reply_direct_exchange) {
      await ch.assertExchange(q, 'direct', {
        durable: false,
        autoDelete: true,
        internal: false,
        arguments: {},
      });
    }
    await ch.assertQueue(q, {
      durable: false,
      autoDelete: false,
      exclusive: false,
      arguments: args,
    });
    if (o.rabbit_reply_direct_exchange) await ch.bindQueue(q, q, q);
    if (o.rabbit_qos_prefetch_count > 0) await ch.prefetch(o.rabbit_qos_prefetch_count);
    if (this.#closed) {
      await closeQuietly(
        ch,
        this.#log,
        'Could not close a reply channel set up while closing (its connection closes too)',
      );
      return;
    }
    this.#ch = ch;
    this.#acks = acks;
    await ch.consume(q, (msg) => this.#onReply(ch, acks, msg), {
      noAck: false,
      consumerTag: '1',
    });
    if (this.#ch !== ch) return;
    this.#consuming = true;
    this.#changed.notify();
  }

  #onReply(ch: Channel, acks: ReplyAcks, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.#log.warn({ queue: this.queue }, 'The reply consumer was cancelled by the broker');
      if (this.#ch === ch) {
        this.#flushAcks(acks);
        this.#mc.reset('reply consumer cancelled');
      }
      return;
    }
    if (this.#ch !== ch) return; // the channel is closing; the broker requeues the reply
    acks.last = msg;
    if (++acks.count >= this.#ackBatch) this.#flushAcks(acks);
    else acks.timer ??= setTimeout(() => this.#flushAcks(acks), ACK_DELAY_MS);
    let reply: InboundReply;
    try {
      reply = readReply(msg.content, this.#config.options.rabbit_max_message_size);
    } catch (err) {
      this.#log.warn({ queue: this.queue, reason: errorMessage(err) }, 'Dropped an invalid reply');
      return;
    }
    const call = this.#calls.get(reply.msgId);
    if (!call) {
      const text = `No calling threads waiting for msg_id : ${reply.msgId}`;
      // A redelivered reply whose call is gone was most likely settled before the reply
      // connection was lost (its ack was still batched).
      if (msg.fields.redelivered) this.#log.debug({ msgId: reply.msgId }, text);
      else this.#log.info({ msgId: reply.msgId }, text);
      return;
    }
    if (reply.ending) call.settle(reply);
    else call.heartbeat();
  }
}
