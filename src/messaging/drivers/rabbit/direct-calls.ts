import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import {
  errorMessage,
  LeanWireUnsupported,
  type Logger,
  MessageDeliveryFailure,
  MessagingTimeout,
} from '../../../core/index.js';
import type { DeadlineQueue } from '../../deadlines.js';
import { Call, expirationOf } from './call.js';
import type { ConnectionConfig, ManagedConnection } from './connection.js';
import { DIRECT_REPLY_TO, encodeLeanRequest, LEAN_TYPE, readLeanReply } from './lean.js';
import type { Route } from './route.js';
import { closeQuietly, Notifier, uuidHex, waitChange } from './util.js';

/** The channel lean calls are published and answered on, with what it knows. */
class DirectChannel {
  /** Lean exchanges being declared (or declared) on this channel, by name. */
  readonly declaring = new Map<string, Promise<unknown>>();
  /** Lean exchanges the broker confirmed declared: calls to them are published at once. */
  readonly declared = new Set<string>();
  /** Calls written on this channel and waiting for their reply (their reply can only come here). */
  readonly calls = new Map<string, Call>();

  constructor(readonly ch: Channel) {}

  /** A call ended (Call's registry). */
  unregister(id: string): void {
    this.calls.delete(id);
  }
}

/**
 * The client side of the lean wire (`rpc_reply_mode = direct`, see lean.ts): one channel on the
 * driver's publishing connection consumes RabbitMQ's `amq.rabbitmq.reply-to` (no ack, no queue to
 * declare) and publishes the calls, which must leave on the channel their reply comes back on.
 * Opened on the first lean call and on every connection after it.
 *
 * A call the broker returns (no queue bound for it on the lean exchange) fails at once with
 * {@link LeanWireUnsupported}. A call whose channel closes before its reply fails at once with
 * {@link MessagingTimeout}: its reply could only come back on that channel, and whether it ran is
 * unknown, as after a timeout. A call not yet written waits for a channel until its deadline.
 */
export class DirectCalls {
  readonly #config: ConnectionConfig;
  readonly #log: Logger;
  readonly #mc: ManagedConnection;
  readonly #deadlines: DeadlineQueue;
  readonly #changed = new Notifier();
  /** Correlation ids: unique per call and across clients (they are also the duplicate-check id). */
  readonly #prefix = uuidHex().slice(0, 16);
  #next = 0;
  #wanted = false;
  #attaching: Promise<void> | undefined;
  #current: DirectChannel | undefined;
  #closed = false;

  constructor(config: ConnectionConfig, connection: ManagedConnection, deadlines: DeadlineQueue) {
    this.#config = config;
    this.#log = config.logger;
    this.#mc = connection;
    this.#deadlines = deadlines;
  }

  /** True once a lean call was made: the channel is opened on every connection from then on. */
  get wanted(): boolean {
    return this.#wanted;
  }

  /** True when not in use, or while the channel consumes replies. */
  get ready(): boolean {
    return !this.#wanted || this.#usable();
  }

  /** Calls waiting for their reply. */
  get pending(): number {
    return this.#current?.calls.size ?? 0;
  }

  #usable(): boolean {
    return !this.#closed && this.#current !== undefined && this.#mc.ready;
  }

  /** Opens the channel on a new connection (from the connection's set-up, once wanted). */
  async attach(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    const dc = new DirectChannel(ch);
    ch.on('error', (err: unknown) =>
      this.#log.warn(
        { connection: 'direct replies', err: errorMessage(err) },
        'AMQP channel error',
      ),
    );
    ch.on('return', (msg: ConsumeMessage) => this.#onReturn(dc, msg));
    ch.on('close', () => this.#onClose(dc, conn));
    await ch.consume(DIRECT_REPLY_TO, (msg) => this.#onReply(dc, msg), { noAck: true });
    if (this.#closed) {
      await closeQuietly(
        ch,
        this.#log,
        'Could not close a direct-reply channel opened while closing',
      );
      return;
    }
    this.#current = dc;
    this.#changed.notify();
  }

  /** Fails every waiting call (transport closing) and closes the channel. */
  async close(err: Error): Promise<void> {
    this.#closed = true;
    const dc = this.#current;
    this.#current = undefined;
    this.#changed.notify();
    if (!dc) return;
    for (const call of [...dc.calls.values()]) call.fail(err);
    dc.calls.clear();
    await closeQuietly(
      dc.ch,
      this.#log,
      'Could not close the direct-reply channel (already closed)',
    );
  }

  /**
   * Sends a lean call to `route` (a topic route: its lean exchange takes the same routing key) and
   * waits for its reply until `deadline` (clock seconds; `timeout` seconds from the start).
   */
  call(
    route: Route,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    timeout: number,
    deadline: number,
  ): Promise<unknown> {
    this.#wanted = true;
    const exchange = route.leanExchange;
    const dc = this.#current;
    if (dc && this.#usable() && dc.declared.has(exchange)) {
      return this.#send(dc, exchange, route.routingKey, ctxt, message, timeout, deadline);
    }
    return this.#ensure(exchange, deadline).then((ready) =>
      this.#send(ready, exchange, route.routingKey, ctxt, message, timeout, deadline),
    );
  }

  #send(
    dc: DirectChannel,
    exchange: string,
    routingKey: string,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    timeout: number,
    deadline: number,
  ): Promise<unknown> {
    const body = Buffer.from(encodeLeanRequest(message, ctxt), 'utf8');
    const id = `${this.#prefix}${(this.#next++).toString(36)}`;
    const clock = this.#config.clock;
    return new Promise<unknown>((resolve, reject) => {
      const call = new Call(id, exchange, undefined, dc, this.#deadlines, resolve, reject);
      call.cancelTimeout = this.#deadlines.add(Math.max(0, deadline - clock.now()), call.expire);
      dc.calls.set(id, call);
      try {
        dc.ch.publish(exchange, routingKey, body, {
          type: LEAN_TYPE,
          replyTo: DIRECT_REPLY_TO,
          correlationId: id,
          expiration: expirationOf(timeout),
          contentType: 'application/json',
          mandatory: true,
        });
      } catch (err) {
        call.fail(
          new MessageDeliveryFailure(
            `Could not publish to exchange '${exchange}': cannot publish: ${errorMessage(err)}`,
          ),
        );
        return;
      }
      call.published(undefined);
    });
  }

  /** A usable channel with `exchange` declared, before `deadline`. */
  async #ensure(exchange: string, deadline: number): Promise<DirectChannel> {
    const what = 'open the direct-reply channel';
    for (;;) {
      if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
      const dc = this.#current;
      if (dc && this.#usable()) {
        await declare(dc, exchange);
        if (this.#current === dc) return dc;
        continue;
      }
      const conn = await this.#mc.waitReady(deadline, what);
      if (this.#usable()) continue;
      // Connected before lean calls were wanted: open the channel here (the set-up of the next
      // connection does it from then on).
      if (this.#attaching === undefined) {
        this.#attaching = this.attach(conn)
          .catch((err: unknown) => {
            this.#log.warn({ err: errorMessage(err) }, 'Cannot open the direct-reply channel');
            if (this.#mc.connection === conn) this.#mc.reset('direct-reply channel set-up failed');
          })
          .finally(() => {
            this.#attaching = undefined;
            this.#changed.notify();
          });
      }
      if (!(await waitChange(this.#changed, this.#config.clock, deadline)) && !this.#usable()) {
        throw new MessageDeliveryFailure(`Could not ${what} in time`);
      }
    }
  }

  #onReply(dc: DirectChannel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.#log.warn('The direct-reply consumer was cancelled by the broker');
      if (this.#current === dc) this.#mc.reset('direct-reply consumer cancelled');
      return;
    }
    let reply;
    try {
      reply = readLeanReply(msg, this.#config.options.rabbit_max_message_size);
    } catch (err) {
      this.#log.warn({ reason: errorMessage(err) }, 'Dropped an invalid lean reply');
      return;
    }
    const call = dc.calls.get(reply.msgId);
    if (!call) {
      this.#log.info(
        { msgId: reply.msgId },
        `No calling threads waiting for msg_id : ${reply.msgId}`,
      );
      return;
    }
    call.settle(reply);
  }

  /** No queue took a lean call: nobody on this topic speaks the lean wire. */
  #onReturn(dc: DirectChannel, msg: ConsumeMessage): void {
    const id = (msg.properties as { correlationId?: unknown }).correlationId;
    const call = typeof id === 'string' ? dc.calls.get(id) : undefined;
    if (!call) return;
    call.fail(new LeanWireUnsupported(msg.fields.exchange, msg.fields.routingKey));
  }

  #onClose(dc: DirectChannel, conn: ChannelModel): void {
    const calls = [...dc.calls.values()];
    dc.calls.clear();
    for (const call of calls) {
      call.fail(
        new MessagingTimeout(
          `The channel of call ${call.msgId} closed before its reply (rpc_reply_mode = direct: the reply can only come back on it); whether it ran is unknown`,
        ),
      );
    }
    if (this.#current !== dc) return;
    this.#current = undefined;
    this.#changed.notify();
    if (this.#closed) return;
    // The channel alone went away (e.g. its lean exchange was deleted): start over on a fresh
    // connection, whose set-up opens it again.
    setImmediate(() => {
      if (this.#mc.connection === conn) this.#mc.reset('direct-reply channel closed');
    });
  }
}

/**
 * Declares a lean exchange once per channel (direct, durable), as the servers do: publishing to an
 * exchange that does not exist would close the channel.
 */
function declare(dc: DirectChannel, exchange: string): Promise<unknown> {
  let p = dc.declaring.get(exchange);
  if (!p) {
    p = dc.ch.assertExchange(exchange, 'direct', { durable: true, autoDelete: false }).then(
      (ok) => {
        dc.declared.add(exchange);
        return ok;
      },
      (err: unknown) => {
        dc.declaring.delete(exchange);
        throw new MessageDeliveryFailure(
          `Cannot declare the lean exchange '${exchange}': ${errorMessage(err)}`,
          { cause: err },
        );
      },
    );
    dc.declaring.set(exchange, p);
  }
  return p;
}
