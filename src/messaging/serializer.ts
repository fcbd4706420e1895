import { RequestContext } from '../core/index.js';

/**
 * Turns entities (arguments, results) and the request context into JSON-ready values and back
 * (oslo.messaging's `Serializer`).
 */
export interface Serializer {
  serializeEntity(ctx: RequestContext, entity: unknown): unknown;
  deserializeEntity(ctx: RequestContext, entity: unknown): unknown;
  serializeContext(ctx: RequestContext): Record<string, unknown>;
  deserializeContext(dict: Record<string, unknown>): RequestContext;
}

/**
 * Tacker's `RequestContextSerializer`: entities pass through (or through `base`), the context travels
 * as its dict form (`_context_*` keys on the wire).
 */
export class RequestContextSerializer implements Serializer {
  readonly #base: Pick<Serializer, 'serializeEntity' | 'deserializeEntity'> | undefined;

  constructor(base?: Pick<Serializer, 'serializeEntity' | 'deserializeEntity'>) {
    this.#base = base;
  }

  serializeEntity(ctx: RequestContext, entity: unknown): unknown {
    return this.#base ? this.#base.serializeEntity(ctx, entity) : entity;
  }

  deserializeEntity(ctx: RequestContext, entity: unknown): unknown {
    return this.#base ? this.#base.deserializeEntity(ctx, entity) : entity;
  }

  serializeContext(ctx: RequestContext): Record<string, unknown> {
    return ctx.toDict() as unknown as Record<string, unknown>;
  }

  deserializeContext(dict: Record<string, unknown>): RequestContext {
    return RequestContext.fromDict(dict);
  }
}
