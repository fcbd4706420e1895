/**
 * Marks a framework base class whose methods must never be callable over RPC (`runPeriodicTasks`,
 * `initHost`, ...). Set as an *own* static property (`static readonly [FRAMEWORK_BASE] = true`), so a
 * user's subclass is not marked by inheritance. Lives in core so any layer can mark its classes
 * without importing messaging.
 */
export const FRAMEWORK_BASE: unique symbol = Symbol.for('conductor-ts.frameworkBase');

/** True if `proto` is the prototype of a class marked with {@link FRAMEWORK_BASE}. */
export function isFrameworkPrototype(proto: object): boolean {
  const ctor = Object.hasOwn(proto, 'constructor')
    ? (proto as { constructor: unknown }).constructor
    : undefined;
  return typeof ctor === 'function' && Object.hasOwn(ctor, FRAMEWORK_BASE);
}
