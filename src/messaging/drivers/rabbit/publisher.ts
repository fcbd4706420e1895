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
  /** Exchanges whose declaration the broker confirmed (publishes to them take the fast path). */
  readonly declaredOk: Set<string>;
  /** Mandatory publishes waiting for their confirm, by body: a Basic.Return marks them returned. */
  readonly returns: Map<string, () => void>;
  /** Set while the socket buffer is full. */
  drain: Promise<void> | undefined;
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

/** Called once with how a publish ended. */
export type PublishCallback = (err: Error | undefined, outcome: PublishOutcome) => void;

/** A publish sent on the fast path, waiting for its confirm. */
interface Outstanding {
  readonly req: PublishRequest;
  readonly done: PublishCallback;
  settled: boolean;
  returned: boolean;
}

/** Exchange names and routing keys are AMQP short strings (at most 255 bytes). */
function tooLong(s: string): boolean {
  return s.length > 85 && Buffer.byteLength(s) > 255;
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
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
  }

  /**
   * Publishes and waits for the broker's confirm. Rejects with MessageDeliveryFailure when the
   * broker nacks, refuses a declaration, or no connection is available before the deadline.
   */
  publish(req: PublishRequest): Promise<PublishOutcome> {
    return new Promise<PublishOutcome>((resolve, reject) =>
      this.send(req, (err, outcome) => (err ? reject(err) : resolve(outcome))),
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
      done(
        new MessageDeliveryFailure('Exchange names and routing keys are limited to 255 bytes'),
        'confirmed',
      );
      return;
    }
    const pc = this.#pc;
    if (
      pc !== undefined &&
      pc.open &&
      pc.drain === undefined &&
      this.#slowPending === 0 &&
      (req.declare === undefined || pc.declaredOk.has(req.declare.name)) &&
      this.#mc.ready &&
      !this.#closed
    ) {
      this.#sendNow(pc, req, done);
      return;
    }
    this.#publishSlow(req, undefined).then(
      (outcome) => done(undefined, outcome),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err)), 'confirmed'),
    );
  }

  /** The fast path: written now; settled by its confirm, or by the shared deadline timer. */
  #sendNow(pc: PubChannel, req: PublishRequest, done: PublishCallback): void {
    const o: Outstanding = { req, done, settled: false, returned: false };
    const watchReturn = req.mandatory === true && !pc.returns.has(req.body);
    if (watchReturn) pc.returns.set(req.body, () => (o.returned = true));
    let ok: boolean;
    try {
      ok = pc.ch.publish(
        req.exchange,
        req.routingKey,
        Buffer.from(req.body, 'utf8'),
        properties(req),
        (err: unknown) => {
          if (watchReturn) pc.returns.delete(req.body);
          this.#confirmed(o, err);
        },
      );
    } catch (err) {
      if (watchReturn) pc.returns.delete(req.body);
      if (pc.open) {
        // Could not encode the message: the channel's confirm window is now off by one; drop it.
        pc.ch.close().catch(() => undefined);
        done(
          new MessageDeliveryFailure(
            `Could not publish to exchange '${req.exchange}': cannot publish: ${errorText(err)}`,
          ),
          'confirmed',
        );
        return;
      }
      this.#retry(o, err);
      return;
    }
    if (!ok) this.#watchDrain(pc);
    this.#outstanding.push(o);
    if (req.deadline < this.#timerAt) this.#armTimer(req.deadline);
  }

  #confirmed(o: Outstanding, err: unknown): void {
    if (o.settled) return;
    if (err === null || err === undefined) {
      this.#settle(o);
      o.done(undefined, o.returned ? 'returned' : 'confirmed');
    } else if (errorText(err) === 'message nacked') {
      this.#settle(o);
      o.done(
        new MessageDeliveryFailure(
          `The broker refused the message to exchange '${o.req.exchange}': the broker nacked the message`,
        ),
        'confirmed',
      );
    } else {
      this.#retry(o, err);
    }
  }

  /** The channel went away before the confirm: send again on the next one (until the deadline). */
  #retry(o: Outstanding, err: unknown): void {
    this.#settle(o);
    this.#publishSlow(o.req, new ChannelLost(errorText(err))).then(
      (outcome) => o.done(undefined, outcome),
      (e: unknown) => o.done(e instanceof Error ? e : new Error(String(e)), 'confirmed'),
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
      if (o.req.mandatory === true) this.#pc?.returns.delete(o.req.body);
      o.done(
        new MessageDeliveryFailure(
          `No confirm from the broker in time for a message to exchange '${o.req.exchange}'`,
        ),
        'confirmed',
      );
    }
    if (next < Infinity) this.#armTimer(next);
  }

  #watchDrain(pc: PubChannel): void {
    if (pc.drain) return;
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

  /** The slow path: waits for a channel, the exchange's declaration and a drained socket. */
  async #publishSlow(req: PublishRequest, lastError: unknown): Promise<PublishOutcome> {
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
  ): Promise<PublishOutcome> {
    for (;;) {
      const pc = await this.#channel(req, lastError);
      try {
        return await this.#beforeDeadline(
          req,
          (async () => {
            if (req.declare) await this.#declare(pc, req.declare);
            while (pc.drain) await pc.drain;
            const confirmed = this.#publishOn(pc, req);
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
    const ch = await conn.createConfirmChannel();
    const pc: PubChannel = {
      conn,
      ch,
      open: true,
      declared: new Map(),
      declaredOk: new Set(),
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
        if (!ok) this.#watchDrain(pc);
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
