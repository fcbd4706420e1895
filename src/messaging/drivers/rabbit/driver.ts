import {
  type Clock,
  errorMessage,
  type Logger,
  MessageDeliveryFailure,
  toError,
} from '../../../core/index.js';
import { DeadlineQueue } from '../../deadlines.js';
import {
  type Driver,
  type DriverListener,
  type IncomingMessage,
  type ListenOptions,
  REPLIED,
  type SendOptions,
} from '../../driver.js';
import type { Target } from '../../target.js';
import { Call, expirationOf } from './call.js';
import { type ConnectionConfig, ManagedConnection } from './connection.js';
import { DirectCalls } from './direct-calls.js';
import { encodeReply, encodeRequest } from './encode.js';
import type { ReplyAddress } from './inbound.js';
import { encodeLeanReply, isLeanAddress, leanReplyProperties } from './lean.js';
import { RabbitListener } from './listener.js';
import { ListenerConnection } from './listener-connection.js';
import type { RabbitOptions } from './options.js';
import { Publisher } from './publisher.js';
import { ReplyConsumer } from './reply.js';
import { ReplyRetry } from './reply-retry.js';
import { type Route, Routes } from './route.js';
import { uuidHex } from './util.js';

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
  /** The lean wire's calls (`rpc_reply_mode = direct`), on the publishing connection too. */
  readonly #direct: DirectCalls;
  readonly #deadlines: DeadlineQueue;
  readonly #listeners = new Set<RabbitListener>();
  /** The connection the listeners share: opened with the first, closed after the last. */
  #listenerConnection: ListenerConnection | undefined;
  /** Returned replies (their queue is missing): retried, then their queue remembered as gone. */
  readonly #returns: ReplyRetry;
  readonly #routes: Routes;
  #closed: Promise<void> | undefined;

  constructor(config: ConnectionConfig, controlExchange: string) {
    this.#config = config;
    this.#options = config.options;
    this.#controlExchange = controlExchange;
    this.#clock = config.clock;
    this.#log = config.logger;
    this.#routes = new Routes(controlExchange, config.options);
    this.#mc = new ManagedConnection('publisher', config, async (conn) => {
      await this.#publisher.attach(conn);
      if (this.#replies.wanted) await this.#replies.attach(conn);
      if (this.#direct.wanted) await this.#direct.attach(conn);
    });
    this.#publisher = new Publisher(config, {
      name: 'publisher',
      onReturn: (msg) => this.#returns.onReturn(msg),
      connection: this.#mc,
    });
    this.#replies = new ReplyConsumer(config, this.#mc);
    this.#deadlines = new DeadlineQueue(config.clock);
    this.#direct = new DirectCalls(config, this.#mc, this.#deadlines);
    this.#returns = new ReplyRetry({
      clock: config.clock,
      logger: config.logger,
      retryTimeout: config.options.kombu_missing_consumer_retry_timeout,
      resend: (replyQ, body) => this.#sendReply(replyQ, body, undefined),
    });
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
    if (!this.#publisher.ready || !this.#replies.ready || !this.#direct.ready) return false;
    for (const l of this.#listeners) if (!l.ready) return false;
    return true;
  }

  // ---- sending ---------------------------------------------------------------------------------

  send(
    target: Target,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
  ): Promise<unknown> {
    try {
      if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
      const route = this.#routes.of(target);
      if (options.waitForReply) return this.#call(route, ctxt, message, options);
      const body = encodeRequest(message, ctxt, undefined);
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
      return Promise.reject(toError(err));
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
    // The lean wire has no call-monitor heartbeats: such a call goes on oslo's.
    if (this.#options.rpc_reply_mode === 'direct' && options.callMonitorTimeout === undefined)
      return this.#direct.call(route, ctxt, message, timeout, deadline);
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
    const body = encodeRequest(message, ctxt, {
      msgId,
      replyQ: this.#replies.queue,
      callMonitorTimeout: monitor,
    });
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

  /**
   * Sends a final reply to the default exchange, `mandatory` and unconfirmed, on `via` (the
   * listener's connection, which also carries the request's ack) when it is up, else on the
   * publishing connection. A returned reply is retried by {@link ReplyRetry}.
   */
  #reply(
    to: ReplyAddress,
    result: unknown,
    failure: string | null,
    via: Publisher | undefined,
  ): Promise<void> {
    // Serializing first: a result that is not JSON throws here, and the server sends a failure.
    if (isLeanAddress(to)) {
      // Direct reply-to: no queue to miss and nothing to retry (a gone caller's reply is dropped).
      return this.#sendReply(
        to.replyQ,
        encodeLeanReply(result, failure),
        via,
        leanReplyProperties(to),
      );
    }
    const body = encodeReply(result, failure, true, to.msgId);
    if (this.#returns.isGone(to.replyQ)) {
      this.#log.warn(
        { msgId: to.msgId, replyQ: to.replyQ },
        `The reply ${to.msgId} cannot be sent: reply queue ${to.replyQ} does not exist`,
      );
      return REPLIED;
    }
    return this.#sendReply(to.replyQ, body, via);
  }

  /**
   * Publishes a reply to the default exchange, unconfirmed: oslo's (`mandatory` per
   * `direct_mandatory_flag`), or a lean one with its own `properties` (never mandatory).
   */
  #sendReply(
    replyQ: string,
    body: string,
    via: Publisher | undefined,
    properties?: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    return (via?.ready === true ? via : this.#publisher).publish({
      exchange: '',
      routingKey: replyQ,
      body,
      mandatory: properties === undefined && this.#options.direct_mandatory_flag,
      confirm: false,
      deadline: this.#clock.now() + this.#options.rabbit_publish_timeout,
      properties,
    });
  }

  /** A call-monitor heartbeat: one attempt, errors only logged (the next one may work). */
  async #heartbeat(to: ReplyAddress, via: Publisher | undefined): Promise<void> {
    if (isLeanAddress(to) || this.#returns.isGone(to.replyQ)) return;
    try {
      await this.#sendReply(to.replyQ, encodeReply(null, null, false, to.msgId), via);
    } catch (err) {
      this.#log.debug(
        { msgId: to.msgId, err: errorMessage(err) },
        'Could not send a heartbeat reply',
      );
    }
  }

  // ---- listening -------------------------------------------------------------------------------

  async listen(
    target: Target,
    onMessage: (message: IncomingMessage) => void,
    options: ListenOptions,
  ): Promise<DriverListener> {
    if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
    this.#listenerConnection ??= new ListenerConnection(this.#config, (msg) =>
      this.#returns.onReturn(msg),
    );
    const listener = new RabbitListener(
      {
        config: this.#config,
        controlExchange: this.#controlExchange,
        connection: this.#listenerConnection,
        reply: (to, result, failure, via) => this.#reply(to, result, failure, via),
        heartbeat: (to, via) => this.#heartbeat(to, via),
        onReturn: (msg) => this.#returns.onReturn(msg),
        stopped: (l) => this.#listenerStopped(l),
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
      await listener
        .stop()
        .catch((e: unknown) =>
          this.#log.debug(
            { err: errorMessage(e) },
            'Could not stop a listener that failed to start (its start error is thrown)',
          ),
        );
      throw err;
    }
    return listener;
  }

  /** A listener stopped: the last one closes the shared connection. */
  #listenerStopped(l: RabbitListener): void {
    this.#listeners.delete(l);
    const lc = this.#listenerConnection;
    if (!lc || lc.size > 0 || this.#listeners.size > 0) return;
    this.#listenerConnection = undefined;
    void lc
      .close()
      .catch((err: unknown) =>
        this.#log.debug({ err: errorMessage(err) }, 'Could not close the listener connection'),
      );
  }

  // ---- closing ---------------------------------------------------------------------------------

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#returns.close();
    await Promise.all(
      [...this.#listeners].map((l) =>
        l
          .stop()
          .catch((err: unknown) =>
            this.#log.debug(
              { err: errorMessage(err) },
              'Could not stop a listener cleanly (the broker requeues what it held)',
            ),
          ),
      ),
    );
    await this.#listenerConnection?.close();
    this.#listenerConnection = undefined;
    this.#deadlines.clear();
    const closing = new MessageDeliveryFailure('Transport closed while waiting for a reply');
    await this.#replies.close(closing);
    await this.#direct.close(closing);
    await this.#publisher.close();
    await this.#mc.close();
    this.#log.debug('RabbitMQ driver closed');
  }
}
