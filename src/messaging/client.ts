import {
  InvalidRpcCall,
  InvalidRpcOption,
  InvalidTarget,
  type RequestContext,
  RPCVersionCapError,
  toError,
} from '../core/index.js';
import { isJsonObject, setOwn } from './json.js';
import { passesEntitiesThrough, RequestContextSerializer, type Serializer } from './serializer.js';
import { Target, type TargetFields } from './target.js';
import type { SendOptions } from './driver.js';
import type { Transport } from './transport.js';
import { checkMessageVersion, isCompatible } from './version.js';

/** Options of an {@link RpcClient}. */
export interface RpcClientOptions<C = RequestContext> {
  /** Call timeout in seconds; default the transport's `rpcResponseTimeout` (60). */
  timeout?: number;
  /** Highest version this client may send; calls above it throw {@link RPCVersionCapError}. */
  versionCap?: string;
  /** Call monitor: seconds (whole, >= 2) within which the server must send a heartbeat. */
  callMonitorTimeout?: number;
  /** How contexts and entities travel; default {@link RequestContextSerializer}. */
  serializer?: Serializer<C>;
}

/** What {@link RpcClient.prepare} may override. */
export interface PrepareOptions extends TargetFields {
  timeout?: number;
  versionCap?: string;
  callMonitorTimeout?: number;
}

const CAST: SendOptions = Object.freeze({ waitForReply: false });
const toVoid = (): void => undefined;

function validateClientOptions(o: RpcClientOptions<unknown>): void {
  if (o.timeout !== undefined && !(o.timeout > 0 && Number.isFinite(o.timeout))) {
    throw new InvalidRpcOption(
      `timeout must be a positive number of seconds, got ${String(o.timeout)}`,
    );
  }
  if (
    o.callMonitorTimeout !== undefined &&
    !(Number.isInteger(o.callMonitorTimeout) && o.callMonitorTimeout >= 2)
  ) {
    throw new InvalidRpcOption(
      `callMonitorTimeout must be a whole number of seconds >= 2, got ${String(o.callMonitorTimeout)}`,
    );
  }
  if (o.versionCap !== undefined) checkMessageVersion(o.versionCap);
}

/**
 * Sends RPCs to a target (oslo.messaging's `RPCClient`): `call` waits for the result, `cast` does not.
 * Methods are called remotely as `method(ctx, args)`.
 */
export class RpcClient<C = RequestContext> {
  readonly transport: Transport;
  readonly target: Target;
  readonly #options: Readonly<RpcClientOptions<C>>;
  readonly #serializer: Serializer<C>;
  /** The serializer passes entities through: arguments are sent as given, results returned as read. */
  readonly #passThrough: boolean;
  #sendOptions: SendOptions | undefined;

  constructor(
    transport: Transport,
    target: Target | TargetFields,
    options: RpcClientOptions<C> = {},
  ) {
    validateClientOptions(options);
    this.transport = transport;
    this.target = target instanceof Target ? target : new Target(target);
    if (this.target.version !== undefined) checkMessageVersion(this.target.version);
    this.#options = { ...options };
    this.#serializer =
      options.serializer ?? (new RequestContextSerializer() as unknown as Serializer<C>);
    this.#passThrough = passesEntitiesThrough(this.#serializer as Serializer<unknown>);
  }

  /** A client with some target fields or options replaced; the rest are inherited. */
  prepare(overrides: PrepareOptions): RpcClient<C> {
    const { timeout, versionCap, callMonitorTimeout, ...fields } = overrides;
    return new RpcClient<C>(this.transport, this.target.with(fields), {
      ...this.#options,
      serializer: this.#serializer,
      ...(timeout !== undefined ? { timeout } : {}),
      ...(versionCap !== undefined ? { versionCap } : {}),
      ...(callMonitorTimeout !== undefined ? { callMonitorTimeout } : {}),
    });
  }

  /** True if the version cap allows `version` (or this client's target version). */
  canSendVersion(version: string | undefined = this.target.version): boolean {
    const cap = this.#options.versionCap;
    return cap === undefined || version === undefined || isCompatible(cap, version);
  }

  /**
   * Calls `method` and returns its result. Throws {@link MessagingTimeout} without a reply in time,
   * `NoSuchMethod` / `UnsupportedVersion` as the dispatcher raised them, and {@link RemoteError} for
   * anything else the remote method threw.
   */
  call(ctx: C, method: string, args: Record<string, unknown> = {}): Promise<unknown> {
    let sent: Promise<unknown>;
    try {
      if (this.target.fanout)
        throw new InvalidTarget('A call cannot be used with fanout', this.target);
      const { ctxt, message } = this.#build(ctx, method, args);
      sent = this.transport.driver.send(this.target, ctxt, message, this.#callOptions());
    } catch (err) {
      return Promise.reject(toError(err));
    }
    if (this.#passThrough) return sent;
    return sent.then((result) => this.#serializer.deserializeEntity(ctx, result));
  }

  /** Sends `method` without waiting for it to run (to every server when the target is fanout). */
  cast(ctx: C, method: string, args: Record<string, unknown> = {}): Promise<void> {
    let sent: Promise<unknown>;
    try {
      const { ctxt, message } = this.#build(ctx, method, args);
      sent = this.transport.driver.send(this.target, ctxt, message, CAST);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    return sent.then(toVoid);
  }

  /** The send options of a call (built once: the options and the transport's timeout are fixed). */
  #callOptions(): SendOptions {
    this.#sendOptions ??= {
      waitForReply: true,
      timeout: this.#options.timeout ?? this.transport.rpcResponseTimeout,
      ...(this.#options.callMonitorTimeout !== undefined
        ? { callMonitorTimeout: this.#options.callMonitorTimeout }
        : {}),
    };
    return this.#sendOptions;
  }

  #build(ctx: C, method: string, args: Record<string, unknown>) {
    const t = this.target;
    if (!t.topic) throw new InvalidTarget('A topic is required to send', t);
    if (typeof method !== 'string' || method === '')
      throw new InvalidRpcCall('method must be a non-empty string');
    if (!isJsonObject(args))
      throw new InvalidRpcCall(`args of ${method} must be a plain object of named arguments`);
    if (
      t.version !== undefined &&
      this.#options.versionCap !== undefined &&
      !isCompatible(this.#options.versionCap, t.version)
    ) {
      throw new RPCVersionCapError(t.version, this.#options.versionCap);
    }
    let serialized = args;
    if (!this.#passThrough) {
      serialized = {};
      // Argument names are data: `__proto__` stays an own key, never the copy's prototype.
      for (const [k, v] of Object.entries(args))
        setOwn(serialized, k, this.#serializer.serializeEntity(ctx, v));
    }
    const message: Record<string, unknown> = { method, args: serialized };
    if (t.namespace !== undefined) message['namespace'] = t.namespace;
    if (t.version !== undefined) message['version'] = t.version;
    return { ctxt: this.#serializer.serializeContext(ctx), message };
  }
}
