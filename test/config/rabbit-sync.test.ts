import { describe, expect, it } from 'vitest';
import {
  createConfig,
  rabbitOptions,
  rpcServerOptions,
  rpcTransportOptions,
} from '../../src/config/index.js';
import {
  DEFAULT_RABBIT_OPTIONS,
  parseRabbitOptions,
  RABBIT_OPTION_NAMES,
} from '../../src/messaging/drivers/rabbit/options.js';
import { getRpcTransport } from '../../src/messaging/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { useTmpDir } from './tmp.js';

const tmp = useTmpDir();

/** Whether the driver accepts `{ [name]: value }`. */
function driverAccepts(name: string, value: unknown): boolean {
  const extra: Record<string, unknown> = {};
  // keep the driver's own cross-field rules satisfied while probing one option
  if (name === 'rabbit_retry_interval') extra['rabbit_interval_max'] = 3600;
  try {
    parseRabbitOptions({ ...extra, [name]: value });
    return true;
  } catch {
    return false;
  }
}

/** Whether the config accepts `[oslo_messaging_rabbit] name = raw` (and validates). */
async function configAccepts(name: string, raw: string): Promise<boolean> {
  const conf = createConfig({ logger: captureLogs().logger });
  const cli: Record<string, string> = { [`oslo_messaging_rabbit.${name}`]: raw };
  if (name === 'rabbit_retry_interval') cli['oslo_messaging_rabbit.rabbit_interval_max'] = '3600';
  return conf.load({ env: {}, cli }).then(
    () => true,
    () => false,
  );
}

describe('[oslo_messaging_rabbit] matches the rabbit driver', () => {
  it('same option names and defaults', () => {
    expect(rabbitOptions.map((o) => o.name).sort()).toEqual([...RABBIT_OPTION_NAMES].sort());
    const conf = createConfig({ logger: captureLogs().logger });
    const defaults: Record<string, unknown> = {};
    for (const o of rabbitOptions) defaults[o.name] = conf.get('oslo_messaging_rabbit', o.name);
    expect(defaults).toEqual({ ...DEFAULT_RABBIT_OPTIONS });
  });

  it('same ranges: both accept the bounds and reject just outside them', async () => {
    for (const o of rabbitOptions) {
      if (o.type !== 'int' && o.type !== 'float') continue;
      const step = o.type === 'int' ? 1 : 0.001;
      const probes: number[] = [];
      if (o.min !== undefined) probes.push(o.min, o.min - step, o.min + step);
      if (o.max !== undefined) probes.push(o.max, o.max + step);
      if (o.type === 'int') probes.push((o.min ?? 0) + 0.5); // a fraction is no integer
      for (const v of probes) {
        expect(await configAccepts(o.name, String(v)), `config ${o.name}=${v}`).toBe(
          driverAccepts(o.name, v),
        );
      }
    }
  });

  it('same enum and bool spellings', async () => {
    for (const v of ['AMQPLAIN', 'plain', 'External', 'KERBEROS']) {
      expect(await configAccepts('rabbit_login_method', v), v).toBe(
        driverAccepts('rabbit_login_method', v),
      );
    }
    for (const v of ['true', 'YES', 'on', '1', 'false', 'no', 'OFF', '0', 'maybe']) {
      expect(await configAccepts('ssl_verify', v), v).toBe(driverAccepts('ssl_verify', v));
    }
  });

  it('a config file feeds getRpcTransport() and the driver’s option parser', async () => {
    const f = await tmp.write(
      'c.conf',
      [
        '[DEFAULT]',
        'transport_url = memory://cfgtest',
        'control_exchange = nfv',
        'rpc_response_timeout = 30',
        'executor_thread_pool_size = 8',
        '[oslo_messaging_rabbit]',
        'rabbit_retry_interval = 0.5',
        'rabbit_login_method = plain',
        'ssl_ca_file =',
        '',
      ].join('\n'),
    );
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({ configFiles: [f], env: {} });
    const opts = rpcTransportOptions(conf);
    expect(opts).toMatchObject({
      transportUrl: 'memory://cfgtest',
      controlExchange: 'nfv',
      rpcResponseTimeout: 30,
    });
    expect(opts.rabbit).not.toHaveProperty('ssl_ca_file');
    const { options } = parseRabbitOptions(opts.rabbit);
    expect(options.rabbit_retry_interval).toBe(0.5);
    expect(options.rabbit_login_method).toBe('PLAIN');
    expect(rpcServerOptions(conf)).toEqual({ executorPoolSize: 8 });
    const transport = await getRpcTransport({ ...opts, logger: captureLogs().logger });
    try {
      expect(transport.controlExchange).toBe('nfv');
      expect(transport.rpcResponseTimeout).toBe(30);
    } finally {
      await transport.close();
    }
  });
});
