import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  deserializeRemoteException,
  encodeEnvelope,
  InvalidRpcMessage,
  isCompatible,
  maskTransportUrl,
  NoSuchMethod,
  parseRemoteFailure,
  parseTransportUrl,
  parseWireJson,
  popContext,
  RemoteError,
  serializeRemoteException,
  Target,
  UnsupportedRpcEnvelopeVersion,
  UnsupportedVersion,
} from '../../src/messaging/index.js';

describe('version rule (is_compatible)', () => {
  it('accepts the same major with a lower or equal minor, revision on equal minors', () => {
    expect(isCompatible('1.0', '1.0')).toBe(true);
    expect(isCompatible('1.0', '1.0.0')).toBe(true);
    expect(isCompatible('1.3', '1.1')).toBe(true);
    expect(isCompatible('1.0', '1.1')).toBe(false);
    expect(isCompatible('1.0', '2.0')).toBe(false);
    expect(isCompatible('1.0', '0.9')).toBe(false);
    expect(isCompatible('1.2.3', '1.2.4')).toBe(false);
    expect(isCompatible('1.2.3', '1.2.2')).toBe(true);
    expect(isCompatible(undefined, '9.9')).toBe(true);
    expect(isCompatible('1.0', undefined)).toBe(false);
    expect(() => isCompatible('1.x', '1.0')).toThrow(/Invalid version/);
  });
});

describe('Target', () => {
  it('copies with overrides and compares by fields', () => {
    const t = new Target({ topic: 'conductor', version: '1.0' });
    const s = t.with({ server: 'host-a' });
    expect(s).toMatchObject({ topic: 'conductor', version: '1.0', server: 'host-a' });
    expect(t.server).toBeUndefined();
    expect(s.with({}).equals(s)).toBe(true);
    expect(s.equals(t)).toBe(false);
    expect(String(s)).toBe('<Target topic=conductor, version=1.0, server=host-a>');
    expect(Object.isFrozen(t)).toBe(true);
  });
});

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

  it('drops __proto__ keys from wire JSON, so nothing can reach a prototype', () => {
    const msg = decodeEnvelope(
      encodeEnvelope(
        JSON.parse('{"method": "m", "args": {"__proto__": {"polluted": 1}, "ok": 2}}') as Record<
          string,
          unknown
        >,
      ),
    );
    const args = msg['args'] as Record<string, unknown>;
    expect(Object.hasOwn(args, '__proto__')).toBe(false);
    expect(args['ok']).toBe(2);
    const merged = Object.assign({}, args);
    expect((merged as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(parseWireJson('{"a": {"__proto__": {"x": 1}}}')).toEqual({ a: {} });
  });

  it('pops _context_ keys', () => {
    const m: Record<string, unknown> = { method: 'x', _context_user: 'u', _context_roles: ['a'] };
    expect(popContext(m)).toEqual({ user: 'u', roles: ['a'] });
    expect(m).toEqual({ method: 'x' });
  });
});

describe('failure codec', () => {
  it('encodes an error with class, module, message, traceback lines, args and kwargs', () => {
    class ValueError extends Error {
      override name = 'ValueError';
    }
    const f = JSON.parse(serializeRemoteException(new ValueError('boom'))) as Record<
      string,
      unknown
    >;
    expect(f).toMatchObject({
      class: 'ValueError',
      module: 'builtins',
      message: 'boom',
      args: ['boom'],
      kwargs: {},
    });
    expect((f['tb'] as string[])[0]).toBe('Traceback (most recent call last):\n');
    expect((f['tb'] as string[]).at(-1)).toBe('ValueError: boom\n');
  });

  it('uses a static remoteModule, the dispatcher module, and a default module', () => {
    class VimNotFoundException extends Error {
      static remoteModule = 'tacker.extensions.nfvo';
      override name = 'VimNotFoundException';
      kwargs = { vim_id: 'v1' };
    }
    expect(
      parseRemoteFailure(serializeRemoteException(new VimNotFoundException('gone'))),
    ).toMatchObject({
      class: 'VimNotFoundException',
      module: 'tacker.extensions.nfvo',
      kwargs: { vim_id: 'v1' },
    });
    expect(parseRemoteFailure(serializeRemoteException(new NoSuchMethod('x'))).module).toBe(
      'oslo_messaging.rpc.dispatcher',
    );
    expect(parseRemoteFailure(serializeRemoteException(new RangeError('r'))).module).toBe(
      'conductor_ts.exceptions',
    );
    expect(parseRemoteFailure(serializeRemoteException('a string'))).toMatchObject({
      class: 'Exception',
      message: 'a string',
    });
  });

  it('rebuilds dispatcher errors as their local classes and everything else as RemoteError', () => {
    const nsm = deserializeRemoteException(
      serializeRemoteException(new NoSuchMethod('update_vimx')),
    );
    expect(nsm).toBeInstanceOf(NoSuchMethod);
    expect((nsm as NoSuchMethod).method).toBe('update_vimx');
    const uv = deserializeRemoteException(
      serializeRemoteException(new UnsupportedVersion('1.1', 'update_vim')),
    );
    expect(uv).toBeInstanceOf(UnsupportedVersion);
    expect(uv.message).toBe(
      'Endpoint does not support RPC version 1.1. Attempted method: update_vim',
    );
    expect((uv as UnsupportedVersion).version).toBe('1.1');
    const re = deserializeRemoteException(
      '{"class": "ValueError", "module": "builtins", "message": "boom", "tb": ["t\\n"], "args": ["boom"], "kwargs": {}}',
    );
    expect(re).toBeInstanceOf(RemoteError);
    expect(re).toMatchObject({ excType: 'ValueError', value: 'boom', traceback: ['t\n'] });
    expect(re.message).toBe('Remote error: ValueError boom\nt\n.');
  });

  it('strips the _Remote suffix and tolerates missing or mistyped fields', () => {
    expect(parseRemoteFailure('{"class": "X_Remote", "module": "m_Remote"}')).toMatchObject({
      class: 'X',
      module: 'm',
      tb: [],
      args: [],
    });
    expect(parseRemoteFailure('{"class": 5, "tb": [1, "a"]}')).toMatchObject({
      class: 'Exception',
      tb: ['a'],
    });
    expect(() => parseRemoteFailure('[1]')).toThrow(InvalidRpcMessage);
  });
});

describe('transport URLs', () => {
  it('parses hosts, credentials, vhost and query; amqp:// is rabbit', () => {
    const u = parseTransportUrl(
      'rabbit://guest:p%40ss@127.0.0.1:5672,other:pw@[::1]:5673/my%2Fvhost?ssl=1&x=2',
    );
    expect(u.transport).toBe('rabbit');
    expect(u.hosts).toEqual([
      { hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'p@ss' },
      { hostname: '::1', port: 5673, username: 'other', password: 'pw' },
    ]);
    expect(u.virtualHost).toBe('my/vhost');
    expect({ ...u.query }).toEqual({ ssl: '1', x: '2' });
    expect(parseTransportUrl('amqp://h/').transport).toBe('rabbit');
    expect(parseTransportUrl('amqps://h/').query['ssl']).toBe('1');
    expect(parseTransportUrl('memory://').hosts).toEqual([]);
    expect(parseTransportUrl('memory://bus1').hosts[0]?.hostname).toBe('bus1');
  });

  it('rejects bad URLs without echoing the password', () => {
    expect(() => parseTransportUrl('kafka://h')).toThrow(/Unsupported transport 'kafka'/);
    expect(() => parseTransportUrl('rabbit://u:secret@h:99999/')).toThrow(/Invalid port/);
    try {
      parseTransportUrl('rabbit//u:secret@h');
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
    }
  });

  it('masks every password', () => {
    expect(maskTransportUrl('rabbit://guest:secret@h:5672,u2:pw2@h2/')).toBe(
      'rabbit://guest:***@h:5672,u2:***@h2/',
    );
    expect(maskTransportUrl('memory://')).toBe('memory://');
  });
});
