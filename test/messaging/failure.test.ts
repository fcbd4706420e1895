import { describe, expect, it } from 'vitest';
import {
  deserializeRemoteException,
  InvalidRpcMessage,
  NoSuchMethod,
  parseRemoteFailure,
  RemoteError,
  serializeRemoteException,
  UnsupportedVersion,
} from '../../src/messaging/index.js';

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
