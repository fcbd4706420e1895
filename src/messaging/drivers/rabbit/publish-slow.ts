import type { ConfirmChannel } from 'amqplib';
import {
  BrokerNackError,
  BrokerRefusedError,
  ChannelLostError,
  type Clock,
  errorMessage,
  type Logger,
  MessageDeliveryFailure,
  toError,
} from '../../../core/index.js';
import type { DeadlineQueue } from '../../deadlines.js';
import type { ManagedConnection } from './connection.js';
import { properties, type PublishRequest } from './publish-request.js';
import {
  confirmError,
  declareExchange,
  type Lane,
  type PubChannel,
  type PublisherChannels,
  watchDrain,
} from './publisher-channels.js';
import { closeQuietly, pause, waitChange } from './util.js';

/** Seconds to let a closing channel's close arrive before trying again. */
const CLOSING_PAUSE = 0.01;

/**
 * A publisher's slow path: waits for an open channel pair, the exchange's declaration and a drained
 * socket, then publishes; after a lost channel, sends again on the next one, until the deadline.
 * While any of its publishes is not yet written, {@link pending} keeps later ones off the fast path
 * (order kept).
 */
export class SlowPublisher {
  /** Publishes on the slow path not yet written. */
  pending = 0;
  readonly #channels: PublisherChannels;
  readonly #mc: ManagedConnection;
  readonly #clock: Clock;
  readonly #deadlines: DeadlineQueue;
  readonly #log: Logger;

  constructor(
    channels: PublisherChannels,
    connection: ManagedConnection,
    clock: Clock,
    deadlines: DeadlineQueue,
    logger: Logger,
  ) {
    this.#channels = channels;
    this.#mc = connection;
    this.#clock = clock;
    this.#deadlines = deadlines;
    this.#log = logger;
  }

  /**
   * Publishes `req` (resolves on its confirm, or once written when unconfirmed). `lastError`: why
   * an earlier attempt failed (for the message when no channel comes back in time).
   */
  async publish(req: PublishRequest, lastError: Error | undefined): Promise<void> {
    this.pending++;
    let pending = true;
    const written = (): void => {
      if (pending) this.pending--;
      pending = false;
    };
    try {
      return await this.#loop(req, lastError, written);
    } finally {
      written();
    }
  }

  async #loop(
    req: PublishRequest,
    lastError: Error | undefined,
    written: () => void,
  ): Promise<void> {
    for (;;) {
      const pc = await this.#channel(req, lastError);
      const lane = req.confirm === false ? pc.plain : pc.confirm;
      try {
        if (!lane) throw new MessageDeliveryFailure('No publisher-confirm channel');
        return await this.#beforeDeadline(
          req,
          (async () => {
            if (req.declare) await declareExchange(pc, req.declare);
            while (lane.drain) await lane.drain;
            const confirmed = this.#publishOn(pc, lane, req);
            // Written (or refused): later publishes may take the fast path again. A retry after a
            // lost channel goes behind them, as a resend does anyway.
            written();
            return confirmed;
          })(),
        );
      } catch (err) {
        if (err instanceof MessageDeliveryFailure) throw err;
        if (err instanceof BrokerNackError || err instanceof BrokerRefusedError) {
          throw new MessageDeliveryFailure(
            `The broker refused the message to exchange '${req.exchange}': ${err.message}`,
          );
        }
        lastError = toError(err);
        if (pc.open) {
          if (!(err instanceof ChannelLostError)) {
            throw new MessageDeliveryFailure(
              `Could not publish to exchange '${req.exchange}': ${errorMessage(err)}`,
            );
          }
          // The channel is closing: let its close arrive before trying again.
          await pause(this.#clock, CLOSING_PAUSE);
        }
      }
    }
  }

  /** `attempt`, unless the deadline passes first (a blocked or silent broker never confirms). */
  #beforeDeadline<T>(req: PublishRequest, attempt: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.#deadlines.add(Math.max(0, req.deadline - this.#clock.now()), () =>
        reject(
          new MessageDeliveryFailure(
            `No confirm from the broker in time for a message to exchange '${req.exchange}'`,
          ),
        ),
      );
      attempt.then(
        (v) => {
          cancel();
          resolve(v);
        },
        (err: unknown) => {
          cancel();
          reject(toError(err));
        },
      );
    });
  }

  /** The open channel pair, once there is one (MessageDeliveryFailure at the deadline). */
  async #channel(req: PublishRequest, lastError: Error | undefined): Promise<PubChannel> {
    void this.#mc.start();
    for (;;) {
      if (this.#channels.closed || this.#mc.closed) {
        throw new MessageDeliveryFailure('Transport is closed');
      }
      const pc = this.#channels.current;
      if (pc?.open) {
        if (this.#mc.ready) return pc;
        // The channels open during the connection's set-up, before it counts as ready; that
        // moment is the connection's change, not the channels': wait for it there.
        await this.#mc.waitReady(req.deadline, `publish to exchange '${req.exchange}'`);
        continue;
      }
      // At the deadline nothing is written: a message sent then would be reported failed and
      // still be delivered.
      if (!(await waitChange(this.#channels.changed, this.#clock, req.deadline))) {
        const why =
          lastError === undefined ? 'no connection to the AMQP server' : lastError.message;
        throw new MessageDeliveryFailure(
          `Could not publish to exchange '${req.exchange}' in time: ${why}`,
        );
      }
    }
  }

  /** Writes on `lane`; resolves on the confirm (or at once, unconfirmed). */
  #publishOn(pc: PubChannel, lane: Lane, req: PublishRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!pc.open) return reject(new ChannelLostError('channel closed'));
      const done = (err: unknown): void => {
        const e = confirmError(lane, err);
        if (e === undefined) resolve();
        else reject(e);
      };
      const confirmed = req.confirm !== false;
      try {
        const body = Buffer.from(req.body, 'utf8');
        const ok = confirmed
          ? (lane.ch as ConfirmChannel).publish(
              req.exchange,
              req.routingKey,
              body,
              properties(req),
              done,
            )
          : lane.ch.publish(req.exchange, req.routingKey, body, properties(req));
        if (!ok) watchDrain(lane);
        if (!confirmed) resolve();
      } catch (err) {
        if (!pc.open) return reject(new ChannelLostError(errorMessage(err ?? 'channel closed')));
        // Could not encode the message; a confirm channel's window is now off by one: drop it.
        if (confirmed) closeAfterEncodeFailure(lane, this.#log);
        reject(
          new MessageDeliveryFailure(
            `Could not publish to exchange '${req.exchange}': cannot publish: ${errorMessage(err)}`,
          ),
        );
      }
    });
  }
}

/**
 * Closes a confirm channel after a message it could not encode: amqplib registered the confirm
 * callback before encoding, so every later confirm would be off by one. The pair is reopened.
 */
export function closeAfterEncodeFailure(lane: Lane, log: Logger): void {
  void closeQuietly(
    lane.ch,
    log,
    'Could not close the confirm channel after a message it could not encode (it is closing already)',
  );
}
