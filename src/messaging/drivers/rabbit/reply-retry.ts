import { setMaxListeners } from 'node:events';
import type { ConsumeMessage } from 'amqplib';
import { type Clock, errorMessage, type Logger } from '../../../core/index.js';
import { type InboundReply, readReply } from './inbound.js';
import { pause } from './util.js';

/** Reply queues recently found missing (oslo: 200 entries for 60 s). */
export const GONE_QUEUES_MAX = 200;
export const GONE_QUEUES_TTL = 60;
/** oslo retries a returned reply every 0.25 s. */
export const RETURN_RETRY_INTERVAL = 0.25;
/** Replies being retried, at most (the oldest is forgotten first). */
const RETURNED_MAX = 10_000;

/** What a {@link ReplyRetry} needs. */
export interface ReplyRetryOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a returned reply is retried (`kombu_missing_consumer_retry_timeout`, seconds). */
  readonly retryTimeout: number;
  /** Sends a returned reply body again to `replyQ`. */
  readonly resend: (replyQ: string, body: string) => Promise<void>;
}

/**
 * oslo.messaging's handling of replies whose queue is missing (a caller reconnecting, or gone): a
 * reply the broker returns is sent again every 0.25 s until `kombu_missing_consumer_retry_timeout`
 * has passed since it was first returned, then dropped with a warning, and its queue remembered as
 * gone for 60 s (replies to it are then dropped at once). A returned heartbeat is dropped (the next
 * one may get through). Every pause is on the clock, and ends when {@link close} is called.
 */
export class ReplyRetry {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #retryTimeout: number;
  readonly #resend: (replyQ: string, body: string) => Promise<void>;
  /** Until when each queue counts as gone, by name (oldest first). */
  readonly #goneQueues = new Map<string, number>();
  /** Returned replies being retried: when each was first returned, by `_msg_id`. */
  readonly #returned = new Map<string, number>();
  readonly #closing = new AbortController();
  #closed = false;

  constructor(options: ReplyRetryOptions) {
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#retryTimeout = options.retryTimeout;
    this.#resend = options.resend;
    // Every reply being retried waits on this signal.
    setMaxListeners(0, this.#closing.signal);
  }

  /** True while `queue` is remembered as gone (a reply to it is not sent). */
  isGone(queue: string): boolean {
    const until = this.#goneQueues.get(queue);
    if (until === undefined) return false;
    if (until > this.#clock.now()) return true;
    this.#goneQueues.delete(queue);
    return false;
  }

  /** Replies being retried. */
  get retrying(): number {
    return this.#returned.size;
  }

  /** Stops retrying (the driver closes): pending retries end without sending. */
  close(): void {
    this.#closed = true;
    this.#closing.abort();
  }

  /** A message the broker returned (Basic.Return of a `mandatory` reply). */
  onReturn(msg: ConsumeMessage): void {
    const replyQ = msg.fields.routingKey;
    let reply: InboundReply;
    try {
      reply = readReply(msg.content, Infinity);
    } catch (err) {
      this.#log.debug({ replyQ, err: errorMessage(err) }, 'The broker returned a message');
      return;
    }
    if (!reply.ending || this.#closed) return;
    const msgId = reply.msgId;
    const now = this.#clock.now();
    const limit = this.#retryTimeout;
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
    void pause(this.#clock, Math.min(RETURN_RETRY_INTERVAL, limit - elapsed), this.#closing.signal)
      .then(() => (this.#closed ? undefined : this.#resend(replyQ, body)))
      .catch((err: unknown) =>
        this.#log.error(
          { msgId, replyQ, err: errorMessage(err) },
          'Can not send reply for message',
        ),
      );
  }

  #markGone(queue: string): void {
    this.#goneQueues.delete(queue);
    this.#goneQueues.set(queue, this.#clock.now() + GONE_QUEUES_TTL);
    while (this.#goneQueues.size > GONE_QUEUES_MAX) {
      const oldest = this.#goneQueues.keys().next().value as string;
      this.#goneQueues.delete(oldest);
    }
  }

  /** Forgets the retries first returned before `before`, and the oldest beyond the bound. */
  #forgetReturned(before: number): void {
    for (const [msgId, since] of this.#returned) {
      if (since >= before && this.#returned.size < RETURNED_MAX) break;
      this.#returned.delete(msgId);
    }
  }
}
