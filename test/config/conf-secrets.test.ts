import { describe, expect, it } from 'vitest';
import { ConfigOpts, maskUrlPassword, type OptionSpec } from '../../src/config/index.js';
import { createConfig } from '../helpers/config.js';
import { captureLogs } from '../helpers/log-capture.js';
import { useTmpDir } from './tmp.js';

const tmp = useTmpDir();

describe('maskUrlPassword', () => {
  it.each([
    ['rabbit://guest:guest@host:5672/', 'rabbit://guest:***@host:5672/'],
    [
      'rabbit://guest:s3cret@h1:5672,other:pw2@h2:5672/vhost',
      'rabbit://guest:***@h1:5672,other:***@h2:5672/vhost',
    ],
    [
      'mysql+pymysql://tacker:pw@db.example/tacker?charset=utf8',
      'mysql+pymysql://tacker:***@db.example/tacker?charset=utf8',
    ],
    ['amqp://u:p@[::1]:5671/?ssl=1', 'amqp://u:***@[::1]:5671/?ssl=1'],
    ['memory://', 'memory://'],
    ['memory://name', 'memory://name'],
    ['sqlite:///data/conductor.db', 'sqlite:///data/conductor.db'],
    ['rabbit://user@host/', 'rabbit://user@host/'],
    ['rabbit://user:@host/', 'rabbit://user:***@host/'],
    // raw special characters in the password: masked up to the last '@'
    ['rabbit://u:p@ss/w?rd#x@host:5672/', 'rabbit://u:***@host:5672/'],
    ['rabbit://u:a,b@host/', 'rabbit://***@host/'],
    ['rabbit://u:a@b,c@d@host/', 'rabbit://***@host/'],
    ['rabbit://u:p@h1,h2:5672/', 'rabbit://***@h1,h2:5672/'],
    [
      'postgresql://db/c?user=x&password=hunter2&sslmode=require',
      'postgresql://db/c?user=x&password=***&sslmode=require',
    ],
    ['not a url u:hunter2@host', '***'],
    ['guest:hunter2', '***'],
  ])('%s', (input, output) => {
    expect(maskUrlPassword(input)).toBe(output);
    expect(maskUrlPassword(input)).not.toMatch(/hunter2|s3cret|pw2|p@ss|a,b/);
  });
});

const passwordOpt: OptionSpec = {
  section: 'keystone_authtoken',
  name: 'password',
  type: 'string',
  secret: true,
  help: 'Service password.',
};
const secretInt: OptionSpec = {
  section: 'keystone_authtoken',
  name: 'pin',
  type: 'int',
  default: 1234,
  min: 1000,
  secret: true,
  help: 'A secret number.',
};

describe('secrets in dump(), toLog(), logOptValues()', () => {
  it('masks passwords and keeps the rest of URLs', async () => {
    const logs = captureLogs();
    const conf = createConfig({ logger: logs.logger }).register([passwordOpt, secretInt]);
    const f = await tmp.write(
      'c.conf',
      [
        '[DEFAULT]',
        'transport_url = rabbit://tacker:hunter2@mq1:5672,tacker:hunter2@mq2:5672/tacker',
        '[database]',
        'connection = mysql+pymysql://tacker:hunter2@db/tacker',
        '[keystone_authtoken]',
        'password = hunter2',
        'pin = 4242',
        '',
      ].join('\n'),
    );
    await conf.load({ configFiles: [f], env: {} });
    expect(conf.getDefault('transport_url')).toContain('hunter2'); // the program gets the real value

    const rows = conf.dump();
    const row = (s: string, n: string) => rows.find((r) => r.section === s && r.name === n);
    expect(row('DEFAULT', 'transport_url')).toMatchObject({
      value: 'rabbit://tacker:***@mq1:5672,tacker:***@mq2:5672/tacker',
      default: 'memory://',
      source: `file:${f}`,
      secret: true,
    });
    expect(row('database', 'connection')?.value).toBe('mysql+pymysql://tacker:***@db/tacker');
    expect(row('keystone_authtoken', 'password')).toMatchObject({
      value: '***',
      default: undefined,
    });
    expect(row('keystone_authtoken', 'pin')).toMatchObject({ value: '***', default: '***' });
    expect(row('DEFAULT', 'report_interval')).toMatchObject({
      value: 10,
      default: 10,
      source: 'default',
      secret: false,
      type: 'int',
      help: 'Seconds between state reports of the service; 0 disables them.',
    });
    // sorted by section (code-unit order: DEFAULT first), then name
    const order = rows.map((r) => `${r.section}.${r.name}`);
    expect(order).toEqual([...order].sort());
    expect(order[0]).toBe('DEFAULT.control_exchange');

    const log = conf.toLog();
    expect(log['DEFAULT']?.['transport_url']).toBe(
      'rabbit://tacker:***@mq1:5672,tacker:***@mq2:5672/tacker',
    );
    expect(log['keystone_authtoken']?.['password']).toBe('***');
    expect(log['DEFAULT']?.['report_interval']).toBe(10);

    conf.logOptValues(logs.logger, 'info');
    const lines = logs.messages();
    expect(lines).toContain(`config files: ['${f}']`);
    expect(lines).toContain(
      `${'transport_url'.padEnd(30)} = rabbit://tacker:***@mq1:5672,tacker:***@mq2:5672/tacker`,
    );
    expect(lines).toContain(`${'keystone_authtoken.password'.padEnd(30)} = ***`);
    expect(lines).toContain(`${'oslo_messaging_rabbit.ssl_ca_file'.padEnd(30)} = <unset>`);

    const everything = JSON.stringify([rows, log, logs.lines]);
    expect(everything).not.toContain('hunter2');
    expect(everything).not.toContain('4242');
  });
});

describe('secrets in errors', () => {
  it('a type error on a secret shows ***', async () => {
    const conf = new ConfigOpts({ logger: captureLogs().logger }).register(secretInt);
    const f = await tmp.write('c.conf', '[keystone_authtoken]\npin = hunter2 # x\n');
    const err = await conf.load({ configFiles: [f], env: {} }).catch((e: unknown) => e as Error);
    expect(err?.message).toBe(
      `${f} [keystone_authtoken] pin: expected an integer >= 1000, got '***'`,
    );
    const envErr = await conf
      .load({ env: { CONDUCTOR_KEYSTONE_AUTHTOKEN__PIN: 'hunter2' } })
      .catch((e: unknown) => e as Error);
    expect(envErr?.message).toBe(
      "environment variable CONDUCTOR_KEYSTONE_AUTHTOKEN__PIN [keystone_authtoken] pin: expected an integer >= 1000, got '***'",
    );
  });

  it('a range error on a secret shows ***', async () => {
    const conf = new ConfigOpts({ logger: captureLogs().logger }).register(secretInt);
    await expect(conf.load({ env: {}, cli: { 'keystone_authtoken.pin': '42' } })).rejects.toThrow(
      "command-line option 'keystone_authtoken.pin' [keystone_authtoken] pin: expected an integer >= 1000, got '***'",
    );
  });

  it('cross-field messages mask URL secrets', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    const err = await conf
      .load({
        env: {
          CONDUCTOR_DEFAULT__TRANSPORT_URL: 'rabbit://u:hunter2@h/',
          CONDUCTOR_OSLO_MESSAGING_RABBIT__SSL_CA_FILE: '/ca.pem',
        },
      })
      .catch((e: unknown) => e as Error);
    expect(err?.message).toContain('ssl_ca_file need ssl = true');
    expect(err?.message).not.toContain('hunter2');
    expect(conf.describe('DEFAULT', 'transport_url')).toBe(
      '[DEFAULT] transport_url = memory:// (from default)',
    );
  });

  it('a syntax error on a line holding a secret does not quote it', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    const f = await tmp.write('c.conf', '[database]\nconnection hunter2\n');
    const err = await conf.load({ configFiles: [f], env: {} }).catch((e: unknown) => e as Error);
    expect(err?.message).toBe(`${f}:2: no '=' or ':' in assignment`);
  });

  it('a malformed key (oslo splits `connection mysql://u:pw@db` at the colon) is not quoted', async () => {
    const logs = captureLogs();
    const conf = createConfig({ logger: logs.logger });
    const f = await tmp.write('c.conf', '[database]\nconnection mysql://u:hunter2@db/x\n');
    await conf.load({ configFiles: [f], env: {} });
    expect(logs.messages()).toContain(
      `Unknown option [database] <not an option name> in ${f}:2 (ignored)`,
    );
    expect(JSON.stringify(logs.lines)).not.toContain('hunter2');
  });
});
