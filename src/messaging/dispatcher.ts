import {
  InvalidRpcMessage,
  NoSuchMethod,
  RequestContext,
  UnsupportedVersion,
} from '../core/index.js';
import {
  DefaultRpcAccessPolicy,
  ExplicitRpcAccessPolicy,
  type RpcAccessPolicy,
} from './access-policy.js';
import { isJsonObject, setOwn } from './json.js';
import {
  isStockContextSerializer,
  passesEntitiesThrough,
  RequestContextSerializer,
  type Serializer,
} from './serializer.js';
import { Target } from './target.js';
import { isCompatible } from './version.js';

/** A request as the dispatcher reads it. */
export interface RpcRequest {
  method: string;
  args: Record<string, unknown>;
  namespace: string | null;
  version: string;
}

/** Checks the request fields of a decoded message; anything mistyped is an {@link InvalidRpcMessage}. */
export function readRequest(message: Record<string, unknown>): RpcRequest {
  const { method, args = {}, namespace = null, version = '1.0' } = message;
  if (typeof method !== 'string' || method === '')
    throw new InvalidRpcMessage('method must be a non-empty string');
  if (!isJsonObject(args)) throw new InvalidRpcMessage(`args of ${method} must be a JSON object`);
  if (namespace !== null && typeof namespace !== 'string')
    throw new InvalidRpcMessage('namespace must be a string or null');
  if (typeof version !== 'string' || !/^\d+\.\d+(\.\d+)?$/.test(version)) {
    throw new InvalidRpcMessage(
      `version must look like major.minor, got ${JSON.stringify(version)}`,
    );
  }
  return { method, args, namespace, version };
}

type Method = (...args: unknown[]) => unknown;

/** Where the dispatcher reads a request's context from (an {@link IncomingMessage} is one). */
export interface ContextSource {
  /** The context dict (`_context_*` entries, unprefixed). */
  readonly ctxt: Record<string, unknown>;
  /** The whole decoded request, `_context_*` keys included, when the driver has it. */
  readonly wire?: Readonly<Record<string, unknown>> | undefined;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';

interface EndpointEntry {
  readonly endpoint: object;
  readonly namespace: string | null;
  readonly version: string;
  /** Methods the (built-in) policy resolved, by name; only found ones, so bounded by the class. */
  readonly methods: Map<string, Method> | undefined;
}

/** The built-in policies answer the same for the same class and name: their answers can be kept. */
function cacheable(policy: RpcAccessPolicy): boolean {
  const c = (policy as { constructor?: unknown }).constructor;
  return c === DefaultRpcAccessPolicy || c === ExplicitRpcAccessPolicy;
}

/** Options of {@link RpcDispatcher}. */
export interface RpcDispatcherOptions {
  accessPolicy?: RpcAccessPolicy;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the context type is the serializer's
  serializer?: Serializer<any>;
}

/**
 * oslo's `RPCDispatcher`: endpoints in order; the first whose target's namespace matches and whose
 * version is compatible, and which has the method (as the access policy sees it), is called as
 * `method(ctx, args)`. Candidates without the method → {@link NoSuchMethod}; no candidate →
 * {@link UnsupportedVersion}.
 */
export class RpcDispatcher {
  readonly #endpoints: readonly EndpointEntry[];
  readonly #policy: RpcAccessPolicy;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the context type is the serializer's
  readonly serializer: Serializer<any>;
  /** The stock serializer: contexts are read straight from the wire's `_context_*` keys. */
  readonly #stockContexts: boolean;
  /** Entities pass through the serializer unchanged: arguments and results are not copied. */
  readonly #passThrough: boolean;

  constructor(endpoints: readonly object[], options: RpcDispatcherOptions = {}) {
    this.#policy = options.accessPolicy ?? new DefaultRpcAccessPolicy();
    // A custom policy may change its mind; the built-in ones only depend on the endpoint's classes
    // (whose prototypes are not expected to change while serving).
    const cache = cacheable(this.#policy);
    this.#endpoints = endpoints.map((endpoint) => {
      const target = (endpoint as { target?: unknown }).target;
      const t = target instanceof Target ? target : new Target();
      return {
        endpoint,
        namespace: t.namespace ?? null,
        version: t.version ?? '1.0',
        methods: cache ? new Map<string, Method>() : undefined,
      };
    });
    this.serializer = options.serializer ?? new RequestContextSerializer();
    this.#stockContexts = isStockContextSerializer(this.serializer);
    this.#passThrough = passesEntitiesThrough(this.serializer);
  }

  #resolve(e: EndpointEntry, method: string): Method | undefined {
    let fn = e.methods?.get(method);
    if (fn === undefined) {
      fn = this.#policy.resolve(e.endpoint, method);
      if (fn !== undefined) e.methods?.set(method, fn);
    }
    return fn;
  }

  /** Dispatches one request; resolves with the serialized result, rejects with what the method threw. */
  async dispatch(ctxDict: Record<string, unknown>, request: RpcRequest): Promise<unknown> {
    return this.invoke({ ctxt: ctxDict }, request);
  }

  /**
   * {@link dispatch} as a server runs it: the context from `source` (straight from the wire's
   * `_context_*` keys with the stock serializer), and no promise of its own — the serialized
   * result of a method that returned a value, a promise of it for one that returned a promise;
   * throws what the method (or the lookup) threw synchronously.
   */
  invoke(source: ContextSource, request: RpcRequest): unknown {
    const { method, namespace, version } = request;
    let candidate = false;
    for (const e of this.#endpoints) {
      if (e.namespace !== namespace || !isCompatible(e.version, version)) continue;
      const fn = this.#resolve(e, method);
      if (fn === undefined) {
        candidate = true;
        continue;
      }
      const wire = source.wire;
      const ctx: unknown =
        this.#stockContexts && wire !== undefined
          ? RequestContext.fromPrefixed(wire)
          : this.serializer.deserializeContext(source.ctxt);
      if (this.#passThrough) return fn.call(e.endpoint, ctx, request.args);
      const args: Record<string, unknown> = {};
      // Argument names are data: `__proto__` stays an own key, never the copy's prototype.
      for (const k of Object.keys(request.args))
        setOwn(args, k, this.serializer.deserializeEntity(ctx, request.args[k]));
      const result = fn.call(e.endpoint, ctx, args);
      return isThenable(result)
        ? Promise.resolve(result).then((r) => this.serializer.serializeEntity(ctx, r))
        : this.serializer.serializeEntity(ctx, result);
    }
    if (candidate) throw new NoSuchMethod(method);
    throw new UnsupportedVersion(version, method);
  }
}
