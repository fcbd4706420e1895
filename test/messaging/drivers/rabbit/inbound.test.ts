import { describe, expect, it } from 'vitest';
import { readInbound, readReply } from '../../../../src/messaging/drivers/rabbit/inbound.js';

const MAX = 1024 * 1024;
const env = (inner: unknown, version: unknown = '2.0'): Buffer =>
  Buffer.from(JSON.stringify({ 'oslo.version': version, 'oslo.message': JSON.stringify(inner) }));

describe('rabbit inbound requests', () => {
  it('splits a call into request fields, context and reply address', () => {
    const r = readInbound(
      env({
        method: 'echo',
        args: { a: 1 },
        version: '1.0',
        _msg_id: 'm1',
        _reply_q: 'reply_x',
        _timeout: 4,
        _unique_id: 'u1',
        _context_user_id: 'u',
        _context_roles: ['admin'],
        _other: 1,
      }),
      MAX,
    );
    expect(r).toMatchObject({
      ok: true,
      reply: { msgId: 'm1', replyQ: 'reply_x' },
      callMonitorTimeout: 4,
      uniqueId: 'u1',
    });
    if (!r.ok) throw new Error('not ok');
    // The decoded message as it came; the split is made on first use, once.
    expect(Object.keys(r.wire)).toHaveLength(10);
    expect(r.message).toEqual({ method: 'echo', args: { a: 1 }, version: '1.0', _other: 1 });
    expect(r.ctxt).toEqual({ user_id: 'u', roles: ['admin'] });
    expect(r.message).toBe(r.message);
  });

  it('reads a cast (no or null _msg_id) and a legacy body without envelope', () => {
    const cast = readInbound(env({ method: 'm', args: {}, _msg_id: null, _unique_id: 'u' }), MAX);
    expect(cast).toMatchObject({ ok: true, reply: undefined, uniqueId: 'u' });
    const legacy = readInbound(Buffer.from(JSON.stringify({ method: 'm', args: {} })), MAX);
    expect(legacy).toMatchObject({
      ok: true,
      message: { method: 'm', args: {} },
      reply: undefined,
    });
  });

  it('ignores a malformed _timeout or _unique_id', () => {
    const r = readInbound(env({ method: 'm', _timeout: 'soon', _unique_id: [1] }), MAX);
    expect(r).toMatchObject({ ok: true, callMonitorTimeout: undefined, uniqueId: undefined });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[1]', /not a JSON object/],
    [JSON.stringify({ 'oslo.version': 2, 'oslo.message': '{}' }), /oslo.version is not a string/],
    [JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': 5 }), /oslo.message is not a string/],
    [JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': 'null' }), /not a JSON object/],
    [JSON.stringify({ 'oslo.version': '3.0', 'oslo.message': '{}' }), /Envelope version 3.0/],
  ])('rejects %s', (body, reason) => {
    const r = readInbound(Buffer.from(body), MAX);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(reason);
  });

  it('rejects bad reply addresses, and keeps the address of an undecodable request when it can', () => {
    expect(readInbound(env({ method: 'm', _msg_id: 7, _reply_q: 'q' }), MAX)).toMatchObject({
      ok: false,
      reply: undefined,
    });
    expect(readInbound(env({ method: 'm', _msg_id: 'id' }), MAX)).toMatchObject({ ok: false });
    expect(
      readInbound(env({ method: 'm', _msg_id: 'id', _reply_q: 'q'.repeat(256) }), MAX),
    ).toMatchObject({
      ok: false,
    });
    const r = readInbound(env({ method: 'm', _msg_id: 'id', _reply_q: 'q' }, '9.0'), MAX);
    expect(r).toMatchObject({ ok: false, reply: { msgId: 'id', replyQ: 'q' } });
    if (!r.ok) expect(r.error.code).toBe('CONDUCTOR_RPC_UNSUPPORTED_ENVELOPE');
  });

  it('rejects a body over the size limit unread', () => {
    const r = readInbound(Buffer.alloc(2048, 0x20), 1024);
    expect(r).toMatchObject({ ok: false, reply: undefined });
    if (!r.ok)
      expect(r.error.message).toMatch(/2048 bytes exceeds rabbit_max_message_size \(1024\)/);
  });

  it('carries __proto__ keys as data and never lets them reach a prototype', () => {
    const body = Buffer.from(
      JSON.stringify({
        'oslo.version': '2.0',
        'oslo.message':
          '{"__proto__": {"a": 1}, "method": "m", "_context___proto__": {"is_admin": true}, "_context_x": 1}',
      }),
    );
    const r = readInbound(body, MAX);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // Carried as data (own keys, in order), never set as a prototype.
    expect(Object.getPrototypeOf(r.message)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(r.ctxt)).toBe(Object.prototype);
    expect(Object.keys(r.message)).toEqual(['__proto__', 'method']);
    expect(Object.getOwnPropertyDescriptor(r.message, '__proto__')?.value).toEqual({ a: 1 });
    expect((r.message as { a?: unknown }).a).toBeUndefined();
    expect((r.ctxt as { is_admin?: unknown }).is_admin).toBeUndefined();
    expect(Object.keys(r.ctxt)).toEqual(['__proto__', 'x']);
    expect(JSON.stringify(r.ctxt)).toBe('{"__proto__":{"is_admin":true},"x":1}');
    expect(({} as Record<string, unknown>)['a']).toBeUndefined();
    expect(({} as Record<string, unknown>)['is_admin']).toBeUndefined();
  });
});

describe('rabbit inbound replies', () => {
  it('reads results, failures and heartbeats', () => {
    expect(readReply(env({ result: 1, failure: null, ending: true, _msg_id: 'm' }), MAX)).toEqual({
      msgId: 'm',
      ending: true,
      result: 1,
      failure: null,
    });
    expect(
      readReply(env({ result: null, failure: null, ending: false, _msg_id: 'm' }), MAX).ending,
    ).toBe(false);
    expect(readReply(env({ failure: '{"class": "X"}', _msg_id: 'm' }), MAX)).toMatchObject({
      ending: true,
      result: null,
      failure: '{"class": "X"}',
    });
  });

  it('refuses replies without a _msg_id or with a strange failure', () => {
    expect(() => readReply(env({ result: 1 }), MAX)).toThrow(/without a _msg_id/);
    expect(() => readReply(env({ _msg_id: 'm', failure: 5 }), MAX)).toThrow(/failure must be/);
    expect(() => readReply(Buffer.from('x'), MAX)).toThrow(/not valid JSON/);
  });
});
