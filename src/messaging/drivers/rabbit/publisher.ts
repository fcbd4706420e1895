import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { type Logger, MessageDeliveryFailure } from '../../../core/index.js';
import { DeadlineQueue } from '../../deadlines.js';
import { type ConnectionConfig, ManagedConnection } from './connection.js';
import { amqpCode, errorText, Notifier, waitChange } from './util.js';

/** An exchange as oslo.messaging declares it. */
export interface ExchangeSpec {
  readonly name: string;
  readonly type: 'topic' | 'fanout' | 'direct';
  readonly durable: boolean;
  readonly autoDelete: boolean;
}

/** One message to publish. */
export interface PublishRequest {
  readonly exchange: string;
  /** Declared (once per channel) before the publish. */
  readonly declare?: ExchangeSpec | undefined;
  readonly routingKey: string;
  /** The AMQP body (JSON text). */
  readonly body: string;
  /** Per-message TTL in ms as a string (calls only). */
  readonly expiration?: string | undefined;
  /** Ask the broker to return the message when no queue takes it (replies). */
  readonly mandatory?: boolean | undefined;
  /** Give up (MessageDeliveryFailure) at this clock time. */
  readonly deadline: number;
}

/** How a confirmed publish ended: taken by a queue, or returned as unroutable (mandatory only). */
export type PublishOutcome = 'confirmed' | 'returned';

interface PubChannel {
  readonly conn: ChannelModel;
  readonly ch: ConfirmChannel;
  open: boolean;
  readonly declared: Map<string, Promise<unknown>>;
  /** Mandatory publishes waiting for their confirm, by body: a Basic.Return marks them returned. */
  readonly returns: Map<string, () => void>;
  /** Set while the socket buffer is full. */
  drain: Promise<void> | undefined;
}

class ChannelLost extends Error {}
class Refused extends Error {}

/** Every publish carries exactly these properties (plus `expiration` on calls), as oslo does. */
function properties(r: PublishRequest): Record<string, unknown> {
  return {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: {},
    deliveryMode: 2,
    priority: 0,
    ...(r.expiration !== undefined ? { expiration: r.expiration } : {}),
    mandatory: r.mandatory === true,
  };
}

/**
 * The publishing side of a driver: one connection with one channel in publisher-confirm mode,
 * shared by calls, casts and replies (confirms are pipelined). Exchanges are declared once per
 * channel. A publish that meets a lost connection waits for the reconnection and is sent again
 * (a repeat is harmless: receivers drop duplicate `_unique_id`s) until its deadline.
 */
export class Publisher {
  readonly #mc: ManagedConnection;
  readonly #config: ConnectionConfig;
  readonly #log: Logger;
  readonly #changed = new Notifier();
  readonly #deadlines: DeadlineQueue;
  #pc: PubChannel | undefined;
  #closed = false;

  constructor(config: ConnectionConfig) {
    this.#config = config;
    this.#log = config.logger;
    this.#deadlines = new DeadlineQueue(config.clock);
    this.#mc = new ManagedConnection('publisher', config, (conn) => this.#openChannel(conn));
  }

  /** True while a confirm channel is open. */
  get ready(): boolean {
    return this.#mc.ready && this.#pc?.open === true;
  }

  /** Connects; resolves after the first attempt, whatever its outcome. */
  start(): Promise<void> {
    return this.#mc.start();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#changed.notify();
    await this.#mc.close();
    this.#deadlines.clear();
  }

  /**
   * Publishes and waits for the broker's confirm. Rejects with MessageDeliveryFailure when the
   * broker nacks, refuses a declaration, or no connection is available before the deadline.
   */
  async publish(req: PublishRequest): Promise<PublishOutcome> {
    // amqplib registers the confirm callback before encoding: a frame it cannot encode would
    // shift every later confirm. Refuse such names up front.
    if (Buffer.byteLength(req.exchange) > 255 || Buffer.byteLength(req.routingKey) > 255) {
      throw new MessageDeliveryFailure('Exchange names and routing keys are limited to 255 bytes');
    }
    let lastError: unknown;
    for (;;) {
      const pc = await this.#channel(req, lastError);
      try {
        return await this.#beforeDeadline(
          req,
          (async () => {
            if (req.declare) await this.#declare(pc, req.declare);
            while (pc.drain) await pc.drain;
            return this.#publishOn(pc, req);
          })(),
        );
      } catch (err) {
        if (err instanceof MessageDeliveryFailure) throw err;
        if (err instanceof Refused) {
          throw new MessageDeliveryFailure(
            `The broker refused the message to exchange '${req.exchange}': ${err.message}`,
          );
        }
        lastError = err;
        if (pc.open) {
          if (!(err instanceof ChannelLost)) {
            throw new MessageDeliveryFailure(
              `Could not publish to exchange '${req.exchange}': ${errorText(err)}`,
            );
          }
          // The channel is closing: let its close arrive before trying again.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }
  }

  /** `attempt`, unless the deadline passes first (a blocked or silent broker never confirms). */
  #beforeDeadline<T>(req: PublishRequest, attempt: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.#deadlines.add(Math.max(0, req.deadline - this.#config.clock.now()), () =>
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
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  async #channel(req: PublishRequest, lastError: unknown): Promise<PubChannel> {
    void this.#mc.start();
    for (;;) {
      if (this.#closed || this.#mc.closed) throw new MessageDeliveryFailure('Transport is closed');
      const pc = this.#pc;
      if (pc?.open && this.#mc.ready) return pc;
      if (!(await waitChange(this.#changed, this.#config.clock, req.deadline))) {
        const pc2 = this.#pc;
        if (pc2?.open && this.#mc.ready) return pc2;
        const why =
          lastError === undefined ? 'no connection to the AMQP server' : errorText(lastError);
        throw new MessageDeliveryFailure(
          `Could not publish to exchange '${req.exchange}' in time: ${why}`,
        );
      }
    }
  }

  async #openChannel(conn: ChannelModel): Promise<void> {
    const ch = await conn.createConfirmChannel();
    const pc: PubChannel = {
      conn,
      ch,
      open: true,
      declared: new Map(),
      returns: new Map(),
      drain: undefined,
    };
    ch.on('error', (err: unknown) =>
      this.#log.warn({ connection: 'publisher', err: errorText(err) }, 'AMQP channel error'),
    );
    ch.on('return', (msg: ConsumeMessage) => {
      pc.returns.get(msg.content.toString('utf8'))?.();
    });
    ch.on('close', () => {
      pc.open = false;
      if (this.#pc !== pc) return;
      this.#pc = undefined;
      this.#changed.notify();
      // The channel alone was closed (e.g. a publish to a deleted auto-delete exchange): open a
      // new one on the same connection. A lost connection is restored by the ManagedConnection.
      setImmediate(() => void this.#reopen(conn));
    });
    this.#pc = pc;
    this.#changed.notify();
  }

  async #reopen(conn: ChannelModel): Promise<void> {
    if (this.#closed || this.#pc || this.#mc.connection !== conn) return;
    try {
      await this.#openChannel(conn);
    } catch (err) {
      this.#mc.reset(`cannot reopen the publisher channel: ${errorText(err)}`);
    }
  }

  #declare(pc: PubChannel, x: ExchangeSpec): Promise<unknown> {
    let p = pc.declared.get(x.name);
    if (!p) {
      p = pc.ch
        .assertExchange(x.name, x.type, {
          durable: x.durable,
          autoDelete: x.autoDelete,
          internal: false,
          arguments: {},
        })
        .catch((err: unknown) => {
          pc.declared.delete(x.name);
          const code = amqpCode(err);
          // 406 PRECONDITION_FAILED (declared with other flags), 403 ACCESS_REFUSED: permanent.
          if (code === 406 || code === 403) throw new Refused(errorText(err));
          throw new ChannelLost(errorText(err));
        });
      pc.declared.set(x.name, p);
    }
    return p;
  }

  #publishOn(pc: PubChannel, req: PublishRequest): Promise<PublishOutcome> {
    return new Promise<PublishOutcome>((resolve, reject) => {
      if (!pc.open) return reject(new ChannelLost('channel closed'));
      const watchReturn = req.mandatory === true && !pc.returns.has(req.body);
      let returned = false;
      if (watchReturn) pc.returns.set(req.body, () => (returned = true));
      const done = (err: unknown): void => {
        if (watchReturn) pc.returns.delete(req.body);
        if (err === null || err === undefined) resolve(returned ? 'returned' : 'confirmed');
        else if (errorText(err) === 'message nacked')
          reject(new Refused('the broker nacked the message'));
        else reject(new ChannelLost(errorText(err)));
      };
      try {
        const ok = pc.ch.publish(
          req.exchange,
          req.routingKey,
          Buffer.from(req.body, 'utf8'),
          properties(req),
          done,
        );
        if (!ok && !pc.drain) {
          pc.drain = new Promise<void>((resume) => {
            const end = (): void => {
              pc.ch.off('drain', end);
              pc.ch.off('close', end);
              pc.drain = undefined;
              resume();
            };
            pc.ch.on('drain', end);
            pc.ch.on('close', end);
          });
        }
      } catch (err) {
        if (!pc.open) return done(err ?? new Error('channel closed'));
        // Could not encode the message: the channel's confirm window is now off by one; drop it.
        pc.ch.close().catch(() => undefined);
        if (watchReturn) pc.returns.delete(req.body);
        reject(new Error(`cannot publish: ${errorText(err)}`));
      }
    });
  }
}
