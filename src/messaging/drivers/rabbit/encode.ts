import { setOwn } from '../../json.js';
import { uuidHex } from './util.js';

/** JSON text as the contents of a JSON string (what JSON.stringify(text) puts between the quotes). */
const escapeJson = (text: string): string => JSON.stringify(text).slice(1, -1);

const contextFragments = new WeakMap<object, string>();

/** `,"_context_k":v...` for a context dict, escaped for the envelope; cached when the dict is frozen. */
function contextFragment(ctxt: Record<string, unknown>): string {
  let fragment = contextFragments.get(ctxt);
  if (fragment === undefined) {
    let raw = '';
    for (const [k, v] of Object.entries(ctxt)) {
      const value = JSON.stringify(v);
      if (value !== undefined) raw += `,${JSON.stringify(`_context_${k}`)}:${value}`;
    }
    fragment = escapeJson(raw);
    if (Object.isFrozen(ctxt)) contextFragments.set(ctxt, fragment);
  }
  return fragment;
}

/**
 * `encodeEnvelope({...head, _context_k: v, ...})`, byte for byte, without re-encoding the context:
 * escaping JSON text is character by character, so the escaped head and the cached escaped context
 * fragment can be joined.
 */
export function encodeRequestBody(
  head: Record<string, unknown>,
  ctxt: Record<string, unknown>,
): string {
  const open = JSON.stringify(head).slice(0, -1); // without the closing brace
  return `{"oslo.version":"2.0","oslo.message":"${escapeJson(open)}${contextFragment(ctxt)}}"}`;
}

/** The keys oslo.messaging writes first, in its order. */
const REQUEST_KEYS = ['method', 'args', 'namespace', 'version'] as const;

/** The reply address and call monitor of a call's request. */
export interface CallFields {
  readonly msgId: string;
  readonly replyQ: string;
  readonly callMonitorTimeout: number | undefined;
}

/**
 * The request body as oslo writes it: request keys, then driver keys (`_msg_id`, `_reply_q`,
 * `_timeout` for a call; a fresh `_unique_id`), then `_context_*` — the envelope of
 * `encodeEnvelope`, byte for byte. The `_context_*` part, already escaped for the outer JSON, is
 * cached per frozen context dict (the default serializer's), so a client sending with the same
 * context encodes it once.
 */
export function encodeRequest(
  message: Record<string, unknown>,
  ctxt: Record<string, unknown>,
  call: CallFields | undefined,
): string {
  const m: Record<string, unknown> = {};
  for (const k of REQUEST_KEYS) if (message[k] !== undefined) m[k] = message[k];
  for (const [k, v] of Object.entries(message))
    if (!Object.hasOwn(m, k) && v !== undefined) setOwn(m, k, v); // a `__proto__` key is data
  if (call) {
    m['_msg_id'] = call.msgId;
    m['_reply_q'] = call.replyQ;
    m['_timeout'] = call.callMonitorTimeout ?? null;
  }
  m['_unique_id'] = uuidHex();
  return encodeRequestBody(m, ctxt);
}

/**
 * A reply's body as oslo writes it, `encodeEnvelope({result, failure, ending, _msg_id, _unique_id})`
 * byte for byte, with the result encoded once (then escaped) instead of twice. Throws what
 * JSON.stringify throws for a result that is not JSON (the server then replies a failure).
 */
export function encodeReply(
  result: unknown,
  failure: string | null,
  ending: boolean,
  msgId: string,
): string {
  const value = JSON.stringify(result === undefined ? null : result) ?? 'null';
  const fail = failure === null ? 'null' : JSON.stringify(failure);
  const inner = `{"result":${value},"failure":${fail},"ending":${ending},"_msg_id":${JSON.stringify(msgId)},"_unique_id":"${uuidHex()}"}`;
  return `{"oslo.version":"2.0","oslo.message":"${escapeJson(inner)}"}`;
}
