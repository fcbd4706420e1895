import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, RealClock } from '../../../../src/core/index.js';
import { describeRabbitUrl } from '../../../../src/messaging/drivers/rabbit/index.js';
import {
  DEFAULT_RABBIT_OPTIONS,
  parseRabbitOptions,
  tlsSocketOptions,
} from '../../../../src/messaging/drivers/rabbit/options.js';
import { getRpcTransport, parseTransportUrl } from '../../../../src/messaging/index.js';

describe('rabbit options', () => {
  it('has oslo defaults', () => {
    const { options } = parseRabbitOptions({});
    expect(options).toEqual(DEFAULT_RABBIT_OPTIONS);
    expect(options).toMatchObject({
      heartbeat_timeout_threshold: 60,
      rabbit_login_method: 'AMQPLAIN',
      rabbit_retry_interval: 1,
      rabbit_retry_backoff: 2,
      rabbit_interval_max: 30,
      rabbit_transient_queues_ttl: 1800,
      kombu_missing_consumer_retry_timeout: 60,
      amqp_durable_queues: false,
      amqp_auto_delete: false,
      rabbit_qos_prefetch_count: 0,
    });
  });

  it('accepts valid values, converting strings', () => {
    const { options } = parseRabbitOptions({
      heartbeat_timeout_threshold: '30',
      amqp_durable_queues: 'true',
      rabbit_login_method: 'plain',
      rabbit_retry_interval: 0.5,
    });
    expect(options.heartbeat_timeout_threshold).toBe(30);
    expect(options.amqp_durable_queues).toBe(true);
    expect(options.rabbit_login_method).toBe('PLAIN');
    expect(options.rabbit_retry_interval).toBe(0.5);
  });

  it.each([
    [{ nope: 1 }, /Unknown rabbit option\(s\): nope/],
    [{ heartbeat_timeout_threshold: -1 }, /heartbeat_timeout_threshold must be an integer/],
    [{ heartbeat_timeout_threshold: 1.5 }, /heartbeat_timeout_threshold must be an integer/],
    [{ rabbit_retry_interval: 0 }, /rabbit_retry_interval must be a number > 0/],
    [{ rabbit_retry_interval: 'soon' }, /rabbit_retry_interval must be a number/],
    [{ amqp_durable_queues: 'maybe' }, /amqp_durable_queues must be a boolean/],
    [
      { rabbit_login_method: 'KERBEROS' },
      /rabbit_login_method must be one of AMQPLAIN, PLAIN, EXTERNAL/,
    ],
    [{ ssl_ca_file: '' }, /ssl_ca_file must be a non-empty string/],
    [
      { rabbit_interval_max: 1, rabbit_retry_interval: 5 },
      /rabbit_interval_max \(1\) must be >= rabbit_retry_interval/,
    ],
    [{ ssl: true, ssl_cert_file: '/x' }, /ssl_cert_file and ssl_key_file must be given together/],
    [{ ssl_ca_file: '/x' }, /need ssl=true/],
    [{ ssl: true, rabbit_login_method: 'EXTERNAL' }, /EXTERNAL needs a TLS client certificate/],
    [{ rabbit_max_message_size: 10 }, /rabbit_max_message_size must be an integer/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseRabbitOptions(raw)).toThrow(InvalidOptionError);
    expect(() => parseRabbitOptions(raw)).toThrow(message);
  });

  it('reads ?ssl=1 and other known options from the URL query, returning unknown keys', () => {
    const url = parseTransportUrl(
      'rabbit://u:p@h:5671/vh?ssl=1&heartbeat_timeout_threshold=10&region=x',
    );
    const { options, ignoredQueryKeys } = parseRabbitOptions({}, url);
    expect(options.ssl).toBe(true);
    expect(options.heartbeat_timeout_threshold).toBe(10);
    expect(ignoredQueryKeys).toEqual(['region']);
    expect(parseRabbitOptions({}, parseTransportUrl('amqps://h/')).options.ssl).toBe(true);
  });

  it('reads TLS files and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rabbit-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    const { options } = parseRabbitOptions({
      ssl: true,
      ssl_ca_file: join(dir, 'ca.pem'),
      ssl_verify: false,
    });
    const tls = tlsSocketOptions(options);
    expect(tls['rejectUnauthorized']).toBe(false);
    expect(String((tls['ca'] as Buffer[])[0])).toBe('CA');
    const missing = parseRabbitOptions({ ssl: true, ssl_ca_file: join(dir, 'nope.pem') }).options;
    expect(() => tlsSocketOptions(missing)).toThrow(/ssl_ca_file: cannot read .*nope\.pem/);
  });

  it('describes the URL without the password', () => {
    const url = parseTransportUrl('rabbit://user:s3cret@h1:5672,other:pw2@h2/vh');
    const text = describeRabbitUrl(url, [
      { hostname: 'h1', port: 5672, username: 'user', password: 's3cret' },
      { hostname: 'h2', port: 5672, username: 'other', password: 'pw2' },
    ]);
    expect(text).toBe('rabbit://user:***@h1:5672,other:***@h2:5672/vh');
  });

  it('refuses a transport with invalid rabbit options before connecting', async () => {
    await expect(
      getRpcTransport({
        transportUrl: 'rabbit://guest:guest@127.0.0.1:1/',
        rabbit: { bogus: true },
        clock: new RealClock(),
      }),
    ).rejects.toThrow(/Unknown rabbit option\(s\): bogus/);
  });
});
