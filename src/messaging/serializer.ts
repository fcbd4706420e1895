import { RequestContext } from '../core/index.js';

/**
 * Turns entities (arguments, results) and the request context into JSON-ready values and back
 * (oslo.messaging's `Serializer`). The serializer decides what a context is: endpoints receive what
 * `deserializeContext` returns, clients pass what `serializeContext` takes.
 */
export interface Serializer<C = RequestContext> {
  serializeEntity(ctx: C, entity: unknown): unknown;
  deserializeEntity(ctx: C, entity: unknown): unknown;
  serializeContext(ctx: C): Record<string, unknown>;
  deserializeContext(dict: Record<string, unknown>): C;
}

/**
 * Tacker's `RequestContextSerializer`: entities pass through (or through `base`), the context travels
 * as its dict form (`_context_*` keys on the wire).
 */
// Contexts are immutable, so a context's wire dict can be built once, and a dict that comes back by
// identity (memory://) maps to the context it was made from.
const wireDicts = new WeakMap<RequestContext, Readonly<Record<string, unknown>>>();
const contexts = new WeakMap<object, RequestContext>();

export class RequestContextSerializer implements Serializer {
  readonly #base: Pick<Serializer, 'serializeEntity' | 'deserializeEntity'> | undefined;

  constructor(base?: Pick<Serializer, 'serializeEntity' | 'deserializeEntity'>) {
    this.#base = base;
  }

  /** True when entities go through a `base` serializer (else they pass unchanged). */
  get hasBase(): boolean {
    return this.#base !== undefined;
  }

  serializeEntity(ctx: RequestContext, entity: unknown): unknown {
    return this.#base ? this.#base.serializeEntity(ctx, entity) : entity;
  }

  deserializeEntity(ctx: RequestContext, entity: unknown): unknown {
    return this.#base ? this.#base.deserializeEntity(ctx, entity) : entity;
  }

  /** The context's dict form, built once per context and frozen (drivers only read it). */
  serializeContext(ctx: RequestContext): Record<string, unknown> {
    let dict = wireDicts.get(ctx);
    if (!dict) {
      dict = Object.freeze(ctx.toDict() as unknown as Record<string, unknown>);
      wireDicts.set(ctx, dict);
      contexts.set(dict, ctx);
    }
    return dict as Record<string, unknown>;
  }

  deserializeContext(dict: Record<string, unknown>): RequestContext {
    return contexts.get(dict) ?? RequestContext.fromDict(dict);
  }
}

/**
 * True when `s` is the stock {@link RequestContextSerializer} (not a subclass): its contexts can be
 * read straight from a request's `_context_*` keys.
 */
export function isStockContextSerializer(s: Serializer<unknown>): boolean {
  return s instanceof RequestContextSerializer && s.constructor === RequestContextSerializer;
}

/**
 * True when `s` passes entities through unchanged (the stock {@link RequestContextSerializer}
 * without a `base`): arguments and results need no copy.
 */
export function passesEntitiesThrough(s: Serializer<unknown>): boolean {
  return isStockContextSerializer(s) && !(s as RequestContextSerializer).hasBase;
}

/**
 * Contexts as plain dicts, passed through unchanged (what oslo's test servers use). The dicts are
 * copied with spread, which defines each key: a `__proto__` key stays an own data property.
 */
export class DictContextSerializer implements Serializer<Record<string, unknown>> {
  serializeEntity(_ctx: Record<string, unknown>, entity: unknown): unknown {
    return entity;
  }

  deserializeEntity(_ctx: Record<string, unknown>, entity: unknown): unknown {
    return entity;
  }

  serializeContext(ctx: Record<string, unknown>): Record<string, unknown> {
    return { ...ctx };
  }

  deserializeContext(dict: Record<string, unknown>): Record<string, unknown> {
    return { ...dict };
  }
}
