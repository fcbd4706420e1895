import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  encodeEnvelope,
  InvalidRpcMessage,
  parseWireJson,
  popContext,
  UnsupportedRpcEnvelopeVersion,
} from '../../src/messaging/index.js';

describe('envelope', () => {
  it('double-encodes the message under oslo.version 2.0', () => {
    const body = encodeEnvelope({ method: 'echo', args: { value: 'x' } });
    const outer = JSON.parse(body) as Record<string, unknown>;
    expect(Object.keys(outer)).toEqual(['oslo.version', 'oslo.message']);
    expect(outer['oslo.version']).toBe('2.0');
    expect(typeof outer['oslo.message']).toBe('string');
    expect(decodeEnvelope(body)).toEqual({ method: 'echo', args: { value: 'x' } });
  });

  it('reads legacy bodies as they are, refuses other envelope versions and garbage', () => {
    expect(decodeEnvelope('{"method": "x"}')).toEqual({ method: 'x' });
    expect(() => decodeEnvelope('{"oslo.version": "3.0", "oslo.message": "{}"}')).toThrow(
      UnsupportedRpcEnvelopeVersion,
    );
    expect(() => decodeEnvelope('{"oslo.version": "2.1", "oslo.message": "{}"}')).toThrow(
      UnsupportedRpcEnvelopeVersion,
    );
    expect(() => decodeEnvelope('{"oslo.version": "x", "oslo.message": "{}"}')).toThrow(
      UnsupportedRpcEnvelopeVersion,
    );
    expect(decodeEnvelope('{"oslo.version": "2.0", "oslo.message": "{}"}')).toEqual({});
    for (const bad of [
      'nope',
      '[1]',
      'null',
      '{"oslo.version": "2.0", "oslo.message": 5}',
      '{"oslo.version": "2.0", "oslo.message": "[1]"}',
      '{"oslo.version": 2, "oslo.message": "{}"}',
    ]) {
      expect(() => decodeEnvelope(bad)).toThrow(InvalidRpcMessage);
    }
  });

  it('keeps __proto__ keys of wire JSON as own data, and nothing reaches a prototype', () => {
    const msg = decodeEnvelope(
      encodeEnvelope(
        JSON.parse('{"method": "m", "args": {"__proto__": {"polluted": 1}, "ok": 2}}') as Record<
          string,
          unknown
        >,
      ),
    );
    const args = msg['args'] as Record<string, unknown>;
    expect(Object.hasOwn(args, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(args, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
    expect(Object.keys(args)).toEqual(['__proto__', 'ok']);
    expect(args['ok']).toBe(2);
    expect((args as Record<string, unknown>)['polluted']).toBeUndefined();
    expect({ ...args }).toEqual(args); // spread defines: still an own key
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const nested = parseWireJson('{"a": {"__proto__": {"x": 1}}}') as { a: object };
    expect(Object.keys(nested.a)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(nested.a)).toBe(Object.prototype);
    expect(JSON.stringify(nested)).toBe('{"a":{"__proto__":{"x":1}}}');
  });

  it('pops _context_ keys', () => {
    const m: Record<string, unknown> = { method: 'x', _context_user: 'u', _context_roles: ['a'] };
    expect(popContext(m)).toEqual({ user: 'u', roles: ['a'] });
    expect(m).toEqual({ method: 'x' });
  });
});
