import {
  AlreadyRunningError,
  errorMessage,
  InvalidRpcOption,
  InvalidRpcMessage,
  InvalidTarget,
  type Logger,
  MessagingError,
  NoSuchMethod,
  UnsupportedVersion,
} from '../core/index.js';
import type { RpcAccessPolicy } from './access-policy.js';
import { readRequest, RpcDispatcher, type RpcRequest } from './dispatcher.js';
import { type DriverListener, type IncomingMessage, REPLIED } from './driver.js';
import { serializeRemoteException } from './failure.js';
import { messagingOptions } from './options.js';
import type { Serializer } from './serializer.js';
import { Target, type TargetFields } from './target.js';
import type { Transport } from './transport.js';

/** Options of {@link getRpcServer}. */
export interface RpcServerOptions {
  /** Which endpoint methods are callable; default {@link DefaultRpcAccessPolicy}. */
  accessPolicy?: RpcAccessPolicy;
  /** How contexts and entities travel; default {@link RequestContextSerializer}. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the context type is the serializer's
  serializer?: Serializer<any>;
  /**
   * Requests handled at once (oslo `executor_thread_pool_size`). Default 64.
   */
  executorPoolSize?: number;
  /**
   * Deliveries received but not yet dispatched, at most, per consumer (the AMQP prefetch of each of
   * the server's three queues: a request is acknowledged when its dispatch begins). They wait while every executor is busy and go back to
   * the queue on `stop()`. A window wider than the pool keeps the broker streaming while acks are
   * on their way; a narrow one shares a busy topic more evenly between servers. Default
   * 4 × `executorPoolSize` (256); 1–65535. The transport option `rabbit_qos_prefetch_count`, when
   * set, takes precedence.
   */
  prefetch?: number;
  logger?: Logger;
  /**
   * Observer called once per handled message (for metrics): after the reply is sent, or after the
   * dispatch of a cast. Never called when unset (no clock reads). Its errors are logged, never
   * thrown into the server.
   */
  onDispatch?: (event: RpcDispatchEvent) => void;
}

/**
 * How one request went; handed to {@link RpcServerOptions.onDispatch}.
 *
 * `method` is bounded by what the endpoints serve: a refused request whose method was not found or
 * could not be read is labelled {@link UNKNOWN_METHOD}, so a client cannot mint new label values.
 */
export interface RpcDispatchEvent {
  /** The method called, or {@link UNKNOWN_METHOD} for a refused request naming no served method. */
  readonly method: string;
  /**
   * `ok`: the method returned; `error`: it threw; `refused`: malformed request, no such method or
   * unsupported version (the endpoint never ran, or its arguments could not be read).
   */
  readonly outcome: 'ok' | 'error' | 'refused';
  /** Seconds from the start of the dispatch to the reply (or the end of a cast), on the transport's clock. */
  readonly duration: number;
  /** True for a call, false for a cast. */
  readonly isCall: boolean;
}

/** The method label of a refused request whose method is not served or not readable. */
export const UNKNOWN_METHOD = '_unknown_';

/** What an {@link RpcServer} is handling at one moment ({@link RpcServer.inProgress}). */
export interface RpcWorkInProgress {
  /** Requests dispatched and not finished (replied, for a call), as {@link RpcServer.inFlight}. */
  readonly requests: number;
  /**
   * Of those, the ones whose endpoint method is still running, by method name. The rest (a method
   * that returned at once, its reply being written) finish within a few turns.
   */
  readonly methods: Readonly<Record<string, number>>;
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/** AMQP's `Basic.Qos` takes a 16-bit prefetch count. */
const MAX_PREFETCH = 65535;

/**
 * Serves endpoints on a target: the shared queue `topic`, the per-server queue `topic.server` and
 * the topic's fanout (oslo.messaging's `RPCServer`).
 *
 * Delivery: a request is acknowledged when its dispatch begins, before the endpoint runs — at most
 * once, as oslo does (a crash mid-call loses that call rather than running it twice). `stop()` takes
 * no new requests and returns those received but not yet dispatched to the queue; `wait()` resolves
 * once every dispatched request has finished and replied.
 */
export class RpcServer {
  readonly transport: Transport;
  readonly target: Target;
  readonly dispatcher: RpcDispatcher;
  readonly #poolSize: number;
  readonly #prefetch: number;
  readonly #logger: Logger;
  readonly #onDispatch: ((event: RpcDispatchEvent) => void) | undefined;
  #state: State = 'new';
  #listener: DriverListener | undefined;
  readonly #waiting: IncomingMessage[] = [];
  #active = 0;
  /** Requests whose endpoint method returned a promise not yet settled, by method (only those). */
  readonly #methods = new Map<string, number>();
  /** Deliveries requeued by the server while stopping (the waiting ones, and late arrivals). */
  #requeued = 0;
  /** Requests in flight when `stop()` began (they finish before `wait()` resolves). */
  #stopInFlight = 0;
  #draining = false;
  #idle: (() => void) | undefined;

  constructor(
    transport: Transport,
    target: Target | TargetFields,
    endpoints: readonly object[],
    options: RpcServerOptions = {},
  ) {
    const pool = options.executorPoolSize ?? messagingOptions.defaults.executor_thread_pool_size;
    if (!Number.isInteger(pool) || pool < 1)
      throw new InvalidRpcOption(`executorPoolSize must be an integer >= 1, got ${String(pool)}`);
    const prefetch = options.prefetch ?? Math.min(4 * pool, MAX_PREFETCH);
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > MAX_PREFETCH) {
      throw new InvalidRpcOption(
        `prefetch must be an integer from 1 to ${MAX_PREFETCH}, got ${String(prefetch)}`,
      );
    }
    if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== 'object' || e === null)) {
      throw new InvalidRpcOption('endpoints must be an array of objects');
    }
    this.transport = transport;
    this.target = target instanceof Target ? target : new Target(target);
    this.dispatcher = new RpcDispatcher(endpoints, {
      ...(options.accessPolicy ? { accessPolicy: options.accessPolicy } : {}),
      ...(options.serializer ? { serializer: options.serializer } : {}),
    });
    this.#poolSize = pool;
    this.#prefetch = prefetch;
    this.#logger = options.logger ?? transport.logger;
    this.#onDispatch = options.onDispatch;
  }

  /** Requests being handled right now. */
  get inFlight(): number {
    return this.#active;
  }

  /** What is being handled right now: the requests in flight and the methods still running. */
  inProgress(): RpcWorkInProgress {
    return { requests: this.#active, methods: Object.fromEntries(this.#methods) };
  }

  /** Declares the queues and starts consuming. */
  async start(): Promise<void> {
    if (this.#state === 'running' || this.#state === 'stopping')
      throw new AlreadyRunningError('The RPC server is already running');
    if (!this.target.topic || !this.target.server) {
      throw new InvalidTarget(
        "A server's target must have topic and server names specified",
        this.target,
      );
    }
    this.#state = 'running';
    try {
      this.#listener = await this.transport.driver.listen(this.target, (m) => this.#onMessage(m), {
        prefetch: this.#prefetch,
      });
    } catch (err) {
      this.#state = 'stopped';
      throw err;
    }
  }

  /**
   * Stops taking requests; received but undispatched ones go back to the queue. Those dispatched
   * go on: `wait()` resolves once they have finished, and then logs `Stopped RPC server: N
   * in-flight requests finished, M deliveries requeued` ({@link stopReport}).
   */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.#stopInFlight = this.#active;
    this.#requeued = 0;
    await this.#listener?.stop();
    const waiting = this.#waiting.splice(0);
    for (const m of waiting) m.requeue();
    this.#requeued += waiting.length;
  }

  /** Resolves when every dispatched request has finished and replied. */
  async wait(): Promise<void> {
    if (this.#active > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    if (this.#state !== 'stopping') return;
    this.#state = 'stopped';
    // Counted now, so that what was requeued while the in-flight requests finished is in too.
    const inFlight = this.#stopInFlight;
    const requeued = this.#requeued + (this.#listener?.requeued ?? 0);
    this.#logger.info(
      { topic: this.target.topic, server: this.target.server, inFlight, requeued },
      `Stopped RPC server: ${inFlight} in-flight requests finished, ${requeued} deliveries requeued`,
    );
  }

  /** One request of `method` whose promise settled is no longer running. */
  #untrack(method: string): void {
    const n = (this.#methods.get(method) ?? 1) - 1;
    if (n > 0) this.#methods.set(method, n);
    else this.#methods.delete(method);
  }

  #onMessage(m: IncomingMessage): void {
    if (this.#state !== 'running') {
      if (this.#state === 'stopping') this.#requeued++;
      return m.requeue();
    }
    if (this.#active >= this.#poolSize) {
      this.#waiting.push(m);
      return;
    }
    this.#run(m);
  }

  #run(m: IncomingMessage): void {
    // Count first: acknowledging may synchronously deliver the next message.
    this.#active++;
    m.acknowledge();
    let handled: Promise<void> | undefined;
    try {
      handled = this.#handle(m);
    } catch (err) {
      this.#logger.error({ err }, 'Unexpected error while handling a message');
    }
    if (handled) void handled.finally(this.#finished);
    else this.#finished();
  }

  /**
   * One request done (replied): waiting ones start, or `wait()` may resolve. A loop, not
   * recursion: requests handled synchronously would otherwise nest one frame per waiting request.
   */
  readonly #finished = (): void => {
    this.#active--;
    if (this.#draining) return; // the loop below starts the next one
    this.#draining = true;
    try {
      while (
        this.#state === 'running' &&
        this.#active < this.#poolSize &&
        this.#waiting.length > 0
      ) {
        this.#run(this.#waiting.shift() as IncomingMessage);
      }
    } finally {
      this.#draining = false;
    }
    if (this.#active === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  };

  /**
   * Handles one request; returns a promise only while something is still pending (an endpoint's
   * promise, a reply not yet written), so that a synchronous method costs no promise of the
   * server's own.
   */
  #handle(m: IncomingMessage): Promise<void> | undefined {
    // Only an observer needs the start time: no clock read per message otherwise.
    const startedAt = this.#onDispatch ? this.transport.clock.now() : 0;
    let request: RpcRequest;
    try {
      // The decoded wire message holds the request fields beside the `_` keys: no split needed.
      request = readRequest(m.wire ?? m.message);
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'Rejected a malformed RPC request');
      return this.#then(this.#reply(m, null, err), () =>
        this.#observe(m, UNKNOWN_METHOD, 'refused', startedAt),
      );
    }
    const stopHeartbeat = this.#heartbeats(m);
    let result: unknown;
    try {
      result = this.dispatcher.invoke(m, request);
    } catch (err) {
      stopHeartbeat();
      return this.#failed(m, request, err, startedAt);
    }
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      // Only a method still running across turns is listed by name (what a kill would cut off).
      const method = request.method;
      this.#methods.set(method, (this.#methods.get(method) ?? 0) + 1);
      return Promise.resolve(result).then(
        (r) => {
          this.#untrack(method);
          stopHeartbeat();
          return this.#succeeded(m, request, r, startedAt);
        },
        (err: unknown) => {
          this.#untrack(method);
          stopHeartbeat();
          return this.#failed(m, request, err, startedAt);
        },
      );
    }
    stopHeartbeat();
    return this.#succeeded(m, request, result, startedAt);
  }

  #succeeded(
    m: IncomingMessage,
    request: RpcRequest,
    result: unknown,
    startedAt: number,
  ): Promise<void> | undefined {
    const observe = (): void => this.#observe(m, request.method, 'ok', startedAt);
    if (!m.isCall) {
      observe();
      return undefined;
    }
    return this.#then(this.#reply(m, result, undefined), observe);
  }

  #failed(
    m: IncomingMessage,
    request: RpcRequest,
    err: unknown,
    startedAt: number,
  ): Promise<void> | undefined {
    const notServed = err instanceof NoSuchMethod || err instanceof UnsupportedVersion;
    if (notServed || err instanceof InvalidRpcMessage) {
      this.#logger.warn(
        { method: request.method, err: err.message },
        'RPC request refused by the dispatcher',
      );
    } else {
      this.#logger.error({ err, method: request.method }, 'Exception during message handling');
    }
    return this.#then(this.#reply(m, null, err), () => {
      // An InvalidRpcMessage from dispatch() comes after the method was resolved: its name is served.
      if (notServed) this.#observe(m, UNKNOWN_METHOD, 'refused', startedAt);
      else if (err instanceof InvalidRpcMessage)
        this.#observe(m, request.method, 'refused', startedAt);
      else this.#observe(m, request.method, 'error', startedAt);
    });
  }

  /** `after` once `pending` settled (at once when nothing is pending). */
  #then(pending: Promise<void> | undefined, after: () => void): Promise<void> | undefined {
    if (pending === undefined) {
      after();
      return undefined;
    }
    return pending.then(after);
  }

  #observe(
    m: IncomingMessage,
    method: string,
    outcome: RpcDispatchEvent['outcome'],
    startedAt: number,
  ): void {
    const observer = this.#onDispatch;
    if (!observer) return;
    try {
      observer({
        method,
        outcome,
        duration: this.transport.clock.now() - startedAt,
        isCall: m.isCall,
      });
    } catch (err) {
      this.#logger.error({ err }, 'onDispatch observer failed');
    }
  }

  /**
   * Sends the reply of a call (nothing for a cast). Returns a promise only while the reply is not
   * written yet; never rejects (a failed reply is logged).
   */
  #reply(m: IncomingMessage, result: unknown, err: unknown): Promise<void> | undefined {
    if (!m.isCall) return undefined;
    let sent: Promise<void> | undefined;
    try {
      sent = m.reply(result, err === undefined ? null : serializeRemoteException(err));
    } catch (replyErr) {
      return this.#replyFailed(m, err, replyErr);
    }
    if (sent === undefined || sent === REPLIED) return undefined;
    return sent.then(undefined, (replyErr: unknown) => this.#replyFailed(m, err, replyErr));
  }

  #replyFailed(m: IncomingMessage, err: unknown, replyErr: unknown): Promise<void> | undefined {
    if (err === undefined && !(replyErr instanceof MessagingError)) {
      // The result could not be sent (not JSON-serializable): tell the caller instead of timing out.
      this.#logger.error({ err: replyErr }, 'Can not serialize reply; sending a failure instead');
      return this.#reply(m, null, replyErr);
    }
    this.#logger.error({ err: replyErr }, 'Can not send reply for message');
    return undefined;
  }

  /** Call monitor: a heartbeat reply every half `callMonitorTimeout` while the method runs. */
  #heartbeats(m: IncomingMessage): () => void {
    const t = m.callMonitorTimeout;
    if (!m.isCall || t === undefined || !Number.isInteger(t) || t < 2) return () => undefined;
    const clock = this.transport.clock;
    const abort = new AbortController();
    void (async () => {
      for (;;) {
        await clock.sleep(t / 2, abort.signal);
        await m.heartbeat();
      }
    })().catch((err: unknown) => {
      // The usual end: the call finished and aborted the sleep.
      if (!abort.signal.aborted)
        this.#logger.debug({ err: errorMessage(err) }, 'Call-monitor heartbeats stopped early');
    });
    return () => abort.abort();
  }
}

/** Builds an RPC server (oslo `get_rpc_server`); call `start()` to consume. */
export function getRpcServer(
  transport: Transport,
  target: Target | TargetFields,
  endpoints: readonly object[],
  options: RpcServerOptions = {},
): RpcServer {
  return new RpcServer(transport, target, endpoints, options);
}
