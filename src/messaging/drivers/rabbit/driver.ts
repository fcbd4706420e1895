import { setMaxListeners } from 'node:events';
import type { ConsumeMessage } from 'amqplib';
import {
  type Clock,
  type Logger,
  MessageDeliveryFailure,
  MessagingTimeout,
} from '../../../core/index.js';
import { DeadlineQueue } from '../../deadlines.js';
import type {
  Driver,
  DriverListener,
  IncomingMessage,
  ListenOptions,
  SendOptions,
} from '../../driver.js';
import { encodeEnvelope } from '../../envelope.js';
import { encodeRequestBody } from './encode.js';
import { deserializeRemoteException } from '../../failure.js';
import type { Target } from '../../target.js';
import { type ConnectionConfig, ManagedConnection } from './connection.js';
import { type InboundReply, type ReplyAddress, readReply } from './inbound.js';
import { RabbitListener } from './listener.js';
import type { RabbitOptions } from './options.js';
import { type ExchangeSpec, Publisher } from './publisher.js';
import { type PendingCall, ReplyConsumer } from './reply.js';
import { errorText, pause, uuidHex } from './util.js';

/** Reply queues recently found missing (oslo: 200 entries for 60 s). */
const GONE_QUEUES_MAX = 200;
const GONE_QUEUES_TTL = 60;
/** oslo retries a returned reply every 0.25 s. */
const RETURN_RETRY_INTERVAL = 0.25;
/** Replies being retried, at most (the oldest is forgotten first). */
const RETURNED_MAX = 10_000;

/** `expiration` (ms as a string) by call timeout. */
const expirations = new Map<number, string>();

function expirationOf(timeout: number): string {
  let e = expirations.get(timeout);
  if (e === undefined) {
    e = String(Math.trunc(timeout * 1000));
    if (expirations.size < 64) expirations.set(timeout, e);
  }
  return e;
}

/** A call waiting for its reply (see {@link RabbitDriver}'s `#callNow`). */
class Call implements PendingCall {
  #done = false;
  #sent = false;
  cancelTimeout: (() => void) | undefined;
  #cancelMonitor: (() => void) | undefined;

  constructor(
    readonly msgId: string,
    readonly exchange: string,
    readonly monitor: number | undefined,
    readonly replies: ReplyConsumer,
    readonly deadlines: DeadlineQueue,
    readonly resolve: (result: unknown) => void,
    readonly reject: (err: Error) => void,
  ) {}

  #finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.replies.unregister(this.msgId);
    this.cancelTimeout?.();
    this.#cancelMonitor?.();
    return true;
  }

  /** The deadline or the call monitor passed. */
  readonly expire = (): void => {
    if (!this.#finish()) return;
    // Not even written in time: no connection to the broker all along.
    this.reject(
      this.#sent
        ? new MessagingTimeout(`Timed out waiting for a reply to message ID ${this.msgId}`)
        : new MessageDeliveryFailure(
            `Could not send the request to exchange '${this.exchange}' in time: no connection to the AMQP server`,
          ),
    );
  };

  /** The request was written to the broker, or failed for good. */
  readonly published = (err: Error | undefined): void => {
    if (err) return this.fail(err);
    this.#sent = true;
    if (!this.#done && this.monitor !== undefined)
      this.#cancelMonitor = this.deadlines.add(this.monitor, this.expire);
  };

  settle(reply: InboundReply): void {
    if (!this.#finish()) return;
    if (reply.failure !== null) {
      let err: Error;
      try {
        err = deserializeRemoteException(reply.failure);
      } catch (e) {
        err = e instanceof Error ? e : new Error(String(e));
      }
      this.reject(err);
    } else {
      this.resolve(reply.result);
    }
  }

  heartbeat(): void {
    if (this.#done || this.monitor === undefined || !this.#sent) return;
    this.#cancelMonitor?.();
    this.#cancelMonitor = this.deadlines.add(this.monitor, this.expire);
  }

  fail(err: Error): void {
    if (this.#finish()) this.reject(err);
  }
}

/** Where a request to a target is published. */
interface Route {
  readonly exchange: string;
  readonly routingKey: string;
  readonly declare: ExchangeSpec;
}

/** The keys oslo.messaging writes first, in its order. */
const REQUEST_KEYS = ['method', 'args', 'namespace', 'version'] as const;

/**
 * oslo.messaging's rabbit driver on amqplib: wire-compatible topology, publish properties and
 * bodies (see the package's wire-format spec). Connections: one for publishing (casts on a
 * publisher-confirm channel, calls on a plain one) which also consumes the reply queue (from the
 * first call on), and one per listener (which also carries that listener's replies). Each
 * reconnects on its own and restores its channels, declarations and consumers.
 *
 * What is confirmed: a cast resolves once the broker confirmed it, as in oslo.messaging. A call is
 * not confirmed — its reply is the end-to-end acknowledgement, and a call never written is sent as
 * soon as a connection is back; one lost with its connection ends in MessagingTimeout, so a
 * request is never sent twice. A reply goes out `mandatory` and unconfirmed: when the broker
 * returns it (no reply queue), it is sent again every 0.25 s for
 * `kombu_missing_consumer_retry_timeout`, as oslo does.
 */
export class RabbitDriver implements Driver {
  readonly #config: ConnectionConfig;
  readonly #options: RabbitOptions;
  readonly #controlExchange: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** The publishing connection: {@link #publisher}'s channels and {@link #replies}' consumer. */
  readonly #mc: ManagedConnection;
  readonly #publisher: Publisher;
  readonly #replies: ReplyConsumer;
  readonly #deadlines: DeadlineQueue;
  readonly #listeners = new Set<RabbitListener>();
  readonly #goneQueues = new Map<string, number>();
  /** Returned replies being retried: when each was first returned, by `_msg_id`. */
  readonly #returned = new Map<string, number>();
  readonly #routes = new WeakMap<Target, Route>();
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(config: ConnectionConfig, controlExchange: string) {
    this.#config = config;
    this.#options = config.options;
    this.#controlExchange = controlExchange;
    this.#clock = config.clock;
    this.#log = config.logger;
    this.#mc = new ManagedConnection('publisher', config, async (conn) => {
      await this.#publisher.attach(conn);
      if (this.#replies.wanted) await this.#replies.attach(conn);
    });
    this.#publisher = new Publisher(config, {
      name: 'publisher',
      onReturn: (msg) => this.#onReturn(msg),
      connection: this.#mc,
    });
    this.#replies = new ReplyConsumer(config, this.#mc);
    this.#deadlines = new DeadlineQueue(config.clock);
    // Every reply being retried waits on this signal.
    setMaxListeners(0, this.#closing.signal);
  }

  /** Opens the publishing connection; resolves after the first attempt, whatever its outcome. */
  start(): Promise<void> {
    return this.#mc.start();
  }

  /** The name of this driver's reply queue (`reply_<uuid4 hex>`). */
  get replyQueue(): string {
    return this.#replies.queue;
  }

  get connected(): boolean {
    if (this.#closed) return false;
    if (!this.#publisher.ready || !this.#replies.ready) return false;
    for (const l of this.#listeners) if (!l.ready) return false;
    return true;
  }

  // ---- sending ---------------------------------------------------------------------------------

  #topicExchange(name: string): ExchangeSpec {
    return {
      name,
      type: 'topic',
      durable: this.#options.amqp_durable_queues,
      autoDelete: this.#options.amqp_auto_delete,
    };
  }

  /**
   * The request body as oslo writes it: request keys, then driver keys, then `_context_*` — the
   * envelope of {@link encodeEnvelope}, byte for byte. The `_context_*` part, already escaped for the
   * outer JSON, is cached per frozen context dict (the default serializer's), so a client sending
   * with the same context encodes it once.
   */
  #encodeRequest(
    message: Record<string, unknown>,
    ctxt: Record<string, unknown>,
    call: { msgId: string; callMonitorTimeout: number | undefined } | undefined,
  ): string {
    const m: Record<string, unknown> = {};
    for (const k of REQUEST_KEYS) if (message[k] !== undefined) m[k] = message[k];
    for (const [k, v] of Object.entries(message))
      if (!Object.hasOwn(m, k) && v !== undefined) m[k] = v;
    if (call) {
      m['_msg_id'] = call.msgId;
      m['_reply_q'] = this.#replies.queue;
      m['_timeout'] = call.callMonitorTimeout ?? null;
    }
    m['_unique_id'] = uuidHex();
    return encodeRequestBody(m, ctxt);
  }

  /** {@link #route}, kept per target (targets are immutable; a client sends to the same one). */
  #routeOf(target: Target): Route {
    let r = this.#routes.get(target);
    if (r === undefined) {
      r = this.#route(target);
      this.#routes.set(target, r);
    }
    return r;
  }

  #route(target: Target): Route {
    const topic = target.topic as string;
    if (target.fanout) {
      const exchange = `${topic}_fanout`;
      return {
        exchange,
        routingKey: '',
        declare: { name: exchange, type: 'fanout', durable: false, autoDelete: true },
      };
    }
    const exchange = target.exchange ?? this.#controlExchange;
    return {
      exchange,
      routingKey: target.server ? `${topic}.${target.server}` : topic,
      declare: this.#topicExchange(exchange),
    };
  }

  send(
    target: Target,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
  ): Promise<unknown> {
    try {
      if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
      const route = this.#routeOf(target);
      if (options.waitForReply) return this.#call(route, ctxt, message, options);
      const body = this.#encodeRequest(message, ctxt, undefined);
      return new Promise<unknown>((resolve, reject) =>
        this.#publisher.send(
          {
            exchange: route.exchange,
            routingKey: route.routingKey,
            declare: route.declare,
            body,
            deadline: this.#clock.now() + this.#options.rabbit_publish_timeout,
          },
          (err) => (err ? reject(err) : resolve(undefined)),
        ),
      );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #call(
    route: Route,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
  ): Promise<unknown> {
    const timeout = options.timeout ?? 60;
    const deadline = this.#clock.now() + timeout;
    if (this.#replies.consuming) return this.#callNow(route, ctxt, message, options, deadline);
    return this.#replies
      .ensure(deadline)
      .then(() => this.#callNow(route, ctxt, message, options, deadline));
  }

  /**
   * Publishes a call (unconfirmed) and waits for its reply. The call ends at the first of: its
   * reply, a failed publish (no connection in time, a refused declaration), its deadline, or a
   * missing call-monitor heartbeat (armed once the request is written).
   */
  #callNow(
    route: Route,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
    deadline: number,
  ): Promise<unknown> {
    const timeout = options.timeout ?? 60;
    const monitor = options.callMonitorTimeout;
    const msgId = uuidHex();
    const body = this.#encodeRequest(message, ctxt, { msgId, callMonitorTimeout: monitor });
    return new Promise<unknown>((resolve, reject) => {
      const call = new Call(
        msgId,
        route.exchange,
        monitor,
        this.#replies,
        this.#deadlines,
        resolve,
        reject,
      );
      // The timeout runs from the start of the call (waiting for the reply queue used part of it).
      call.cancelTimeout = this.#deadlines.add(
        Math.max(0, deadline - this.#clock.now()),
        call.expire,
      );
      this.#replies.register(msgId, call);
      this.#publisher.send(
        {
          exchange: route.exchange,
          routingKey: route.routingKey,
          declare: route.declare,
          body,
          expiration: expirationOf(timeout),
          confirm: false,
          deadline,
        },
        call.published,
      );
    });
  }

  // ---- replying --------------------------------------------------------------------------------

  #isGone(queue: string): boolean {
    const until = this.#goneQueues.get(queue);
    if (until === undefined) return false;
    if (until > this.#clock.now()) return true;
    this.#goneQueues.delete(queue);
    return false;
  }

  #markGone(queue: string): void {
    this.#goneQueues.delete(queue);
    this.#goneQueues.set(queue, this.#clock.now() + GONE_QUEUES_TTL);
    while (this.#goneQueues.size > GONE_QUEUES_MAX) {
      const oldest = this.#goneQueues.keys().next().value as string;
      this.#goneQueues.delete(oldest);
    }
  }

  /**
   * Sends a final reply to the default exchange, `mandatory` and unconfirmed, on `via` (the
   * listener's connection, which also carries the request's ack) when it is up, else on the
   * publishing connection. A returned reply is retried by {@link #onReturn}.
   */
  async #reply(
    to: ReplyAddress,
    result: unknown,
    failure: string | null,
    via: Publisher | undefined,
  ): Promise<void> {
    // Serializing first: a result that is not JSON throws here, and the server sends a failure.
    const body = encodeEnvelope({
      result: result === undefined ? null : result,
      failure,
      ending: true,
      _msg_id: to.msgId,
      _unique_id: uuidHex(),
    });
    if (this.#isGone(to.replyQ)) {
      this.#log.warn(
        { msgId: to.msgId, replyQ: to.replyQ },
        `The reply ${to.msgId} cannot be sent: reply queue ${to.replyQ} does not exist`,
      );
      return;
    }
    await this.#sendReply(to.replyQ, body, via);
  }

  #sendReply(replyQ: string, body: string, via: Publisher | undefined): Promise<void> {
    return (via?.ready === true ? via : this.#publisher).publish({
      exchange: '',
      routingKey: replyQ,
      body,
      mandatory: this.#options.direct_mandatory_flag,
      confirm: false,
      deadline: this.#clock.now() + this.#options.rabbit_publish_timeout,
    });
  }

  /**
   * A reply the broker returned (its queue does not exist, e.g. while the caller reconnects): sent
   * again after 0.25 s until `kombu_missing_consumer_retry_timeout` has passed since it was first
   * returned, then dropped with a warning, and the queue remembered as gone for 60 s. A returned
   * heartbeat is dropped (the next one may get through).
   */
  #onReturn(msg: ConsumeMessage): void {
    const replyQ = msg.fields.routingKey;
    let reply: InboundReply;
    try {
      reply = readReply(msg.content, Infinity);
    } catch (err) {
      this.#log.debug({ replyQ, err: errorText(err) }, 'The broker returned a message');
      return;
    }
    if (!reply.ending || this.#closed) return;
    const msgId = reply.msgId;
    const now = this.#clock.now();
    const limit = this.#options.kombu_missing_consumer_retry_timeout;
    let since = this.#returned.get(msgId);
    if (since === undefined) {
      since = now;
      this.#forgetReturned(now - limit - 10);
      this.#returned.set(msgId, now);
    }
    const elapsed = now - since;
    if (elapsed >= limit) {
      this.#returned.delete(msgId);
      this.#markGone(replyQ);
      this.#log.warn(
        { msgId, replyQ },
        `The reply ${msgId} failed to send after ${limit} seconds due to a missing queue (${replyQ}). Abandoning...`,
      );
      return;
    }
    this.#log.info(
      { msgId, replyQ },
      `The reply ${msgId} cannot be sent: reply queue ${replyQ} does not exist; retrying...`,
    );
    const body = msg.content.toString('utf8');
    void pause(Math.min(RETURN_RETRY_INTERVAL, limit - elapsed), this.#closing.signal)
      .then(() => (this.#closed ? undefined : this.#sendReply(replyQ, body, undefined)))
      .catch((err: unknown) =>
        this.#log.error({ msgId, replyQ, err: errorText(err) }, 'Can not send reply for message'),
      );
  }

  /** Forgets the retries first returned before `before`, and the oldest beyond the bound. */
  #forgetReturned(before: number): void {
    for (const [msgId, since] of this.#returned) {
      if (since >= before && this.#returned.size < RETURNED_MAX) break;
      this.#returned.delete(msgId);
    }
  }

  /** A call-monitor heartbeat: one attempt, errors only logged (the next one may work). */
  async #heartbeat(to: ReplyAddress, via: Publisher | undefined): Promise<void> {
    if (this.#isGone(to.replyQ)) return;
    try {
      await this.#sendReply(
        to.replyQ,
        encodeEnvelope({
          result: null,
          failure: null,
          ending: false,
          _msg_id: to.msgId,
          _unique_id: uuidHex(),
        }),
        via,
      );
    } catch (err) {
      this.#log.debug({ msgId: to.msgId, err: errorText(err) }, 'Could not send a heartbeat reply');
    }
  }

  // ---- listening -------------------------------------------------------------------------------

  async listen(
    target: Target,
    onMessage: (message: IncomingMessage) => void,
    options: ListenOptions,
  ): Promise<DriverListener> {
    if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
    const listener = new RabbitListener(
      {
        config: this.#config,
        controlExchange: this.#controlExchange,
        reply: (to, result, failure, via) => this.#reply(to, result, failure, via),
        heartbeat: (to, via) => this.#heartbeat(to, via),
        onReturn: (msg) => this.#onReturn(msg),
        stopped: (l) => this.#listeners.delete(l),
      },
      target,
      onMessage,
      options.prefetch,
    );
    this.#listeners.add(listener);
    try {
      await listener.start();
    } catch (err) {
      this.#listeners.delete(listener);
      await listener.stop().catch(() => undefined);
      throw err;
    }
    return listener;
  }

  // ---- closing ---------------------------------------------------------------------------------

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing.abort();
    await Promise.all([...this.#listeners].map((l) => l.stop().catch(() => undefined)));
    this.#deadlines.clear();
    await this.#replies.close(
      new MessageDeliveryFailure('Transport closed while waiting for a reply'),
    );
    await this.#publisher.close();
    await this.#mc.close();
    this.#log.debug('RabbitMQ driver closed');
  }
}
