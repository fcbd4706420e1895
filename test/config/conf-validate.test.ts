import { describe, expect, it } from 'vitest';
import { ConfigValidationError, type ConfigValidator } from '../../src/config/index.js';
import { createConfig } from '../helpers/config.js';
import { captureLogs } from '../helpers/log-capture.js';
import { useTmpDir } from './tmp.js';

const tmp = useTmpDir();

async function problems(
  text: string,
  env: Record<string, string> = {},
): Promise<{ problems: readonly string[]; file: string }> {
  const file = await tmp.write('v.conf', text);
  const conf = createConfig({ logger: captureLogs().logger });
  const err = await conf.load({ configFiles: [file], env }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConfigValidationError))
    throw new Error(`expected a validation error: ${String(err)}`);
  return { problems: err.problems, file };
}

describe('validate()', () => {
  it('collects every range, choice and cross-field problem into one error', async () => {
    const { problems: p, file } = await problems(
      [
        '[DEFAULT]',
        'report_interval = -1',
        'periodic_mode = sometimes',
        'rpc_response_timeout = 0',
        '[oslo_messaging_rabbit]',
        'heartbeat_timeout_threshold = 70000',
        'rabbit_login_method = kerberos',
        'rabbit_retry_interval = 10',
        'rabbit_interval_max = 5',
        '',
      ].join('\n'),
    );
    expect(p).toEqual([
      `${file} [DEFAULT] report_interval: expected an integer >= 0, got '-1'`,
      `${file} [DEFAULT] periodic_mode: expected one of 'exact', 'fixed', 'dynamic', got 'sometimes'`,
      `${file} [DEFAULT] rpc_response_timeout: expected an integer >= 1, got '0'`,
      `${file} [oslo_messaging_rabbit] heartbeat_timeout_threshold: expected an integer >= 0 and <= 65535, got '70000'`,
      `${file} [oslo_messaging_rabbit] rabbit_login_method: expected one of 'AMQPLAIN', 'PLAIN', 'EXTERNAL', got 'kerberos'`,
      `rabbit_interval_max must be >= rabbit_retry_interval: [oslo_messaging_rabbit] rabbit_interval_max = 5 (from ${file}), [oslo_messaging_rabbit] rabbit_retry_interval = 10 (from ${file})`,
    ]);
  });

  it('the message lists every problem', async () => {
    const file = await tmp.write(
      'v.conf',
      '[DEFAULT]\nreport_interval = -1\nperiodic_interval = -2\n',
    );
    const conf = createConfig({ logger: captureLogs().logger });
    await expect(conf.load({ configFiles: [file], env: {} })).rejects.toThrow(
      `Invalid configuration (2 problems):\n  - ${file} [DEFAULT] periodic_interval: expected an integer >= 0, got '-2'\n  - ${file} [DEFAULT] report_interval: expected an integer >= 0, got '-1'`,
    );
  });

  it('periodic_interval_max must be > 0 in the dynamic mode only', async () => {
    const { problems: p, file } = await problems('[DEFAULT]\nperiodic_interval_max = 0\n', {
      CONDUCTOR_DEFAULT__PERIODIC_MODE: 'dynamic',
    });
    expect(p).toEqual([
      `periodic_interval_max must be > 0 when periodic_mode is dynamic: [DEFAULT] periodic_interval_max = 0 (from ${file}), [DEFAULT] periodic_mode = dynamic (from environment variable CONDUCTOR_DEFAULT__PERIODIC_MODE)`,
    ]);
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({ env: {}, cli: { periodic_interval_max: '0', periodic_mode: 'fixed' } });
    expect(conf.getDefault('periodic_interval_max')).toBe(0);
    await expect(conf.load({ env: {}, cli: { periodic_interval_max: '-1' } })).rejects.toThrow(
      "expected a number >= 0, got '-1'",
    );
  });

  it('mirrors the rabbit driver’s cross-field rules', async () => {
    const { problems: p } = await problems(
      [
        '[oslo_messaging_rabbit]',
        'rabbit_quorum_queue = true',
        'amqp_auto_delete = true',
        'ssl_cert_file = /c.pem',
        'rabbit_login_method = external',
        '',
      ].join('\n'),
    );
    expect(p.map((m) => m.split(':')[0])).toEqual([
      'rabbit_quorum_queue and amqp_auto_delete exclude each other (quorum queues cannot be auto-delete)',
      'ssl_cert_file and ssl_key_file must be given together',
      'ssl_cert_file need ssl = true (or ?ssl=1 in [DEFAULT] transport_url)',
    ]);
    const ok = createConfig({ logger: captureLogs().logger });
    await ok.load({
      env: {
        CONDUCTOR_DEFAULT__TRANSPORT_URL: 'rabbit://u:p@h:5671/?ssl=1',
        CONDUCTOR_OSLO_MESSAGING_RABBIT__SSL_CERT_FILE: '/c.pem',
        CONDUCTOR_OSLO_MESSAGING_RABBIT__SSL_KEY_FILE: '/k.pem',
        CONDUCTOR_OSLO_MESSAGING_RABBIT__RABBIT_LOGIN_METHOD: 'EXTERNAL',
      },
    });
    const bad = createConfig({ logger: captureLogs().logger });
    await expect(
      bad.load({ env: { CONDUCTOR_OSLO_MESSAGING_RABBIT__RABBIT_LOGIN_METHOD: 'EXTERNAL' } }),
    ).rejects.toThrow(
      'rabbit_login_method EXTERNAL needs a TLS client certificate (ssl_cert_file, ssl_key_file): [oslo_messaging_rabbit] rabbit_login_method = EXTERNAL (from environment variable CONDUCTOR_OSLO_MESSAGING_RABBIT__RABBIT_LOGIN_METHOD)',
    );
  });

  it('runs added validators, once each', async () => {
    let calls = 0;
    const v: ConfigValidator = (conf) => {
      calls++;
      return conf.get('DEFAULT', 'host') === 'localhost'
        ? [`host must be reachable from other nodes: ${conf.describe('DEFAULT', 'host')}`]
        : [];
    };
    const conf = createConfig({ logger: captureLogs().logger }).addValidator(v).addValidator(v);
    await conf.load({ env: {}, cli: { host: 'node-1' } });
    expect(calls).toBe(1);
    await expect(conf.load({ env: {}, cli: { host: 'localhost' } })).rejects.toThrow(
      "host must be reachable from other nodes: [DEFAULT] host = localhost (from command-line option 'host')",
    );
    expect(conf.getDefault('host')).toBe('node-1');
  });
});
