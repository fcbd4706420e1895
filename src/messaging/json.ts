import { InvalidRpcMessage } from '../core/index.js';

/**
 * JSON.parse for text from the wire. Every key is data and is kept, `__proto__`, `constructor` and
 * `prototype` included: JSON.parse defines each key as an own data property (CreateDataProperty), so
 * a `{"__proto__": …}` in the text becomes an own property named `__proto__` of a plain object,
 * never its prototype, and nothing is polluted. What must never meet such a key is code that copies
 * by assignment (`o[k] = v` with `k === '__proto__'` sets `o`'s prototype) or `Object.assign`: copy
 * with {@link setOwn}, spread or `structuredClone` instead. Throws {@link InvalidRpcMessage} for text
 * that is not JSON.
 */
export function parseWireJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidRpcMessage(`Message is not valid JSON: ${(err as Error).message}`);
  }
}

/** `o[key] = value` made safe for keys from the wire (core's, shared with the context). */
export { setOwn } from '../core/context.js';

/** A plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
