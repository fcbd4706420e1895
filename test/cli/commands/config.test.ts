/** `conductor config show`: values, sources (defaults < files < dir < env < --set), masking. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'conductor-cli-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'conductor.conf');
writeFileSync(
  file,
  [
    '[DEFAULT]',
    'transport_url = rabbit://tacker:s3cret-pass@rabbit-1:5672/',
    'report_interval = 20',
    'periodic_interval = 30',
    'host = from-file',
    '',
    '[oslo_messaging_rabbit]',
    'rabbit_retry_interval = 2.5',
    '',
    '[database]',
    'connection = mysql+pymysql://tacker:db-pass@db/tacker',
    '',
  ].join('\n'),
);
const confDir = join(dir, 'conf.d');
mkdirSync(confDir);
writeFileSync(join(confDir, '10-periodic.conf'), '[DEFAULT]\nperiodic_interval = 35\n');

interface Row {
  section: string;
  option: string;
  value: unknown;
  source: string;
}

const env = {
  CONDUCTOR_DEFAULT__REPORT_INTERVAL: '25',
  CONDUCTOR_OSLO_MESSAGING_RABBIT__AMQP_DURABLE_QUEUES: 'true',
};
const argv = [
  'config',
  'show',
  '--config-file',
  file,
  '--config-dir',
  confDir,
  '--set',
  'host=from-cli',
  '--set',
  'oslo_messaging_rabbit.rabbit_interval_max=40',
];

describe('conductor config show', () => {
  it('--format json: every option with its value and source; secrets masked', async () => {
    const r = await cli([...argv, '--format', 'json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    const get = (section: string, option: string): Row | undefined =>
      rows.find((x) => x.section === section && x.option === option);
    expect(get('DEFAULT', 'transport_url')).toEqual({
      section: 'DEFAULT',
      option: 'transport_url',
      value: 'rabbit://tacker:***@rabbit-1:5672/',
      source: `file:${file}`,
    });
    expect(get('database', 'connection')?.value).toBe('mysql+pymysql://tacker:***@db/tacker');
    expect(get('DEFAULT', 'periodic_interval')).toMatchObject({
      value: 35,
      source: `file:${join(confDir, '10-periodic.conf')}`,
    });
    expect(get('DEFAULT', 'report_interval')).toMatchObject({
      value: 25,
      source: 'env:CONDUCTOR_DEFAULT__REPORT_INTERVAL',
    });
    expect(get('oslo_messaging_rabbit', 'amqp_durable_queues')).toMatchObject({
      value: true,
      source: 'env:CONDUCTOR_OSLO_MESSAGING_RABBIT__AMQP_DURABLE_QUEUES',
    });
    expect(get('DEFAULT', 'host')).toMatchObject({ value: 'from-cli', source: 'cli' });
    expect(get('oslo_messaging_rabbit', 'rabbit_interval_max')).toMatchObject({
      value: 40,
      source: 'cli',
    });
    expect(get('oslo_messaging_rabbit', 'rabbit_retry_interval')).toMatchObject({
      value: 2.5,
      source: `file:${file}`,
    });
    expect(get('DEFAULT', 'control_exchange')).toMatchObject({
      value: 'tacker',
      source: 'default',
    });
    expect(get('oslo_messaging_rabbit', 'ssl_ca_file')).toMatchObject({ value: null });
    expect(r.stdout).not.toContain('s3cret-pass');
    expect(r.stdout).not.toContain('db-pass');
  });

  it('table (default): one line per option with section, option, value, source', async () => {
    const r = await cli(argv, { env });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SECTION\s+OPTION\s+VALUE\s+SOURCE$/);
    const line = (option: string): string | undefined =>
      lines.find((l) => new RegExp(`^\\S+\\s+${option}\\s`).test(l));
    expect(line('transport_url')).toMatch(
      new RegExp(
        `^DEFAULT\\s+transport_url\\s+rabbit://tacker:\\*\\*\\*@rabbit-1:5672/\\s+file:${file}$`,
      ),
    );
    expect(line('report_interval')).toMatch(/\s25\s+env:CONDUCTOR_DEFAULT__REPORT_INTERVAL$/);
    expect(line('host')).toMatch(/\sfrom-cli\s+cli$/);
    expect(line('ssl_ca_file')).toMatch(/\s<unset>\s+default$/);
    expect(r.stdout).not.toContain('s3cret-pass');
    // every option appears once, sorted by section then name
    const keys = lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join('.'));
    expect(keys).toEqual([...keys].sort());
  });

  it('a password given with --set or the environment is masked as well', async () => {
    const r = await cli(
      ['config', 'show', '--format', 'json', '--set', 'transport_url=rabbit://u:cli-pw@h:5672/'],
      { env: { CONDUCTOR_DATABASE__CONNECTION: 'postgresql://x:env-pw@db/x' } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rabbit://u:***@h:5672/');
    expect(r.stdout).toContain('postgresql://x:***@db/x');
    expect(r.stdout).not.toMatch(/cli-pw|env-pw/);
  });

  it('unknown options in a file are warned about on stderr (logs), not fatal', async () => {
    const odd = join(dir, 'odd.conf');
    writeFileSync(odd, '[DEFAULT]\nno_such_option = 1\n');
    const r = await cli(['config', 'show', '--config-file', odd, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(r.logs.some((l) => /Unknown option \[DEFAULT\] no_such_option/.test(l.msg))).toBe(true);
  });

  it('an invalid file is a one-line runtime error (exit 1)', async () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, '[DEFAULT]\nreport_interval = ten\n');
    const r = await cli(['config', 'show', '--config-file', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `conductor: ${bad} [DEFAULT] report_interval: expected an integer >= 0, got 'ten'\n`,
    );
  });
});
