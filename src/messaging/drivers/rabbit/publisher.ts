import type { ChannelModel, ConsumeMessage } from 'amqplib';
import {
  BrokerNackError,
  ChannelLostError,
  errorMessage,
  MessageDeliveryFailure,
  toError,
} from '../../../core/index.js';
import { DeadlineQueue } from '../../deadlines.js';
import { REPLIED } from '../../driver.js';
import { ConfirmTracker, type Outstanding } from './confirms.js';
import type { ConnectionConfig, ManagedConnection } from './connection.js';
import {
  properties,
  type PublishCallback,
  type PublishRequest,
  tooLong,
} from './publish-request.js';
import { closeAfterEncodeFailure, SlowPublisher } from './publish-slow.js';
import {
  type ConfirmLane,
  confirmError,
  type PubChannel,
  PublisherChannels,
  watchDrain,
} from './publisher-channels.js';
import { withTimeout } from './util.js';

/** Seconds {@link Publisher.close} waits for the broker to confirm its channels closed. */
const CHANNEL_CLOSE_TIMEOUT = 2;

export type { ExchangeSpec, PublishCallback, PublishRequest } from './publish-request.js';

/** What {@link Publisher.publish} returns for a message written (or confirmed) at once. */
export const PUBLISHED: Promise<void> = REPLIED;

/** How a {@link Publisher} is set up. */
export interface PublisherOptions {
  /** For logs: `publisher`, `listener <queue>` ... */
  readonly name: string;
  /** Open a publisher-confirm channel beside the plain one (default true). */
  readonly confirms?: boolean;
  /** A Basic.Return (a `mandatory` publish no queue took). */
  readonly onReturn?: (msg: ConsumeMessage) => void;
  /**
   * The connection to publish on. Its owner calls {@link Publisher.attach} from its set-up and
   * closes it; the publisher only opens and closes its channels.
   */
  readonly connection: ManagedConnection;
}

/**
 * Publishes on one connection, through two channels: one in publisher-confirm mode for the
 * publishes whose sender waits for the broker (casts; confirms are pipelined), one plain for those
 * whose answer is end to end (calls: the reply; replies: the caller, or a Basic.Return). Exchanges
 * are declared once per connection. A confirmed publish that meets a lost connection waits for the
 * reconnection and is sent again (a repeat is harmless: receivers drop duplicate `_unique_id`s)
 * until its deadline; an unconfirmed one is sent again only if it was never written.
 *
 * This class is the fast path (open channel, exchange declared, socket not full: written at once,
 * settled by its confirm via {@link ConfirmTracker}); everything else goes to the
 * {@link SlowPublisher}. The channel pair is {@link PublisherChannels}'.
 */
export class Publisher {
  readonly #mc: ManagedConnection;
  readonly #name: string;
  readonly #confirms: boolean;
  readonly #config: ConnectionConfig;
  readonly #deadlines: DeadlineQueue;
  readonly #channels: PublisherChannels;
  readonly #outstanding: ConfirmTracker;
  readonly #slow: SlowPublisher;
  #closed = false;

  constructor(config: ConnectionConfig, options: PublisherOptions) {
    this.#config = config;
    this.#name = options.name;
    this.#confirms = options.confirms ?? true;
    this.#mc = options.connection;
    this.#deadlines = new DeadlineQueue(config.clock);
    this.#channels = new PublisherChannels({
      name: options.name,
      confirms: this.#confirms,
      onReturn: options.onReturn,
      connection: options.connection,
      logger: config.logger,
    });
    this.#outstanding = new ConfirmTracker(config.clock, this.#deadlines);
    this.#slow = new SlowPublisher(
      this.#channels,
      options.connection,
      config.clock,
      this.#deadlines,
      config.logger,
    );
  }

  /** True while its channels are open. */
  get ready(): boolean {
    return !this.#closed && this.#mc.ready && this.#channels.current?.open === true;
  }

  /** Opens the channels on a new connection (from the connection's set-up). */
  attach(conn: ChannelModel): Promise<void> {
    return this.#channels.open(conn);
  }

  /**
   * Closes the channels, once what they buffer is written (bounded by {@link CHANNEL_CLOSE_TIMEOUT}:
   * a broker that does not answer is dropped with the connection).
   */
  async close(): Promise<void> {
    this.#closed = true;
    const closing = this.#channels.close();
    this.#deadlines.clear();
    this.#outstanding.disarm();
    await withTimeout(
      closing,
      CHANNEL_CLOSE_TIMEOUT,
      this.#config.clock,
      `Closing the ${this.#name} channels`,
    ).catch((err: unknown) =>
      this.#config.logger.debug(
        { connection: this.#name, err: errorMessage(err) },
        'The broker did not confirm the close of the publisher channels in time',
      ),
    );
  }

  /**
   * Publishes and waits for the broker's confirm (or, unconfirmed, for the write). Rejects with
   * MessageDeliveryFailure when the broker nacks, refuses a declaration, or no connection is
   * available before the deadline.
   */
  publish(req: PublishRequest): Promise<void> {
    let early: Error | null | undefined = null; // null: not done yet
    let settle: PublishCallback | undefined;
    this.send(req, (err) => (settle ? settle(err) : (early = err)));
    // Written (or refused) at once, as on the fast path: no promise of its own.
    if (early === undefined) return PUBLISHED;
    if (early !== null) return Promise.reject(early as Error);
    return new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
  }

  /**
   * {@link publish} with a callback, called exactly once (possibly before `send` returns). When the
   * channel is open, the exchange declared and the socket not full, the message is written at once
   * (no promise, no timer of its own); otherwise it waits for those.
   */
  send(req: PublishRequest, done: PublishCallback): void {
    // amqplib registers the confirm callback before encoding: a frame it cannot encode would
    // shift every later confirm. Refuse such names up front.
    if (tooLong(req.exchange) || tooLong(req.routingKey)) {
      done(new MessageDeliveryFailure('Exchange names and routing keys are limited to 255 bytes'));
      return;
    }
    const confirm = req.confirm !== false;
    if (confirm && !this.#confirms) {
      done(new MessageDeliveryFailure(`The ${this.#name} publisher sends no confirmed messages`));
      return;
    }
    const pc = this.#channels.current;
    if (
      pc !== undefined &&
      pc.open &&
      this.#slow.pending === 0 &&
      (req.declare === undefined || pc.declaredOk.has(req.declare.name)) &&
      this.#mc.ready &&
      !this.#closed
    ) {
      if (!confirm) {
        if (pc.plain.drain === undefined) return this.#sendPlain(pc, req, done);
      } else if (pc.confirm !== undefined && pc.confirm.drain === undefined) {
        return this.#sendNow(pc, pc.confirm, req, done);
      }
    }
    this.#sendSlow(req, undefined, done);
  }

  /** Hands `req` to the slow path; `lastError`: why the fast path could not send it. */
  #sendSlow(req: PublishRequest, lastError: Error | undefined, done: PublishCallback): void {
    this.#slow.publish(req, lastError).then(
      () => done(undefined),
      (err: unknown) => done(toError(err)),
    );
  }

  /** The fast path of an unconfirmed publish: written now, done now. */
  #sendPlain(pc: PubChannel, req: PublishRequest, done: PublishCallback): void {
    let ok: boolean;
    try {
      ok = pc.plain.ch.publish(
        req.exchange,
        req.routingKey,
        Buffer.from(req.body, 'utf8'),
        properties(req),
      );
    } catch (err) {
      if (pc.open) {
        done(
          new MessageDeliveryFailure(
            `Could not publish to exchange '${req.exchange}': cannot publish: ${errorMessage(err)}`,
          ),
        );
        return;
      }
      // The channel closed before the write: nothing left, so sending on the next one is safe.
      this.#sendSlow(req, new ChannelLostError(errorMessage(err)), done);
      return;
    }
    if (!ok) watchDrain(pc.plain);
    done(undefined);
  }

  /** The fast path: written now; settled by its confirm, or by the shared deadline timer. */
  #sendNow(pc: PubChannel, lane: ConfirmLane, req: PublishRequest, done: PublishCallback): void {
    const o: Outstanding = { req, done, settled: false };
    let ok: boolean;
    try {
      ok = lane.ch.publish(
        req.exchange,
        req.routingKey,
        Buffer.from(req.body, 'utf8'),
        properties(req),
        (err: unknown) => this.#confirmed(o, lane, err),
      );
    } catch (err) {
      if (pc.open) {
        // Could not encode the message: the channel's confirm window is now off by one; drop it.
        closeAfterEncodeFailure(lane, this.#config.logger);
        done(
          new MessageDeliveryFailure(
            `Could not publish to exchange '${req.exchange}': cannot publish: ${errorMessage(err)}`,
          ),
        );
        return;
      }
      this.#retry(o, new ChannelLostError(errorMessage(err)));
      return;
    }
    if (!ok) watchDrain(lane);
    this.#outstanding.add(o);
  }

  /** The confirm callback of a fast-path publish. */
  #confirmed(o: Outstanding, lane: ConfirmLane, err: unknown): void {
    if (o.settled) return;
    const e = confirmError(lane, err);
    if (e === undefined) {
      this.#outstanding.settle(o);
      o.done(undefined);
    } else if (e instanceof BrokerNackError) {
      this.#outstanding.settle(o);
      o.done(
        new MessageDeliveryFailure(
          `The broker refused the message to exchange '${o.req.exchange}': ${e.message}`,
        ),
      );
    } else {
      this.#retry(o, e);
    }
  }

  /** The channel went away before the confirm: send again on the next one (until the deadline). */
  #retry(o: Outstanding, err: Error): void {
    this.#outstanding.settle(o);
    this.#sendSlow(o.req, err, o.done);
  }
}
