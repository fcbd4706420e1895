import { InvalidRpcMessage } from '../core/index.js';

const dropProto = (key: string, value: unknown): unknown =>
  key === '__proto__' ? undefined : value;

/**
 * JSON.parse for text from the wire: `__proto__` keys are dropped, so nothing built from the result
 * by spreading or assignment can reach a prototype. (JSON.parse itself never pollutes; later merges
 * do.) The fast path skips the reviver when the text cannot contain such a key.
 */
export function parseWireJson(text: string): unknown {
  try {
    return text.includes('__proto__') ? JSON.parse(text, dropProto) : JSON.parse(text);
  } catch (err) {
    throw new InvalidRpcMessage(`Message is not valid JSON: ${(err as Error).message}`);
  }
}

/** A plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
