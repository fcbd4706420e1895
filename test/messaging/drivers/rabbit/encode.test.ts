import { describe, expect, it } from 'vitest';
import { RequestContext } from '../../../../src/core/index.js';
import { encodeRequestBody } from '../../../../src/messaging/drivers/rabbit/encode.js';
import { encodeEnvelope, RequestContextSerializer } from '../../../../src/messaging/index.js';

const withContext = (head: Record<string, unknown>, ctxt: Record<string, unknown>) => {
  const m: Record<string, unknown> = { ...head };
  for (const [k, v] of Object.entries(ctxt)) m[`_context_${k}`] = v;
  return m;
};

describe('encodeRequestBody', () => {
  it('is byte-identical to encodeEnvelope of the whole message, cached or not', () => {
    const ctx = new RequestContext({
      userId: 'ü☃ "quoted" \\ back',
      roles: ['a', 'b'],
      authToken: 't\n1',
    });
    const frozen = new RequestContextSerializer().serializeContext(ctx);
    const plain = { ...frozen, extra: { nested: [1, null, 'x'] }, gone: undefined };
    const head = {
      method: 'update_vim',
      args: { vim_id: 'v', status: 'é\u2028' },
      version: '1.0',
      _msg_id: 'm',
      _unique_id: 'u',
    };
    for (const ctxt of [frozen, frozen, plain, {}]) {
      expect(encodeRequestBody(head, ctxt)).toBe(encodeEnvelope(withContext(head, ctxt)));
    }
  });
});
