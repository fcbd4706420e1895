import { setMaxListeners } from 'node:events';
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
import type { ConnectionConfig } from './connection.js';
import type { ReplyAddress } from './inbound.js';
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

/** The keys oslo.messaging writes first, in its order. */
const REQUEST_KEYS = ['method', 'args', 'namespace', 'version'] as const;

/**
 * oslo.messaging's rabbit driver on amqplib: wire-compatible topology, publish properties and
 * bodies (see the package's wire-format spec). Connections: one for publishing (confirm channel,
 * shared by calls, casts and replies), one for the reply queue (opened on the first call), one per
 * listener. Each reconnects on its own and restores its channel, declarations and consumers.
 */
export class RabbitDriver implements Driver {
  readonly #config: ConnectionConfig;
  readonly #options: RabbitOptions;
  readonly #controlExchange: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #publisher: Publisher;
  readonly #replies: ReplyConsumer;
  readonly #deadlines: DeadlineQueue;
  readonly #listeners = new Set<RabbitListener>();
  readonly #goneQueues = new Map<string, number>();
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(config: ConnectionConfig, controlExchange: string) {
    this.#config = config;
    this.#options = config.options;
    this.#controlExchange = controlExchange;
    this.#clock = config.clock;
    this.#log = config.logger;
    this.#publisher = new Publisher(config);
    this.#replies = new ReplyConsumer(config);
    this.#deadlines = new DeadlineQueue(config.clock);
    // Every reply being retried waits on this signal.
    setMaxListeners(0, this.#closing.signal);
  }

  /** Opens the publishing connection; resolves after the first attempt, whatever its outcome. */
  start(): Promise<void> {
    return this.#publisher.start();
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

  #route(target: Target): {
    exchange: string;
    routingKey: string;
    declare: ExchangeSpec;
  } {
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

  async send(
    target: Target,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
  ): Promise<unknown> {
    if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
    const route = this.#route(target);
    if (!options.waitForReply) {
      const body = this.#encodeRequest(message, ctxt, undefined);
      await this.#publisher.publish({
        ...route,
        body,
        deadline: this.#clock.now() + this.#options.rabbit_publish_timeout,
      });
      return undefined;
    }
    return this.#call(route, ctxt, message, options);
  }

  async #call(
    route: { exchange: string; routingKey: string; declare: ExchangeSpec },
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
  ): Promise<unknown> {
    const timeout = options.timeout ?? 60;
    const deadline = this.#clock.now() + timeout;
    const monitor = options.callMonitorTimeout;
    await this.#replies.ensure(deadline);
    const msgId = uuidHex();
    const body = this.#encodeRequest(message, ctxt, { msgId, callMonitorTimeout: monitor });
    return new Promise<unknown>((resolve, reject) => {
      let done = false;
      let cancelTimeout: (() => void) | undefined;
      let cancelMonitor: (() => void) | undefined;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        this.#replies.unregister(msgId);
        cancelTimeout?.();
        cancelMonitor?.();
        return true;
      };
      const expire = (): void => {
        if (finish()) {
          reject(new MessagingTimeout(`Timed out waiting for a reply to message ID ${msgId}`));
        }
      };
      const call: PendingCall = {
        settle: (reply) => {
          if (!finish()) return;
          if (reply.failure !== null) {
            let err: Error;
            try {
              err = deserializeRemoteException(reply.failure);
            } catch (e) {
              err = e instanceof Error ? e : new Error(String(e));
            }
            reject(err);
          } else {
            resolve(reply.result);
          }
        },
        heartbeat: () => {
          if (done || monitor === undefined || cancelTimeout === undefined) return;
          cancelMonitor?.();
          cancelMonitor = this.#deadlines.add(monitor, expire);
        },
        fail: (err) => {
          if (finish()) reject(err);
        },
      };
      this.#replies.register(msgId, call);
      this.#publisher
        .publish({
          ...route,
          body,
          expiration: String(Math.trunc(timeout * 1000)),
          deadline,
        })
        .then(
          () => {
            if (done) return;
            // The timeout runs from the start of the call; the publish already used part of it.
            cancelTimeout = this.#deadlines.add(Math.max(0, deadline - this.#clock.now()), expire);
            if (monitor !== undefined) cancelMonitor = this.#deadlines.add(monitor, expire);
          },
          (err: unknown) =>
            call.fail(err instanceof Error ? err : new MessageDeliveryFailure(String(err))),
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
   * Sends a final reply to the default exchange with the mandatory flag. A returned reply (the
   * reply queue does not exist) is retried every 0.25 s for `kombu_missing_consumer_retry_timeout`,
   * then dropped with a warning, and the queue is remembered as gone for 60 s.
   */
  async #reply(to: ReplyAddress, result: unknown, failure: string | null): Promise<void> {
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
    const started = this.#clock.now();
    const limit = this.#options.kombu_missing_consumer_retry_timeout;
    for (;;) {
      const outcome = await this.#publisher.publish({
        exchange: '',
        routingKey: to.replyQ,
        body,
        mandatory: this.#options.direct_mandatory_flag,
        deadline: this.#clock.now() + this.#options.rabbit_publish_timeout,
      });
      if (outcome === 'confirmed') return;
      const elapsed = this.#clock.now() - started;
      if (elapsed >= limit) {
        this.#markGone(to.replyQ);
        this.#log.warn(
          { msgId: to.msgId, replyQ: to.replyQ },
          `The reply ${to.msgId} failed to send after ${limit} seconds due to a missing queue (${to.replyQ}). Abandoning...`,
        );
        return;
      }
      this.#log.info(
        { msgId: to.msgId, replyQ: to.replyQ },
        `The reply ${to.msgId} cannot be sent: reply queue ${to.replyQ} does not exist; retrying...`,
      );
      await pause(Math.min(RETURN_RETRY_INTERVAL, limit - elapsed), this.#closing.signal);
      if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
    }
  }

  /** A call-monitor heartbeat: one attempt, errors only logged (the next one may work). */
  async #heartbeat(to: ReplyAddress): Promise<void> {
    if (this.#isGone(to.replyQ)) return;
    try {
      await this.#publisher.publish({
        exchange: '',
        routingKey: to.replyQ,
        body: encodeEnvelope({
          result: null,
          failure: null,
          ending: false,
          _msg_id: to.msgId,
          _unique_id: uuidHex(),
        }),
        mandatory: this.#options.direct_mandatory_flag,
        deadline: this.#clock.now() + this.#options.rabbit_publish_timeout,
      });
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
        reply: (to, result, failure) => this.#reply(to, result, failure),
        heartbeat: (to) => this.#heartbeat(to),
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
    this.#log.debug('RabbitMQ driver closed');
  }
}
