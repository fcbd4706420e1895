import { describe, expect, it } from 'vitest';
import { RequestContext } from '../../../../src/core/index.js';
import { encodeReply, encodeRequestBody } from '../../../../src/messaging/drivers/rabbit/encode.js';
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

describe('encodeReply', () => {
  it('is byte-identical to encodeEnvelope of the reply, whatever the result holds', () => {
    const results: unknown[] = [
      'x',
      'ü☃ "quoted" \\ back\n\u2028',
      { a: [1, null, 'é'], b: { c: true } },
      null,
      0,
      [],
    ];
    for (const result of results) {
      for (const failure of [null, '{"class": "ValueError", "message": "bad \\"v\\""}']) {
        for (const ending of [true, false]) {
          const body = encodeReply(result, failure, ending, 'msg-"1"');
          const { _unique_id: uid } = JSON.parse(
            (JSON.parse(body) as Record<string, string>)['oslo.message'] as string,
          ) as { _unique_id: string };
          expect(uid).toMatch(/^[0-9a-f]{32}$/);
          expect(body).toBe(
            encodeEnvelope({ result, failure, ending, _msg_id: 'msg-"1"', _unique_id: uid }),
          );
        }
      }
    }
  });

  it('writes undefined as null, and throws for what JSON cannot carry', () => {
    expect(
      JSON.parse(JSON.parse(encodeReply(undefined, null, true, 'm'))['oslo.message']),
    ).toMatchObject({
      result: null,
    });
    expect(() => encodeReply(1n, null, true, 'm')).toThrow();
  });
});
