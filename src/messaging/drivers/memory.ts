import { randomUUID } from 'node:crypto';
import { type Clock, MessageDeliveryFailure, MessagingTimeout } from '../../core/index.js';
import { DeadlineQueue } from '../deadlines.js';
import {
  type Driver,
  type DriverListener,
  type IncomingMessage,
  type ListenOptions,
  REPLIED,
  type SendOptions,
} from '../driver.js';
import { deserializeRemoteException } from '../failure.js';
import { parseWireJson } from '../json.js';
import type { Target } from '../target.js';

/** A reply's result as the wire would carry it: JSON text, or a primitive JSON maps to itself. */
interface WireResult {
  readonly json: string | undefined;
  readonly value: unknown;
}

const NULL_RESULT: WireResult = { json: undefined, value: null };

/**
 * Strings, booleans, null and finite numbers come out of JSON as they went in, so they skip the round
 * trip; anything else is serialized here (throwing if it cannot travel) and parsed by the caller.
 */
function toWire(result: unknown): WireResult {
  if (result === null || result === undefined) return NULL_RESULT;
  const t = typeof result;
  if (
    t === 'string' ||
    t === 'boolean' ||
    (t === 'number' && Number.isFinite(result) && !Object.is(result, -0))
  ) {
    return { json: undefined, value: result };
  }
  return { json: JSON.stringify(result) ?? 'null', value: undefined };
}

interface Delivery {
  /** JSON text of the request fields: what would be on the wire. */
  readonly body: string;
  readonly ctxt: Record<string, unknown>;
  readonly call: PendingCall | undefined;
}

interface PendingCall {
  readonly callMonitorTimeout: number | undefined;
  /** The result as it comes off the wire: JSON text, or a value JSON maps to itself. */
  settle(result: WireResult, failure: string | null): void;
  fail(err: Error): void;
  heartbeat(): void;
  /** Intrusive list links: calls still waiting for a reply (a Set's delete was a hot spot). */
  prev: PendingCall | undefined;
  next: PendingCall | undefined;
  waiting: boolean;
}

/** The calls waiting for a reply, as an intrusive doubly linked list. */
class PendingCalls {
  #head: PendingCall | undefined;

  add(c: PendingCall): void {
    c.waiting = true;
    c.prev = undefined;
    c.next = this.#head;
    if (this.#head) this.#head.prev = c;
    this.#head = c;
  }

  /** Unlinks `c`; false if it was not waiting (already answered or timed out). */
  remove(c: PendingCall): boolean {
    if (!c.waiting) return false;
    c.waiting = false;
    if (c.prev) c.prev.next = c.next;
    else this.#head = c.next;
    if (c.next) c.next.prev = c.prev;
    c.prev = c.next = undefined;
    return true;
  }

  /** Every waiting call, unlinked. */
  drain(): PendingCall[] {
    const out: PendingCall[] = [];
    for (let c = this.#head; c; c = c.next) out.push(c);
    return out;
  }
}

interface Consumer {
  readonly prefetch: number;
  unacked: number;
  active: boolean;
  readonly deliver: (d: Delivery, q: MemoryQueue) => void;
}

class MemoryQueue {
  readonly backlog: Delivery[] = [];
  readonly consumers: Consumer[] = [];
  #next = 0;

  publish(d: Delivery): void {
    this.backlog.push(d);
    this.pump();
  }

  /** Hands backlog to consumers round-robin, each up to its prefetch. */
  pump(): void {
    while (this.backlog.length > 0) {
      const c = this.#pick();
      if (!c) return;
      c.unacked++;
      c.deliver(this.backlog.shift() as Delivery, this);
    }
  }

  #pick(): Consumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = this.consumers[(this.#next + i) % n] as Consumer;
      if (c.active && c.unacked < c.prefetch) {
        this.#next = (this.#next + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}

/** One in-process broker, shared by every memory transport with the same URL. */
class MemoryBus {
  readonly queues = new Map<string, MemoryQueue>();
  readonly fanout = new Map<string, Set<MemoryQueue>>();

  queue(name: string): MemoryQueue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new MemoryQueue()));
    return q;
  }
}

const buses = new Map<string, MemoryBus>();

/**
 * `memory://[name]`: the embedded transport. Same semantics as RabbitMQ in one process — a shared
 * queue per topic served round-robin, a per-server queue, fanout to every server, messages to a
 * queue nobody declared are dropped (a call then times out), bounded prefetch, requeue — and
 * arguments and results go through JSON, so what works here works on the wire.
 */
export class MemoryDriver implements Driver {
  readonly #bus: MemoryBus;
  readonly #exchange: string;
  readonly #deadlines: DeadlineQueue;
  readonly #pending = new PendingCalls();
  readonly #idPrefix = randomUUID().replace(/-/g, '').slice(0, 20);
  #nextId = 0;
  #closed = false;

  constructor(name: string, controlExchange: string, clock: Clock) {
    let bus = buses.get(name);
    if (!bus) buses.set(name, (bus = new MemoryBus()));
    this.#bus = bus;
    this.#exchange = controlExchange;
    this.#deadlines = new DeadlineQueue(clock);
  }

  get connected(): boolean {
    return !this.#closed;
  }

  send(
    target: Target,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new MessageDeliveryFailure('Transport is closed'));
    const exchange = target.exchange ?? this.#exchange;
    const body = JSON.stringify(message);
    if (!options.waitForReply) {
      this.#route(exchange, target, { body, ctxt, call: undefined });
      return Promise.resolve(undefined);
    }
    return new Promise<unknown>((resolve, reject) => {
      const msgId = `${this.#idPrefix}${(this.#nextId++).toString(16).padStart(12, '0')}`;
      const timeout = options.timeout ?? 60;
      let cancelMonitor: (() => void) | undefined;
      const monitor = options.callMonitorTimeout;
      const call: PendingCall = {
        callMonitorTimeout: monitor,
        settle: (result, failure) => {
          if (!this.#pending.remove(call)) return; // late reply after a timeout: dropped
          cancelTimeout();
          cancelMonitor?.();
          if (failure !== null) reject(deserializeRemoteException(failure));
          else resolve(result.json === undefined ? result.value : parseWireJson(result.json));
        },
        fail: (err) => {
          if (!this.#pending.remove(call)) return;
          cancelTimeout();
          cancelMonitor?.();
          reject(err);
        },
        heartbeat: () => {
          if (!call.waiting || monitor === undefined) return;
          cancelMonitor?.();
          cancelMonitor = this.#deadlines.add(monitor, expire);
        },
        prev: undefined,
        next: undefined,
        waiting: false,
      };
      const expire = (): void =>
        call.fail(new MessagingTimeout(`Timed out waiting for a reply to message ID ${msgId}`));
      const cancelTimeout = this.#deadlines.add(timeout, expire);
      if (monitor !== undefined) cancelMonitor = this.#deadlines.add(monitor, expire);
      this.#pending.add(call);
      this.#route(exchange, target, { body, ctxt, call });
    });
  }

  #route(exchange: string, target: Target, d: Delivery): void {
    const topic = target.topic as string;
    if (target.fanout) {
      for (const q of this.#bus.fanout.get(topic) ?? []) q.publish(d);
      return;
    }
    const key = target.server ? `${topic}.${target.server}` : topic;
    this.#bus.queues.get(`${exchange}\0${key}`)?.publish(d);
  }

  async listen(
    target: Target,
    onMessage: (m: IncomingMessage) => void,
    options: ListenOptions,
  ): Promise<DriverListener> {
    const exchange = target.exchange ?? this.#exchange;
    const topic = target.topic as string;
    const shared = this.#bus.queue(`${exchange}\0${topic}`);
    const perServer = this.#bus.queue(`${exchange}\0${topic}.${target.server as string}`);
    const fanout = new MemoryQueue();
    let set = this.#bus.fanout.get(topic);
    if (!set) this.#bus.fanout.set(topic, (set = new Set()));
    set.add(fanout);

    const consumer: Consumer = {
      prefetch: options.prefetch,
      unacked: 0,
      active: true,
      deliver: (d, q) => onMessage(this.#incoming(d, q, consumer)),
    };
    const queues = [shared, perServer, fanout];
    for (const q of queues) q.consumers.push(consumer);
    for (const q of queues) q.pump();
    return {
      stop: async () => {
        if (!consumer.active) return;
        consumer.active = false;
        for (const q of queues) q.consumers.splice(q.consumers.indexOf(consumer), 1);
        set.delete(fanout);
        for (const q of [shared, perServer]) q.pump();
      },
    };
  }

  #incoming(d: Delivery, q: MemoryQueue, consumer: Consumer): IncomingMessage {
    let settled = false;
    const release = (): boolean => {
      if (settled) return false;
      settled = true;
      consumer.unacked--;
      return true;
    };
    return {
      ctxt: d.ctxt, // frozen by the serializer, or the sender's own dict: read-only here
      message: parseWireJson(d.body) as Record<string, unknown>,
      isCall: d.call !== undefined,
      callMonitorTimeout: d.call?.callMonitorTimeout,
      acknowledge: () => {
        if (release()) q.pump();
      },
      requeue: () => {
        if (!release()) return;
        q.backlog.unshift(d);
        q.pump();
      },
      reply: (result, failure) => {
        // Serialize first: a result JSON cannot carry throws here, in the server, which then
        // replies a failure. Settled at once: nothing of its own to wait for.
        d.call?.settle(failure === null ? toWire(result) : NULL_RESULT, failure);
        return REPLIED;
      },
      heartbeat: async () => d.call?.heartbeat(),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#deadlines.clear();
    for (const call of this.#pending.drain())
      call.fail(new MessageDeliveryFailure('Transport closed while waiting for a reply'));
  }
}
