import type { Target } from './target.js';

/** What a driver's `reply()` returns when the reply was written at once (no promise of its own). */
export const REPLIED: Promise<void> = Promise.resolve();

/** How a message is sent. */
export interface SendOptions {
  /** A call: wait for the reply and return its result (or throw its failure). */
  readonly waitForReply: boolean;
  /** Seconds to wait for the reply (calls only). */
  readonly timeout?: number;
  /**
   * Call monitor: seconds within which the server must show it is still working (it sends heartbeat
   * replies every half of this); the call fails early without one. Calls only; whole seconds >= 2.
   */
  readonly callMonitorTimeout?: number;
}

/** A request handed to an RPC server by its driver, after the envelope was read. */
export interface IncomingMessage {
  /** The `_context_*` entries, without the prefix. */
  readonly ctxt: Record<string, unknown>;
  /** The request fields (`method`, `args`, `namespace`, `version`), not yet checked. */
  readonly message: Record<string, unknown>;
  /**
   * The decoded request as it came off an oslo wire, when the driver has it: the request fields
   * beside the driver's `_` keys and the `_context_*` keys. A server with the stock serializer
   * reads the fields and builds the context straight from it, and never asks for
   * {@link ctxt} and {@link message} (which the driver may split from it only when asked).
   */
  readonly wire?: Readonly<Record<string, unknown>>;
  /** True for a call (a reply is expected). */
  readonly isCall: boolean;
  /** The caller's call-monitor timeout, if it asked for heartbeats. */
  readonly callMonitorTimeout: number | undefined;
  /** Takes the message off the queue for good (at-most-once: done before the endpoint runs). */
  acknowledge(): void;
  /** Gives the message back to the queue untouched (a server stopping before dispatching it). */
  requeue(): void;
  /**
   * Sends the reply of a call (no-op for a cast). `failure` is the encoded remote failure. A driver
   * that wrote the reply at once may return {@link REPLIED}; a result that cannot be encoded may
   * throw or reject.
   */
  reply(result: unknown, failure: string | null): Promise<void>;
  /** Sends a call-monitor heartbeat reply (no-op for a cast). */
  heartbeat(): Promise<void>;
}

/** Options of a listener. */
export interface ListenOptions {
  /** Messages delivered but not yet acknowledged, at most (the server's `prefetch`). */
  readonly prefetch: number;
}

/** A driver's subscription on a target (shared queue, per-server queue and fanout). */
export interface DriverListener {
  /** Stops consuming; deliveries that arrive afterwards are requeued. Idempotent. */
  stop(): Promise<void>;
  /**
   * Deliveries the listener itself returned to the queue while stopping (they never reached the
   * server); absent for a listener that hands everything to the server.
   */
  readonly requeued?: number;
}

/** What a transport needs of a messaging backend (memory, RabbitMQ). */
export interface Driver {
  /** Sends a request; for a call resolves with the (unchecked) result or rejects with the failure. */
  send(
    target: Target,
    ctxt: Record<string, unknown>,
    message: Record<string, unknown>,
    options: SendOptions,
  ): Promise<unknown>;
  /** Consumes the queues of a server's target, calling `onMessage` for each valid request. */
  listen(
    target: Target,
    onMessage: (message: IncomingMessage) => void,
    options: ListenOptions,
  ): Promise<DriverListener>;
  /** True while the driver can reach its broker. */
  readonly connected: boolean;
  /** Closes every connection; pending calls fail. */
  close(): Promise<void>;
}
