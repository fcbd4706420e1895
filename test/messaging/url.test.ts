import { describe, expect, it } from 'vitest';
import { maskTransportUrl, parseTransportUrl } from '../../src/messaging/index.js';

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
