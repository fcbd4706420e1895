import { InvalidRpcMessage, UnsupportedRpcEnvelopeVersion } from '../core/index.js';
import { isJsonObject, parseWireJson, setOwn } from './json.js';
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

const CONTEXT_PREFIX = '_context_';
/**
 * `_context_k` -> `k` for the context keys seen, so that each request does not slice ~23 new
 * strings. Bounded in count and key length: wire keys are arbitrary.
 */
const contextNames = new Map<string, string>();
const CONTEXT_NAMES_MAX = 512;
const CONTEXT_NAME_MAX_LENGTH = 64;

function contextName(key: string): string {
  let name = contextNames.get(key);
  if (name === undefined) {
    name = key.slice(CONTEXT_PREFIX.length);
    if (contextNames.size < CONTEXT_NAMES_MAX && key.length <= CONTEXT_NAME_MAX_LENGTH)
      contextNames.set(key, name);
  }
  return name;
}

/**
 * Splits a decoded request in one pass into its fields (without `dropKeys`) and its context (the
 * `_context_*` entries, unprefixed). Fresh objects: deleting ~27 keys in place would push the
 * message into dictionary mode. Every key is data: `__proto__` (a field) and `_context___proto__`
 * (the context key `__proto__`) are kept as own properties, never set as a prototype.
 */
export function splitRequest(
  message: Record<string, unknown>,
  dropKeys: readonly string[] = [],
): { message: Record<string, unknown>; ctxt: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  const ctxt: Record<string, unknown> = {};
  for (const key of Object.keys(message)) {
    if (key.startsWith(CONTEXT_PREFIX)) {
      setOwn(ctxt, contextName(key), message[key]);
    } else if (!dropKeys.includes(key)) {
      setOwn(fields, key, message[key]);
    }
  }
  return { message: fields, ctxt };
}

/** Splits `_context_*` keys off a request in place, returning the context. */
export function popContext(message: Record<string, unknown>): Record<string, unknown> {
  const { ctxt } = splitRequest(message);
  for (const key of Object.keys(message)) if (key.startsWith(CONTEXT_PREFIX)) delete message[key];
  return ctxt;
}
