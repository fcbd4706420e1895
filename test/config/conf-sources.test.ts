import { chmod, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigFileError,
  ConfigValueError,
  envVarName,
  NoSuchOptError,
} from '../../src/config/index.js';
import { createConfig } from '../helpers/config.js';
import { hasErrorCode, NotStartedError } from '../../src/core/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { useTmpDir } from './tmp.js';

const tmp = useTmpDir();

describe('precedence: defaults < files < dir < env < cli', () => {
  it('each later source wins, option by option, and source() names it', async () => {
    const a = await tmp.write(
      'a.conf',
      '[DEFAULT]\nreport_interval = 1\nperiodic_interval = 1\nperiodic_fuzzy_delay = 1\ngraceful_shutdown_timeout = 1\nrpc_response_timeout = 1\n',
    );
    const b = await tmp.write(
      'b.conf',
      '[DEFAULT]\nperiodic_interval = 2\nperiodic_fuzzy_delay = 2\ngraceful_shutdown_timeout = 2\nrpc_response_timeout = 2\n',
    );
    const dir = await tmp.mkdir('conf.d');
    await writeFile(
      join(dir, '10-x.conf'),
      '[DEFAULT]\nperiodic_fuzzy_delay = 3\ngraceful_shutdown_timeout = 3\nrpc_response_timeout = 3\n',
    );
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({
      configFiles: [a, b],
      configDir: dir,
      env: {
        CONDUCTOR_DEFAULT__GRACEFUL_SHUTDOWN_TIMEOUT: '4',
        CONDUCTOR_DEFAULT__RPC_RESPONSE_TIMEOUT: '4',
      },
      cli: { rpc_response_timeout: '5' },
    });
    const row = (n: string) => [conf.getDefault(n), conf.source('DEFAULT', n)];
    expect(row('executor_thread_pool_size')).toEqual([64, 'default']);
    expect(row('report_interval')).toEqual([1, `file:${a}`]);
    expect(row('periodic_interval')).toEqual([2, `file:${b}`]);
    expect(row('periodic_fuzzy_delay')).toEqual([3, `file:${join(dir, '10-x.conf')}`]);
    expect(row('graceful_shutdown_timeout')).toEqual([
      4,
      'env:CONDUCTOR_DEFAULT__GRACEFUL_SHUTDOWN_TIMEOUT',
    ]);
    expect(row('rpc_response_timeout')).toEqual([5, 'cli']);
    expect(conf.configFiles).toEqual([a, b, join(dir, '10-x.conf')]);
  });

  it('the order of --config-file matters (the last file wins)', async () => {
    const a = await tmp.write('a.conf', '[DEFAULT]\nreport_interval = 1\n');
    const b = await tmp.write('b.conf', '[DEFAULT]\nreport_interval = 2\n');
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({ configFiles: [b, a], env: {} });
    expect(conf.getDefault('report_interval')).toBe(1);
    await conf.load({ configFiles: [a, b], env: {} });
    expect(conf.getDefault('report_interval')).toBe(2);
  });

  it('a config dir reads every *.conf sorted by name, skipping others', async () => {
    const dir = await tmp.mkdir('conf.d');
    await writeFile(join(dir, '20-b.conf'), '[DEFAULT]\nreport_interval = 20\nhost = b\n');
    await writeFile(join(dir, '10-a.conf'), '[DEFAULT]\nreport_interval = 10\nhost = a\n');
    await writeFile(join(dir, '30-c.conf'), '[DEFAULT]\nhost = c\n');
    await writeFile(join(dir, '99-z.conf.bak'), '[DEFAULT]\nhost = bak\n');
    await writeFile(join(dir, '.hidden.conf'), '[DEFAULT]\nhost = hidden\n');
    await writeFile(join(dir, 'README'), 'not ini at all');
    await tmp.mkdir('conf.d/50-dir.conf');
    await writeFile(join(dir, 'A-upper.conf'), '[DEFAULT]\nperiodic_interval = 7\n');
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({ configDir: dir, env: {} });
    expect(conf.getDefault('host')).toBe('c');
    expect(conf.getDefault('report_interval')).toBe(20);
    // code-point order: digits < upper case < lower case, as Python's sorted()
    expect(conf.configFiles).toEqual(
      ['10-a.conf', '20-b.conf', '30-c.conf', 'A-upper.conf'].map((f) => join(dir, f)),
    );
  });

  it('reads env as CONDUCTOR_<SECTION>__<OPTION>, upper-case only', async () => {
    expect(envVarName('oslo_messaging_rabbit', 'rabbit_retry_interval')).toBe(
      'CONDUCTOR_OSLO_MESSAGING_RABBIT__RABBIT_RETRY_INTERVAL',
    );
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({
      env: {
        CONDUCTOR_DEFAULT__TRANSPORT_URL: ' rabbit://u:p@h:5672/ ',
        CONDUCTOR_OSLO_MESSAGING_RABBIT__RABBIT_RETRY_INTERVAL: '2.5',
        CONDUCTOR_DATABASE__CONNECTION: 'postgresql://u:p@db/c',
        conductor_default__report_interval: '99',
        CONDUCTOR_LOG_LEVEL: 'debug',
      },
    });
    expect(conf.getDefault('transport_url')).toBe('rabbit://u:p@h:5672/');
    expect(conf.get('oslo_messaging_rabbit', 'rabbit_retry_interval')).toBe(2.5);
    expect(conf.get('database', 'connection')).toBe('postgresql://u:p@db/c');
    expect(conf.getDefault('report_interval')).toBe(10);
  });

  it('env defaults to process.env', async () => {
    process.env['CONDUCTOR_DEFAULT__REPORT_INTERVAL'] = '33';
    try {
      const conf = createConfig({ logger: captureLogs().logger });
      await conf.load();
      expect(conf.getDefault('report_interval')).toBe(33);
    } finally {
      delete process.env['CONDUCTOR_DEFAULT__REPORT_INTERVAL'];
    }
  });

  it('cli keys: section.option, bare DEFAULT options, dashes, any case of DEFAULT', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({
      env: {},
      cli: {
        report_interval: '1',
        'DEFAULT.periodic_interval': '2',
        'default.periodic_fuzzy_delay': '3',
        'oslo_messaging_rabbit.ssl_verify': 'no',
        'OSLO_MESSAGING_RABBIT.heartbeat_timeout_threshold': '0',
        'graceful-shutdown-timeout': '4',
      },
    });
    expect(conf.getDefault('report_interval')).toBe(1);
    expect(conf.getDefault('periodic_interval')).toBe(2);
    expect(conf.getDefault('periodic_fuzzy_delay')).toBe(3);
    expect(conf.getDefault('graceful_shutdown_timeout')).toBe(4);
    expect(conf.get('oslo_messaging_rabbit', 'ssl_verify')).toBe(false);
    expect(conf.get('oslo_messaging_rabbit', 'heartbeat_timeout_threshold')).toBe(0);
  });

  it('an unknown cli key is an error (a typo on the command line fails fast)', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    const p = conf.load({ env: {}, cli: { report_intervall: '5' } });
    await expect(p).rejects.toThrow(NoSuchOptError);
    await expect(p).rejects.toThrow(
      "command-line option 'report_intervall': no such option report_intervall in group [DEFAULT]",
    );
    await expect(conf.load({ env: {}, cli: { 'nosuch.x': '1' } })).rejects.toThrow(
      "command-line option 'nosuch.x': no such option x in group [nosuch]",
    );
  });

  it('deprecated names are read, with the oslo warning; the new name wins', async () => {
    const logs = captureLogs();
    const f = await tmp.write(
      'old.conf',
      '[DEFAULT]\nsql_connection = mysql://t:secret@db/old\nrpc_thread_pool_size = 8\nrabbit_durable_queues = true\n[oslo_messaging_rabbit]\nkombu_ssl_ca_certs = /ca.pem\nrabbit_use_ssl = true\n',
    );
    const conf = createConfig({ logger: logs.logger });
    await conf.load({ configFiles: [f], env: {} });
    expect(conf.get('database', 'connection')).toBe('mysql://t:secret@db/old');
    expect(conf.getDefault('executor_thread_pool_size')).toBe(8);
    expect(conf.get('oslo_messaging_rabbit', 'amqp_durable_queues')).toBe(true);
    expect(conf.get('oslo_messaging_rabbit', 'ssl_ca_file')).toBe('/ca.pem');
    expect(conf.get('oslo_messaging_rabbit', 'ssl')).toBe(true);
    const warns = logs.messages(LEVEL.warn);
    expect(warns).toContain(
      `Option "sql_connection" from group "DEFAULT" is deprecated. Use option "connection" from group "database" (${f}).`,
    );
    expect(warns.filter((m) => m.includes('is deprecated'))).toHaveLength(5);
    expect(warns.join('\n')).not.toContain('secret');
    expect(warns.filter((m) => m.startsWith('Unknown'))).toEqual([]);

    const g = await tmp.write(
      'both.conf',
      '[DEFAULT]\nsql_connection = sqlite:///old.db\n[database]\nconnection = sqlite:///new.db\n',
    );
    await conf.load({ configFiles: [g], env: {} });
    expect(conf.get('database', 'connection')).toBe('sqlite:///new.db');
  });
});

describe('unknown options and sections: warnings, not errors', () => {
  it('warns about unknown sections, options and env variables, never showing values', async () => {
    const logs = captureLogs();
    const f = await tmp.write(
      'x.conf',
      [
        '[DEFAULT]',
        'report_interval = 5',
        'rabbit_password = hunter2',
        '[keystone_authtoken]',
        'password = hunter2',
        '[default]',
        'host = lower',
        '[oslo_messaging_rabbit]',
        'rabbit_host = localhost',
        'ssl = false',
        '',
      ].join('\n'),
    );
    const conf = createConfig({ logger: logs.logger });
    await conf.load({
      configFiles: [f],
      env: { CONDUCTOR_DEFAULT__NOPE: 'hunter2', CONDUCTOR_NOSECTION__X: '1' },
    });
    expect(conf.getDefault('report_interval')).toBe(5);
    expect(logs.messages(LEVEL.warn)).toEqual([
      `Unknown option [DEFAULT] rabbit_password in ${f}:3 (ignored)`,
      `Unknown section [keystone_authtoken] in ${f} (ignored)`,
      `Unknown section [default] in ${f} (ignored; did you mean [DEFAULT]? It is case-sensitive)`,
      `Unknown option [oslo_messaging_rabbit] rabbit_host in ${f}:9 (ignored)`,
      'Environment variable CONDUCTOR_DEFAULT__NOPE matches no registered option (ignored)',
      'Environment variable CONDUCTOR_NOSECTION__X matches no registered option (ignored)',
    ]);
    expect(JSON.stringify(logs.lines)).not.toContain('hunter2');
    const line = logs.lines.find((l) => l.msg.includes('rabbit_password'));
    expect(line).toMatchObject({ file: f, line: 3, section: 'DEFAULT', option: 'rabbit_password' });
  });

  it('warns about a key set twice in one file; the last one wins', async () => {
    const logs = captureLogs();
    const f = await tmp.write('dup.conf', '[DEFAULT]\nhost = a\n\nhost = b\n');
    const conf = createConfig({ logger: logs.logger });
    await conf.load({ configFiles: [f], env: {} });
    expect(conf.getDefault('host')).toBe('b');
    expect(logs.messages(LEVEL.warn)).toEqual([
      `[DEFAULT] host is set more than once in ${f} (lines 2 and 4); the last one wins`,
    ]);
  });
});

describe('file errors name the file', () => {
  it('a missing file', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    await tmp.write('present.conf', '');
    const missing = join(tmp.dir(), 'missing.conf');
    const p = conf.load({ configFiles: [missing], env: {} });
    await expect(p).rejects.toThrow(ConfigFileError);
    await expect(p).rejects.toThrow(`Cannot read config file ${missing}: no such file`);
    await p.catch((e: unknown) => {
      expect(hasErrorCode(e, 'CONDUCTOR_CONFIG_FILE')).toBe(true);
      expect((e as ConfigFileError).file).toBe(missing);
    });
  });

  it('a relative path is reported absolute', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    await expect(conf.load({ configFiles: ['does-not-exist-xyz.conf'], env: {} })).rejects.toThrow(
      `Cannot read config file ${join(process.cwd(), 'does-not-exist-xyz.conf')}`,
    );
  });

  it('a directory given as a file, an unreadable file, a missing dir', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    const dir = await tmp.mkdir('d');
    await expect(conf.load({ configFiles: [dir], env: {} })).rejects.toThrow(
      `Cannot read config file ${dir}: is a directory`,
    );
    if (process.getuid?.() !== 0) {
      const f = await tmp.write('secret.conf', '[DEFAULT]\n');
      await chmod(f, 0o000);
      await expect(conf.load({ configFiles: [f], env: {} })).rejects.toThrow(
        `Cannot read config file ${f}: permission denied (EACCES)`,
      );
    }
    await expect(conf.load({ configDir: join(dir, 'nope'), env: {} })).rejects.toThrow(
      `Cannot read config dir ${join(dir, 'nope')}: no such file`,
    );
  });
});

describe('reload()', () => {
  it('picks up a changed file and reports what changed', async () => {
    const logs = captureLogs();
    const f = await tmp.write(
      'c.conf',
      '[DEFAULT]\nreport_interval = 10\nhost = h1\ntransport_url = rabbit://u:old@h:5672/\n',
    );
    const conf = createConfig({ logger: logs.logger });
    await conf.load({ configFiles: [f], env: {}, cli: { debug: 'true' } });
    await writeFile(
      f,
      '[DEFAULT]\nreport_interval = 20\nhost = h1\ntransport_url = rabbit://u:new@h:5672/\n[oslo_messaging_rabbit]\nssl_verify = off\n',
    );
    const changes = await conf.reload();
    expect(changes.map((c) => [c.section, c.name, c.oldValue, c.newValue])).toEqual([
      ['DEFAULT', 'report_interval', 10, 20],
      ['DEFAULT', 'transport_url', 'rabbit://u:old@h:5672/', 'rabbit://u:new@h:5672/'],
      ['oslo_messaging_rabbit', 'ssl_verify', true, false],
    ]);
    expect(changes[1]).toMatchObject({
      secret: true,
      display: { old: 'rabbit://u:***@h:5672/', new: 'rabbit://u:***@h:5672/' },
      oldSource: `file:${f}`,
      newSource: `file:${f}`,
    });
    expect(changes[2]).toMatchObject({ oldSource: 'default', newSource: `file:${f}` });
    expect(conf.getDefault('debug')).toBe(true); // the cli is re-applied
    expect(logs.messages(LEVEL.info)).toContain(
      'Configuration reloaded; changed: [DEFAULT] report_interval, [DEFAULT] transport_url, [oslo_messaging_rabbit] ssl_verify',
    );
    expect(JSON.stringify(logs.lines)).not.toMatch(/old@|new@/);
    expect(await conf.reload()).toEqual([]);
  });

  it('keeps the old values when the new file is broken, and throws', async () => {
    const logs = captureLogs();
    const f = await tmp.write('c.conf', '[DEFAULT]\nreport_interval = 10\nhost = h1\n');
    const conf = createConfig({ logger: logs.logger });
    await conf.load({ configFiles: [f], env: {} });

    await writeFile(f, '[DEFAULT]\nhost = h2\nreport_interval = ten\n');
    await expect(conf.reload()).rejects.toThrow(ConfigValueError);
    expect(conf.getDefault('host')).toBe('h1');
    expect(conf.getDefault('report_interval')).toBe(10);

    await writeFile(f, '[DEFAULT]\nhost = h3\nthis line is broken\n');
    await expect(conf.reload()).rejects.toThrow(`${f}:3: no '=' or ':' in assignment`);
    expect(conf.getDefault('host')).toBe('h1');

    await writeFile(f, '[DEFAULT]\nhost = h4\nreport_interval = -1\n');
    await expect(conf.reload()).rejects.toThrow('expected an integer >= 0');
    expect(conf.getDefault('host')).toBe('h1');

    await unlink(f);
    await expect(conf.reload()).rejects.toThrow(ConfigFileError);
    expect(conf.getDefault('host')).toBe('h1');
    expect(conf.source('DEFAULT', 'host')).toBe(`file:${f}`);
    expect(logs.messages(LEVEL.warn)).toContain(
      'Configuration reload failed; keeping the previous values',
    );

    await writeFile(f, '[DEFAULT]\nhost = h5\n');
    const changes = await conf.reload();
    // report_interval went from 10 (file) to 10 (default): a source change, not a value change
    expect(changes.map((c) => [c.name, c.oldValue, c.newValue])).toEqual([['host', 'h1', 'h5']]);
  });

  it('a failed load() keeps the previous values too', async () => {
    const f = await tmp.write('c.conf', '[DEFAULT]\nhost = h1\n');
    const conf = createConfig({ logger: captureLogs().logger });
    await conf.load({ configFiles: [f], env: {} });
    await expect(
      conf.load({ configFiles: [f], env: { CONDUCTOR_DEFAULT__DEBUG: 'maybe' } }),
    ).rejects.toThrow(ConfigValueError);
    expect(conf.getDefault('host')).toBe('h1');
    // reload() uses the last *successful* load's sources
    expect(await conf.reload()).toEqual([]);
  });

  it('reload() before load() throws NotStartedError', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    await expect(conf.reload()).rejects.toThrow(NotStartedError);
  });

  it('concurrent load()/reload() calls are serialised', async () => {
    const f = await tmp.write('c.conf', '[DEFAULT]\nreport_interval = 1\n');
    const conf = createConfig({ logger: captureLogs().logger });
    const first = conf.load({ configFiles: [f], env: {} });
    const second = conf.reload();
    await first;
    expect(await second).toEqual([]);
    expect(conf.getDefault('report_interval')).toBe(1);
  });
});
