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
