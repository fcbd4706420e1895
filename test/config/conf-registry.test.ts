import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  ConfigOpts,
  ConfigValidationError,
  DuplicateOptError,
  NoSuchOptError,
  type OptionSpec,
} from '../../src/config/index.js';
import { builtinOptions, createConfig } from '../helpers/config.js';
import { ConductorError, hasErrorCode, InvalidOptionError } from '../../src/core/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const quiet = () => captureLogs().logger;

describe('built-in defaults', () => {
  it('has the original names and defaults before anything is loaded', () => {
    const conf = createConfig({ logger: quiet() });
    const d = (n: string) => conf.getDefault(n);
    expect(d('host')).toBe(hostname());
    expect(d('periodic_interval')).toBe(40);
    expect(d('periodic_fuzzy_delay')).toBe(5);
    expect(d('report_interval')).toBe(10);
    expect(d('run_external_periodic_tasks')).toBe(true);
    expect(d('graceful_shutdown_timeout')).toBe(60);
    expect(d('log_options')).toBe(true);
    expect(d('debug')).toBe(false);
    expect(d('transport_url')).toBe('memory://');
    expect(d('control_exchange')).toBe('tacker');
    expect(d('rpc_response_timeout')).toBe(60);
    expect(d('executor_thread_pool_size')).toBe(64);
    expect(d('periodic_mode')).toBe('exact');
    expect(d('periodic_interval_max')).toBe(60);
    expect(conf.get('database', 'connection')).toBe('sqlite:///data/conductor.db');
    expect(conf.get('oslo_messaging_rabbit', 'rabbit_retry_interval')).toBe(1);
    expect(conf.get('oslo_messaging_rabbit', 'ssl_ca_file')).toBeUndefined();
    expect(conf.source('DEFAULT', 'report_interval')).toBe('default');
    expect(conf.configFiles).toEqual([]);
  });

  it('loads with no sources at all and validates the defaults', async () => {
    const conf = createConfig({ logger: quiet() });
    await conf.load({ env: {} });
    expect(conf.getDefault('periodic_interval')).toBe(40);
    expect(() => conf.validate()).not.toThrow();
  });

  it('marks transport_url, [coordination] backend_url and [database] connection as URL secrets', () => {
    const secret = builtinOptions.filter((o) => o.secret).map((o) => `${o.section}.${o.name}`);
    expect(secret).toEqual([
      'DEFAULT.transport_url',
      'coordination.backend_url',
      'database.connection',
    ]);
    expect(builtinOptions.filter((o) => o.secret).every((o) => o.secret === 'url')).toBe(true);
  });

  it('throws NoSuchOptError for an unregistered option', () => {
    const conf = createConfig({ logger: quiet() });
    expect(() => conf.get('DEFAULT', 'nope')).toThrow(NoSuchOptError);
    expect(() => conf.get('DEFAULT', 'nope')).toThrow('no such option nope in group [DEFAULT]');
    expect(() => conf.source('oslo_messaging_rabbit', 'rabbit_host')).toThrow(NoSuchOptError);
  });
});

describe('register()', () => {
  const opt: OptionSpec = {
    section: 'vim_monitor',
    name: 'interval',
    type: 'int',
    default: 30,
    min: 1,
    help: 'Seconds between VIM checks.',
  };

  it('re-registering an identical definition is a no-op', () => {
    const conf = new ConfigOpts({ logger: quiet() });
    conf
      .register([opt])
      .register(opt)
      .register([{ ...opt }]);
    expect(conf.options()).toHaveLength(1);
    expect(conf.get('vim_monitor', 'interval')).toBe(30);
    createConfig({ logger: quiet() }).register(builtinOptions);
  });

  it('a conflicting definition throws DuplicateOptError and registers nothing', () => {
    const conf = new ConfigOpts({ logger: quiet() }).register(opt);
    const other: OptionSpec = { section: 'x', name: 'y', type: 'bool', help: '' };
    let err: unknown;
    try {
      conf.register([other, { ...opt, default: 60 }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DuplicateOptError);
    expect(err).toBeInstanceOf(ConductorError);
    expect(hasErrorCode(err, 'CONDUCTOR_CONFIG_DUPLICATE_OPTION')).toBe(true);
    expect((err as Error).message).toBe(
      'Duplicate option: interval in group [vim_monitor] is already registered with a different definition (default differs)',
    );
    expect(conf.has('x', 'y')).toBe(false);
    expect(() => conf.register({ ...opt, help: 'other help' })).toThrow('(help differs)');
    expect(() => conf.register({ ...opt, type: 'float' })).toThrow('(type differs)');
  });

  it('a conflict inside one batch throws too', () => {
    const conf = new ConfigOpts({ logger: quiet() });
    expect(() => conf.register([opt, { ...opt, max: 100 }])).toThrow(DuplicateOptError);
    expect(conf.options()).toHaveLength(0);
  });

  it('rejects a name that is another option’s deprecated name, and vice versa', () => {
    const conf = createConfig({ logger: quiet() });
    expect(() =>
      conf.register({ section: 'DEFAULT', name: 'sql_connection', type: 'string', help: '' }),
    ).toThrow(
      'Duplicate option: sql_connection in group [DEFAULT] is already registered with a different definition (it is a deprecated name of [database] connection)',
    );
    expect(() =>
      conf.register({
        section: 'x',
        name: 'y',
        type: 'string',
        help: '',
        deprecatedNames: [{ section: 'DEFAULT', name: 'host' }],
      }),
    ).toThrow('its deprecated name [DEFAULT] host is already an option');
  });

  it('normalises section names like oslo (DEFAULT kept, others lower-cased)', () => {
    const conf = new ConfigOpts({ logger: quiet() });
    conf.register({ ...opt, section: 'VIM_Monitor' });
    expect(conf.has('vim_monitor', 'interval')).toBe(true);
    expect(conf.get('VIM_MONITOR', 'interval')).toBe(30);
    expect(conf.spec('vim_monitor', 'interval').section).toBe('vim_monitor');
  });

  it('rejects invalid definitions with InvalidOptionError', () => {
    const conf = new ConfigOpts({ logger: quiet() });
    const bad = (patch: Record<string, unknown>) => () =>
      conf.register({ ...opt, ...patch } as unknown as OptionSpec);
    expect(bad({ default: 0 })).toThrow(InvalidOptionError);
    expect(bad({ default: 0 })).toThrow(
      'Invalid option definition [vim_monitor] interval: default 0 is not an integer >= 1',
    );
    expect(bad({ default: 1.5 })).toThrow('is not an integer >= 1');
    expect(bad({ type: 'number' })).toThrow('type must be one of');
    expect(bad({ name: '__proto__' })).toThrow('name must start with a letter');
    expect(bad({ section: '' })).toThrow('section must be a name');
    expect(bad({ type: 'enum', min: undefined, default: 'a' })).toThrow(
      'an enum needs a non-empty list',
    );
    expect(bad({ type: 'string', default: 'a' })).toThrow('min applies to int and float');
    expect(bad({ min: 5, max: 1, default: 5 })).toThrow('min > max');
    expect(bad({ secret: 'yes' })).toThrow("secret must be a boolean or 'url'");
    expect(
      bad({ type: 'string', min: undefined, default: 42, secret: true, name: 'password' }),
    ).toThrow("default '***' is not a string");
    expect(conf.options()).toHaveLength(0);
  });

  it('an option registered after load() is resolved from the sources already read', async () => {
    const conf = createConfig({ logger: quiet() });
    await conf.load({ env: { CONDUCTOR_VIM_MONITOR__INTERVAL: '45' } });
    conf.register(opt);
    expect(conf.get('vim_monitor', 'interval')).toBe(45);
    expect(conf.source('vim_monitor', 'interval')).toBe('env:CONDUCTOR_VIM_MONITOR__INTERVAL');
  });

  it('a late registration whose loaded value is out of range throws and registers nothing', async () => {
    const conf = createConfig({ logger: quiet() });
    await conf.load({ env: { CONDUCTOR_VIM_MONITOR__INTERVAL: '0' } });
    expect(() => conf.register(opt)).toThrow(ConfigValidationError);
    expect(() => conf.register(opt)).toThrow(
      "environment variable CONDUCTOR_VIM_MONITOR__INTERVAL [vim_monitor] interval: expected an integer >= 1, got '0'",
    );
    expect(conf.has('vim_monitor', 'interval')).toBe(false);
  });
});
