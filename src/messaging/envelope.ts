import { InvalidRpcMessage, UnsupportedRpcEnvelopeVersion } from '../core/index.js';
import { isJsonObject, parseWireJson } from './json.js';
import { isCompatible } from './version.js';

/** The envelope version this implementation writes and reads (oslo.messaging `_RPC_ENVELOPE_VERSION`). */
export const ENVELOPE_VERSION = '2.0';
const VERSION_KEY = 'oslo.version';
const MESSAGE_KEY = 'oslo.message';

/**
 * The AMQP body of any RPC message: `{"oslo.version": "2.0", "oslo.message": "<JSON text>"}` — the
 * inner message is JSON text inside JSON (double-encoded), as oslo.messaging sends it.
 */
export function encodeEnvelope(message: Record<string, unknown>): string {
  return JSON.stringify({
    [VERSION_KEY]: ENVELOPE_VERSION,
    [MESSAGE_KEY]: JSON.stringify(message),
  });
}

/**
 * Reads a body: an envelope must be of a compatible version and wrap a JSON object; a body without
 * both envelope keys is a legacy (1.0) message and is used as is. Throws {@link InvalidRpcMessage} or
 * {@link UnsupportedRpcEnvelopeVersion}; never returns anything but a plain object.
 */
export function decodeEnvelope(body: string): Record<string, unknown> {
  const outer = parseWireJson(body);
  if (!isJsonObject(outer)) throw new InvalidRpcMessage('Message body is not a JSON object');
  if (!(VERSION_KEY in outer && MESSAGE_KEY in outer)) return outer;
  const version = outer[VERSION_KEY];
  if (typeof version !== 'string') throw new InvalidRpcMessage(`${VERSION_KEY} is not a string`);
  let compatible: boolean;
  try {
    compatible = isCompatible(ENVELOPE_VERSION, version);
  } catch {
    compatible = false;
  }
  if (!compatible) throw new UnsupportedRpcEnvelopeVersion(version);
  const inner = outer[MESSAGE_KEY];
  if (typeof inner !== 'string') throw new InvalidRpcMessage(`${MESSAGE_KEY} is not a string`);
  const message = parseWireJson(inner);
  if (!isJsonObject(message)) throw new InvalidRpcMessage(`${MESSAGE_KEY} is not a JSON object`);
  return message;
}

/** Splits `_context_*` keys off a request, as the receiving driver does. */
export function popContext(message: Record<string, unknown>): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  for (const key of Object.keys(message)) {
    if (key.startsWith('_context_')) {
      const name = key.slice(9);
      // `_context___proto__` must not become the dict's prototype.
      if (name !== '__proto__') ctx[name] = message[key];
      delete message[key];
    }
  }
  return ctx;
}
