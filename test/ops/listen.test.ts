import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/index.js';
import { DEFAULT_LISTEN_HOST, formatListen, parseListen } from '../../src/ops/index.js';

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:9410', { host: '127.0.0.1', port: 9410 }],
    ['0.0.0.0:9410', { host: '0.0.0.0', port: 9410 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['ops.example.com:9410', { host: 'ops.example.com', port: 9410 }],
    ['[::1]:9410', { host: '::1', port: 9410 }],
    ['[::]:9410', { host: '::', port: 9410 }],
    [':9410', { host: '127.0.0.1', port: 9410 }],
    [' :9410 ', { host: '127.0.0.1', port: 9410 }],
    [':0', { host: '127.0.0.1', port: 0 }],
    ['127.0.0.1:65535', { host: '127.0.0.1', port: 65535 }],
    ['0', undefined],
    ['', undefined],
    ['  ', undefined],
  ])('%j → %j', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it('defaults to loopback', () => {
    expect(DEFAULT_LISTEN_HOST).toBe('127.0.0.1');
  });

  it.each([
    ['9410', /no port; write :9410/],
    ['127.0.0.1', /no port/],
    ['127.0.0.1:', /port must be an integer/],
    ['127.0.0.1:65536', /port must be an integer/],
    ['127.0.0.1:-1', /port must be an integer/],
    ['127.0.0.1:94x', /port must be an integer/],
    ['::1:9410', /needs brackets/],
    ['[nope]:9410', /not an IPv6 address/],
    ['bad host:9410', /not a host name/],
    ['http://x:9410', /a URL, not an address/],
  ])('%j is refused', (text, message) => {
    expect(() => parseListen(text)).toThrow(InvalidOptionError);
    expect(() => parseListen(text)).toThrow(message);
    expect(() => parseListen(text)).toThrow(JSON.stringify(text));
  });

  it('formats addresses back, IPv6 in brackets', () => {
    expect(formatListen({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(formatListen({ host: '127.0.0.1', port: 2 })).toBe('127.0.0.1:2');
  });
});
