import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { type Logger, MessageDeliveryFailure } from '../../../core/index.js';
import { DeadlineQueue } from '../../deadlines.js';
import type { ManagedConnection } from './connection.js';
import { type ConnectionConfig } from './connection.js';
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
  /**
   * Ask the broker to return the message when no queue takes it (replies). A Basic.Return goes to
   * the publisher's `onReturn`.
   */
  readonly mandatory?: boolean | undefined;
  /**
   * Wait for the broker's confirm (the default: casts). False (calls, replies): done once written
   * to the socket; the reply, or a Basic.Return, is the only news of it.
   */
  readonly confirm?: boolean | undefined;
  /** Give up (MessageDeliveryFailure) at this clock time. */
  readonly deadline: number;
}

/** One channel of a {@link PubChannel}, with its write-buffer state. */
interface Lane {
  readonly ch: Channel;
  /** Set while the channel's write buffer is full. */
  drain: Promise<void> | undefined;
}

/** The channels of one connection: they open, and close, together. */
interface PubChannel {
  readonly conn: ChannelModel;
  /** Publisher-confirm channel (confirmed publishes); absent on a reply publisher. */
  readonly confirm: (Lane & { readonly ch: ConfirmChannel }) | undefined;
  /** Plain channel (unconfirmed publishes). */
  readonly plain: Lane;
  open: boolean;
  readonly declared: Map<string, Promise<unknown>>;
  /** Exchanges whose declaration the broker confirmed (publishes to them take the fast path). */
  readonly declaredOk: Set<string>;
}

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

class ChannelLost extends Error {}
class Refused extends Error {}

function makeProperties(
  expiration: string | undefined,
  mandatory: boolean,
): Readonly<Record<string, unknown>> {
  return Object.freeze({
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: Object.freeze({}),
    deliveryMode: 2,
    priority: 0,
    ...(expiration !== undefined ? { expiration } : {}),
    mandatory,
  });
}

const PLAIN_PROPERTIES = makeProperties(undefined, false);
const MANDATORY_PROPERTIES = makeProperties(undefined, true);
/** Properties by `expiration` (calls: one entry per call timeout in use). */
const expiringProperties = new Map<string, Readonly<Record<string, unknown>>>();

/**
 * Every publish carries exactly these properties (plus `expiration` on calls), as oslo does. The
 * objects are shared (amqplib only reads them).
 */
function properties(r: PublishRequest): Readonly<Record<string, unknown>> {
  const mandatory = r.mandatory === true;
  if (r.expiration === undefined) return mandatory ? MANDATORY_PROPERTIES : PLAIN_PROPERTIES;
  if (mandatory) return makeProperties(r.expiration, true);
  let props = expiringProperties.get(r.expiration);
  if (!props) {
    props = makeProperties(r.expiration, false);
    if (expiringProperties.size < 64) expiringProperties.set(r.expiration, props);
  }
  return props;
}

/** Called once with how a publish ended (`undefined`: confirmed, or written when unconfirmed). */
export type PublishCallback = (err: Error | undefined) => void;

/** A publish sent on the fast path, waiting for its confirm. */
interface Outstanding {
  readonly req: PublishRequest;
  readonly done: PublishCallback;
  settled: boolean;
}

/** Exchange names and routing keys are AMQP short strings (at most 255 bytes). */
function tooLong(s: string): boolean {
  return s.length > 85 && Buffer.byteLength(s) > 255;
}

/**
 * Publishes on one connection, through two channels: one in publisher-confirm mode for the
 * publishes whose sender waits for the broker (casts; confirms are pipelined), one plain for those
 * whose answer is end to end (calls: the reply; replies: the caller, or a Basic.Return). Exchanges
 * are declared once per connection. A confirmed publish that meets a lost connection waits for the
 * reconnection and is sent again (a repeat is harmless: receivers drop duplicate `_unique_id`s)
 * until its deadline; an unconfirmed one is sent again only if it was never written.
 */
export class Publisher {
  readonly #mc: ManagedConnection;
  readonly #name: string;
  readonly #confirms: boolean;
  readonly #onReturn: ((msg: ConsumeMessage) => void) | undefined;
  readonly #config: ConnectionConfig;
  readonly #log: Logger;
  readonly #changed = new Notifier();
  readonly #deadlines: DeadlineQueue;
  #pc: PubChannel | undefined;
  #closed = false;
  /**
   * Fast-path publishes waiting for their confirm, in publish order (settled ones are dropped from
   * the front). One deadline timer serves them all: it is armed for the earliest deadline known
   * when a publish is added, and on firing fails the overdue ones and re-arms for the rest.
   */
  #outstanding: Outstanding[] = [];
  #outstandingHead = 0;
  #timerAt = Infinity;
  #cancelTimer: (() => void) | undefined;
  /** Publishes on the slow path not yet written: later ones wait behind them (order kept). */
  #slowPending = 0;

  constructor(config: ConnectionConfig, options: PublisherOptions) {
    this.#config = config;
    this.#log = config.logger;
    this.#name = options.name;
    this.#confirms = options.confirms ?? true;
    this.#onReturn = options.onReturn;
    this.#deadlines = new DeadlineQueue(config.clock);
    this.#mc = options.connection;
  }

  /** True while its channels are open. */
  get ready(): boolean {
    return !this.#closed && this.#mc.ready && this.#pc?.open === true;
  }

  /** Opens the channels on a new connection (from the connection's set-up). */
  attach(conn: ChannelModel): Promise<void> {
    return this.#openChannel(conn);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#changed.notify();
    this.#closeChannels(this.#pc);
    this.#pc = undefined;
    this.#deadlines.clear();
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
  }

  /**
   * Publishes and waits for the broker's confirm (or, unconfirmed, for the write). Rejects with
   * MessageDeliveryFailure when the broker nacks, refuses a declaration, or no connection is
   * available before the deadline.
   */
  publish(req: PublishRequest): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.send(req, (err) => (err ? reject(err) : resolve())),
    );
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
    const pc = this.#pc;
    if (
      pc !== undefined &&
      pc.open &&
      this.#slowPending === 0 &&
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
    this.#publishSlow(req, undefined).then(
      () => done(undefined),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
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
            `Could not publish to exchange '${req.exchange}': cannot publish: ${errorText(err)}`,
          ),
        );
        return;
      }
      // The channel closed before the write: nothing left, so sending on the next one is safe.
      this.#publishSlow(req, new ChannelLost(errorText(err))).then(
        () => done(undefined),
        (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
      );
      return;
    }
    if (!ok) this.#watchDrain(pc.plain);
    done(undefined);
  }

  /** The fast path: written now; settled by its confirm, or by the shared deadline timer. */
  #sendNow(
    pc: PubChannel,
    lane: Lane & { readonly ch: ConfirmChannel },
    req: PublishRequest,
    done: PublishCallback,
  ): void {
    const o: Outstanding = { req, done, settled: false };
    let ok: boolean;
    try {
      ok = lane.ch.publish(
        req.exchange,
        req.routingKey,
        Buffer.from(req.body, 'utf8'),
        properties(req),
        (err: unknown) => this.#confirmed(o, err),
      );
    } catch (err) {
      if (pc.open) {
        // Could not encode the message: the channel's confirm window is now off by one; drop it.
        lane.ch.close().catch(() => undefined);
        done(
          new MessageDeliveryFailure(
            `Could not publish to exchange '${req.exchange}': cannot publish: ${errorText(err)}`,
          ),
        );
        return;
      }
      this.#retry(o, err);
      return;
    }
    if (!ok) this.#watchDrain(lane);
    this.#outstanding.push(o);
    if (req.deadline < this.#timerAt) this.#armTimer(req.deadline);
  }

  #confirmed(o: Outstanding, err: unknown): void {
    if (o.settled) return;
    if (err === null || err === undefined) {
      this.#settle(o);
      o.done(undefined);
    } else if (errorText(err) === 'message nacked') {
      this.#settle(o);
      o.done(
        new MessageDeliveryFailure(
          `The broker refused the message to exchange '${o.req.exchange}': the broker nacked the message`,
        ),
      );
    } else {
      this.#retry(o, err);
    }
  }

  /** The channel went away before the confirm: send again on the next one (until the deadline). */
  #retry(o: Outstanding, err: unknown): void {
    this.#settle(o);
    this.#publishSlow(o.req, new ChannelLost(errorText(err))).then(
      () => o.done(undefined),
      (e: unknown) => o.done(e instanceof Error ? e : new Error(String(e))),
    );
  }

  #settle(o: Outstanding): void {
    o.settled = true;
    const q = this.#outstanding;
    let h = this.#outstandingHead;
    while (h < q.length && (q[h] as Outstanding).settled) h++;
    if (h === q.length) {
      q.length = 0;
      h = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      this.#outstanding = q.slice(h);
      h = 0;
    }
    this.#outstandingHead = h;
  }

  #armTimer(at: number): void {
    this.#cancelTimer?.();
    this.#timerAt = at;
    this.#cancelTimer = this.#deadlines.add(Math.max(0, at - this.#config.clock.now()), () =>
      this.#expire(),
    );
  }

  /** Fails the publishes whose deadline passed without a confirm; re-arms for the rest. */
  #expire(): void {
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
    const now = this.#config.clock.now();
    const q = this.#outstanding;
    const overdue: Outstanding[] = [];
    let next = Infinity;
    for (let i = this.#outstandingHead; i < q.length; i++) {
      const o = q[i] as Outstanding;
      if (o.settled) continue;
      if (o.req.deadline <= now) overdue.push(o);
      else if (o.req.deadline < next) next = o.req.deadline;
    }
    for (const o of overdue) {
      this.#settle(o);
      o.done(
        new MessageDeliveryFailure(
          `No confirm from the broker in time for a message to exchange '${o.req.exchange}'`,
        ),
      );
    }
    if (next < Infinity) this.#armTimer(next);
  }

  #watchDrain(lane: Lane): void {
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

  /** The slow path: waits for a channel, the exchange's declaration and a drained socket. */
  async #publishSlow(req: PublishRequest, lastError: unknown): Promise<void> {
    this.#slowPending++;
    let pending = true;
    const written = (): void => {
      if (pending) this.#slowPending--;
      pending = false;
    };
    try {
      return await this.#publishSlowLoop(req, lastError, written);
    } finally {
      written();
    }
  }

  async #publishSlowLoop(
    req: PublishRequest,
    lastError: unknown,
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
            if (req.declare) await this.#declare(pc, req.declare);
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
    if (this.#closed) return;
    const confirm = this.#confirms ? await conn.createConfirmChannel() : undefined;
    let plain: Channel;
    try {
      plain = await conn.createChannel();
    } catch (err) {
      confirm?.close().catch(() => undefined);
      throw err;
    }
    const pc: PubChannel = {
      conn,
      confirm: confirm ? { ch: confirm, drain: undefined } : undefined,
      plain: { ch: plain, drain: undefined },
      open: true,
      declared: new Map(),
      declaredOk: new Set(),
    };
    for (const ch of confirm ? [confirm, plain] : [plain]) {
      ch.on('error', (err: unknown) =>
        this.#log.warn({ connection: this.#name, err: errorText(err) }, 'AMQP channel error'),
      );
      if (this.#onReturn) ch.on('return', this.#onReturn);
      ch.on('close', () => this.#channelClosed(pc));
    }
    this.#pc = pc;
    this.#changed.notify();
  }

  /**
   * One of the channels closed: close the other too (a refused publish on one may concern an
   * exchange both think declared) and, unless the connection went with them, open both again.
   */
  #channelClosed(pc: PubChannel): void {
    if (!pc.open) return;
    pc.open = false;
    this.#closeChannels(pc);
    if (this.#pc !== pc) return;
    this.#pc = undefined;
    this.#changed.notify();
    // The channel alone was closed (e.g. a publish to a deleted auto-delete exchange): open a
    // new pair on the same connection. A lost connection is restored by the ManagedConnection.
    setImmediate(() => void this.#reopen(pc.conn));
  }

  #closeChannels(pc: PubChannel | undefined): void {
    if (!pc) return;
    pc.open = false;
    pc.confirm?.ch.close().catch(() => undefined);
    pc.plain.ch.close().catch(() => undefined);
  }

  async #reopen(conn: ChannelModel): Promise<void> {
    if (this.#closed || this.#pc || this.#mc.connection !== conn) return;
    try {
      await this.#openChannel(conn);
    } catch (err) {
      this.#mc.reset(`cannot reopen the ${this.#name} channels: ${errorText(err)}`);
    }
  }

  #declare(pc: PubChannel, x: ExchangeSpec): Promise<unknown> {
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
            // 406 PRECONDITION_FAILED (declared with other flags), 403 ACCESS_REFUSED: permanent.
            if (code === 406 || code === 403) throw new Refused(errorText(err));
            throw new ChannelLost(errorText(err));
          },
        );
      pc.declared.set(x.name, p);
    }
    return p;
  }

  /** Writes on `lane`; resolves on the confirm (or at once, unconfirmed). */
  #publishOn(pc: PubChannel, lane: Lane, req: PublishRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!pc.open) return reject(new ChannelLost('channel closed'));
      const done = (err: unknown): void => {
        if (err === null || err === undefined) resolve();
        else if (errorText(err) === 'message nacked')
          reject(new Refused('the broker nacked the message'));
        else reject(new ChannelLost(errorText(err)));
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
        if (!ok) this.#watchDrain(lane);
        if (!confirmed) resolve();
      } catch (err) {
        if (!pc.open) return done(err ?? new Error('channel closed'));
        // Could not encode the message; a confirm channel's window is now off by one: drop it.
        if (confirmed) lane.ch.close().catch(() => undefined);
        reject(new Error(`cannot publish: ${errorText(err)}`));
      }
    });
  }
}
