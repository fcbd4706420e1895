import { ForbiddenRpcMethod, isFrameworkPrototype } from '../core/index.js';

/** Decides whether an RPC may call `method` on `endpoint`. */
export interface RpcAccessPolicy {
  /** The function to call, or undefined when the method does not exist or may not be called. */
  resolve(endpoint: object, method: string): ((...args: unknown[]) => unknown) | undefined;
}

// Never callable, whatever a policy says: names Object.prototype or Function.prototype own.
const FORBIDDEN = new Set<string>([
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Function.prototype),
  'constructor',
  'prototype',
  'then',
]);

/**
 * Finds `name` as a method the endpoint's own classes define: a plain function on a prototype in its
 * chain below `Object.prototype` whose name no framework base class in the chain defines (an override
 * of a framework hook is not callable either). Getters and setters, instance properties
 * (arrow-function fields, data), statics and private `#methods` are never found.
 */
function findOwnClassMethod(
  endpoint: object,
  name: string,
): ((...args: unknown[]) => unknown) | undefined {
  if (FORBIDDEN.has(name) || name.startsWith('_')) return undefined;
  let found: ((...args: unknown[]) => unknown) | undefined;
  let seen = false;
  for (
    let proto = Object.getPrototypeOf(endpoint) as object | null;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    // A framework hook (initHost, ...) stays private even where a subclass overrides it.
    if (isFrameworkPrototype(proto)) {
      if (desc !== undefined) return undefined;
      continue;
    }
    if (desc === undefined || seen) continue;
    seen = true;
    found =
      typeof desc.value === 'function'
        ? (desc.value as (...args: unknown[]) => unknown)
        : undefined;
  }
  return found;
}

/**
 * The default policy: public methods of the endpoint's own classes only — never `constructor`, a
 * `_name`, an `Object.prototype` member, a getter, a non-function property, or a method of a framework
 * base class such as `PeriodicTasks` or `Manager`. (oslo's default only refused `_` names, so a Tacker
 * conductor served `run_periodic_tasks` and `init_host` to anyone on the bus.)
 */
export class DefaultRpcAccessPolicy implements RpcAccessPolicy {
  resolve(endpoint: object, method: string): ((...args: unknown[]) => unknown) | undefined {
    return findOwnClassMethod(endpoint, method);
  }
}

/**
 * Only the listed method names, each of which must still pass every rule of the default policy.
 */
export class ExplicitRpcAccessPolicy implements RpcAccessPolicy {
  readonly #allowed: ReadonlySet<string>;

  constructor(allowed: Iterable<string>) {
    this.#allowed = new Set(allowed);
    for (const name of this.#allowed) {
      if (typeof name !== 'string' || FORBIDDEN.has(name) || name.startsWith('_')) {
        throw new ForbiddenRpcMethod(String(name));
      }
    }
  }

  resolve(endpoint: object, method: string): ((...args: unknown[]) => unknown) | undefined {
    return this.#allowed.has(method) ? findOwnClassMethod(endpoint, method) : undefined;
  }
}
