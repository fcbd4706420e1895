import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import {
  BrokerNackError,
  BrokerRefusedError,
  ChannelLostError,
  errorMessage,
  type Logger,
} from '../../../core/index.js';
import type { ManagedConnection } from './connection.js';
import type { ExchangeSpec } from './publish-request.js';
import { amqpCode, closeQuietly, Notifier } from './util.js';

/** One channel of a {@link PubChannel}, with its write-buffer and confirm state. */
export interface Lane {
  readonly ch: Channel;
  /** Set while the channel's write buffer is full. */
  drain: Promise<void> | undefined;
  /** True while amqplib runs the confirm callbacks of a Basic.Nack (see {@link confirmError}). */
  nacking: boolean;
}

/** The publisher-confirm lane. */
export interface ConfirmLane extends Lane {
  readonly ch: ConfirmChannel;
}

/** The channels of one connection: they open, and close, together. */
export interface PubChannel {
  readonly conn: ChannelModel;
  /** Publisher-confirm channel (confirmed publishes); absent on a reply publisher. */
  readonly confirm: ConfirmLane | undefined;
  /** Plain channel (unconfirmed publishes). */
  readonly plain: Lane;
  open: boolean;
  readonly declared: Map<string, Promise<unknown>>;
  /** Exchanges whose declaration the broker confirmed (publishes to them take the fast path). */
  readonly declaredOk: Set<string>;
}

/**
 * What the `err` of a confirm callback on `lane` means: undefined (acked), a
 * {@link BrokerNackError} (Basic.Nack), or a {@link ChannelLostError} (the channel closed before
 * the confirm). amqplib passes an Error in both failure cases; the lane's `nacking` flag, set
 * around amqplib's own 'nack' listener when the channel opens, tells them apart.
 */
export function confirmError(lane: Lane, err: unknown): Error | undefined {
  if (err === null || err === undefined) return undefined;
  return lane.nacking ? new BrokerNackError() : new ChannelLostError(errorMessage(err));
}

/**
 * Brackets amqplib's 'nack' listener (added in its Channel constructor, so it runs the confirm
 * callbacks of a Basic.Nack) with ours: the callbacks run while `lane.nacking` is true. Called once
 * per confirm channel, where it is opened.
 */
export function flagNacks(lane: ConfirmLane): void {
  lane.ch.prependListener('nack', () => (lane.nacking = true));
  lane.ch.on('nack', () => (lane.nacking = false));
  // Should a callback throw out of amqplib's listener, the callbacks a close fails stay losses.
  lane.ch.prependListener('close', () => (lane.nacking = false));
}

/** Sets `lane.drain` until the channel's write buffer drains (or the channel closes). */
export function watchDrain(lane: Lane): void {
  if (lane.drain) return;
  lane.drain = new Promise<void>((resume) => {
    const end = (): void => {
      lane.ch.off('drain', end);
      lane.ch.off('close', end);
      lane.drain = undefined;
      resume();
    };
    lane.ch.on('drain', end);
    lane.ch.on('close', end);
  });
}

/**
 * Declares `x` on `pc` once. Rejects with {@link BrokerRefusedError} when the broker refuses it for
 * good (406 PRECONDITION_FAILED: declared with other flags; 403 ACCESS_REFUSED), else with
 * {@link ChannelLostError} (the declaration is tried again on the next channel).
 */
export function declareExchange(pc: PubChannel, x: ExchangeSpec): Promise<unknown> {
  let p = pc.declared.get(x.name);
  if (!p) {
    p = (pc.confirm ?? pc.plain).ch
      .assertExchange(x.name, x.type, {
        durable: x.durable,
        autoDelete: x.autoDelete,
        internal: false,
        arguments: {},
      })
      .then(
        (ok) => {
          pc.declaredOk.add(x.name);
          return ok;
        },
        (err: unknown) => {
          pc.declared.delete(x.name);
          const code = amqpCode(err);
          if (code === 406 || code === 403) throw new BrokerRefusedError(errorMessage(err));
          throw new ChannelLostError(errorMessage(err));
        },
      );
    pc.declared.set(x.name, p);
  }
  return p;
}

/** How a {@link PublisherChannels} is set up. */
export interface PublisherChannelsOptions {
  /** For logs: `publisher`, `listener <queue> replies` ... */
  readonly name: string;
  /** Open a publisher-confirm channel beside the plain one. */
  readonly confirms: boolean;
  /** A Basic.Return (a `mandatory` publish no queue took). */
  readonly onReturn: ((msg: ConsumeMessage) => void) | undefined;
  readonly connection: ManagedConnection;
  readonly logger: Logger;
}

/**
 * A publisher's channel pair on the current connection: opened by the connection's set-up, closed
 * together when either closes, and opened again on the same connection when the channel alone was
 * closed (a lost connection is restored, with a new pair, by the ManagedConnection).
 */
export class PublisherChannels {
  /** The open pair, if any (read on every publish). */
  current: PubChannel | undefined = undefined;
  /** Notified when {@link current} changes or the channels close for good. */
  readonly changed = new Notifier();
  readonly #o: PublisherChannelsOptions;
  readonly #log: Logger;
  #closed = false;

  constructor(options: PublisherChannelsOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the channels for good. Resolves once the broker confirmed their close: amqplib's
   * connection close does not wait for what a channel still buffers, so a reply written just before
   * would be lost if the connection closed first.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.changed.notify();
    const closing = this.#closeChannels(this.current);
    this.current = undefined;
    return closing;
  }

  /** Opens a pair on a new connection (from the connection's set-up). */
  async open(conn: ChannelModel): Promise<void> {
    if (this.#closed) return;
    const confirm = this.#o.confirms ? await conn.createConfirmChannel() : undefined;
    let plain: Channel;
    try {
      plain = await conn.createChannel();
    } catch (err) {
      if (confirm) {
        void closeQuietly(
          confirm,
          this.#log,
          'Could not close the confirm channel of a pair that failed to open (the set-up fails anyway)',
        );
      }
      throw err;
    }
    const confirmLane: ConfirmLane | undefined = confirm
      ? { ch: confirm, drain: undefined, nacking: false }
      : undefined;
    if (confirmLane) flagNacks(confirmLane);
    const pc: PubChannel = {
      conn,
      confirm: confirmLane,
      plain: { ch: plain, drain: undefined, nacking: false },
      open: true,
      declared: new Map(),
      declaredOk: new Set(),
    };
    for (const ch of confirm ? [confirm, plain] : [plain]) {
      ch.on('error', (err: unknown) =>
        this.#log.warn({ connection: this.#o.name, err: errorMessage(err) }, 'AMQP channel error'),
      );
      if (this.#o.onReturn) ch.on('return', this.#o.onReturn);
      ch.on('close', () => this.#channelClosed(pc));
    }
    this.current = pc;
    this.changed.notify();
  }

  /**
   * One of the channels closed: close the other too (a refused publish on one may concern an
   * exchange both think declared) and, unless the connection went with them, open both again.
   */
  #channelClosed(pc: PubChannel): void {
    if (!pc.open) return;
    pc.open = false;
    this.#closeChannels(pc);
    if (this.current !== pc) return;
    this.current = undefined;
    this.changed.notify();
    // The channel alone was closed (e.g. a publish to a deleted auto-delete exchange): open a
    // new pair on the same connection. A lost connection is restored by the ManagedConnection.
    setImmediate(() => void this.#reopen(pc.conn));
  }

  #closeChannels(pc: PubChannel | undefined): Promise<void> {
    if (!pc) return Promise.resolve();
    pc.open = false;
    const why = `Could not close a ${this.#o.name} channel (already closed, with its connection or its pair)`;
    return Promise.all([
      pc.confirm ? closeQuietly(pc.confirm.ch, this.#log, why) : undefined,
      closeQuietly(pc.plain.ch, this.#log, why),
    ]).then(() => undefined);
  }

  async #reopen(conn: ChannelModel): Promise<void> {
    const mc = this.#o.connection;
    if (this.#closed || this.current || mc.connection !== conn) return;
    try {
      await this.open(conn);
    } catch (err) {
      mc.reset(`cannot reopen the ${this.#o.name} channels: ${errorMessage(err)}`);
    }
  }
}
