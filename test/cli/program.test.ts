/** The program itself: help texts, --version, usage errors, error formatting, logging set-up. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, logLevel, parseSet } from '../../src/cli/index.js';
import { cli } from './helpers.js';

describe('conductor: help and version', () => {
  const helps: [string[], RegExp[]][] = [
    [['--help'], [/Usage: conductor/, /run/, /config/, /rpc/, /tasks/, /Exit status/]],
    [
      ['run', '--help'],
      [/--manager/, /--topic/, /--host/, /--workers/, /--config-file/],
    ],
    [['config', '--help'], [/show/]],
    [
      ['config', 'show', '--help'],
      [/--format/, /Sources, later wins/],
    ],
    [
      ['rpc', '--help'],
      [/call/, /cast/],
    ],
    [
      ['rpc', 'call', '--help'],
      [/--topic/, /--timeout/, /--version/, /--args/, /RemoteError/],
    ],
    [
      ['rpc', 'cast', '--help'],
      [/--fanout/, /--topic/],
    ],
    [
      ['tasks', '--help'],
      [/--manager/, /--format/],
    ],
  ];
  for (const [argv, patterns] of helps) {
    it(`${argv.join(' ')} prints usage with examples on stdout, exit 0`, async () => {
      const r = await cli(argv);
      expect(r.code).toBe(EXIT.OK);
      expect(r.exits).toEqual([0]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/Examples:\n {2}\$ conductor /);
      for (const p of patterns) expect(r.stdout).toMatch(p);
    });
  }

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('help <command> works too', async () => {
    const r = await cli(['help', 'tasks']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: conductor tasks/);
  });

  it('no command: one usage error line naming the commands on stderr, exit 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'conductor: missing command: run, config, rpc, tasks, vim, services or members (see conductor --help)\n',
    );
  });
});

describe('conductor: usage errors are one line on stderr and exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['rn'], /^conductor: unknown command 'rn' \(Did you mean run\?\)$/],
    [['--nope'], /^conductor: unknown option '--nope'$/],
    [['rpc'], /^conductor: rpc needs a command: call or cast \(see conductor rpc --help\)$/],
    [['config'], /^conductor: config needs a command: show or sample \(see conductor config/],
    [['vim'], /^conductor: vim needs a command: register, list or show \(see conductor vim/],
    [['help', 'frob'], /^conductor: unknown command 'frob' \(see conductor --help\)$/],
    [['run', '--workers', '0'], /--workers <n>.*'0' is invalid\. must be a whole number >= 1$/],
    [['run', '--workers', '1.5'], /'1\.5' is invalid/],
    [['rpc', 'call', '--topic', 'T'], /missing required argument 'method'/],
    [['rpc', 'call', '--topic', 'T', 'm', '--timeout', '0'], /positive number of seconds/],
    [['rpc', 'call', '--topic', 'T', 'm', '--version', 'one'], /must be major\.minor/],
    [['rpc', 'call', '--topic', 'T', 'm', '--args', '[1,2]'], /must be a JSON object/],
    [['rpc', 'call', '--topic', 'T', 'm', '--args', '{oops'], /not valid JSON/],
    [['rpc', 'call', '--topic', 'T', 'm', 'oops'], /argument 'oops' is not key=value/],
    [['rpc', 'call', '--topic', 'T', 'm', '=1'], /argument '=1' is not key=value/],
    [['rpc', 'call', '--topic', 'T', '--fanout', 'm'], /--fanout cannot be used with 'rpc call'/],
    [['rpc', 'cast', '--topic', 'T', 'm', '--timeout', '3'], /unknown option '--timeout'/],
    [['config', 'show', '--format', 'xml'], /Allowed choices are table, json/],
    [['config', 'show', '--set', 'nonsense'], /expected section\.option=value/],
    [['config', 'show', '--set', 'no_such=1'], /no such option no_such in group \[DEFAULT\]/],
    [['config', 'show', '--set', 'report_interval=ten'], /expected an integer >= 0, got 'ten'/],
    [['config', 'show', '--set', 'report_interval=-1'], /Invalid configuration \(1 problem\)/],
    [
      ['config', 'show', '--set', 'report_interval=-1', '--set', 'periodic_interval=-2'],
      /Invalid configuration \(2 problems\): command-line option .*; command-line option /,
    ],
    [
      ['config', 'show', '--set', 'coordination.heartbeat_interval=20'],
      /heartbeat_interval must be less than lease_ttl: .*\(from command-line option/,
    ],
    [['tasks', '--manager', './test/fixtures/cli/nowhere.ts#X'], /Cannot import module/],
    [['tasks', '--manager', './test/fixtures/cli/managers.ts#Nope'], /has no export 'Nope'/],
    [['tasks', '--manager', './test/fixtures/cli/managers.ts#NotAManager'], /not a Manager/],
  ];
  for (const [argv, re] of cases) {
    it(argv.join(' '), async () => {
      const r = await cli(argv);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.exits).toEqual([EXIT.USAGE]);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^conductor: /);
      expect(lines[0]).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('global options go before or after the command; program options are positional', async () => {
    const before = await cli(['--set', 'report_interval=7', 'config', 'show', '--format', 'json']);
    const after = await cli(['config', 'show', '--set', 'report_interval=7', '--format', 'json']);
    for (const r of [before, after]) {
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.stdout) as { option: string; value: unknown }[];
      expect(rows.find((x) => x.option === 'report_interval')?.value).toBe(7);
    }
  });

  it('a bad CONDUCTOR_LOG_LEVEL is a usage error', async () => {
    const r = await cli(['config', 'show'], { env: { CONDUCTOR_LOG_LEVEL: 'loud' } });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/^conductor: CONDUCTOR_LOG_LEVEL='loud' is not a log level/);
  });

  it('a rule broken by a file and the command line together is not a usage error: exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conductor-program-'));
    try {
      const file = join(dir, 'conductor.conf');
      writeFileSync(file, '[coordination]\nlease_ttl = 10\n');
      const r = await cli([
        'config',
        'show',
        '--config-file',
        file,
        '--set',
        'coordination.heartbeat_interval=20',
      ]);
      expect(r.code).toBe(EXIT.FAILURE);
      expect(r.stderr).toBe(
        `conductor: Invalid configuration (1 problem): heartbeat_interval must be less than lease_ttl: [coordination] heartbeat_interval = 20 (from command-line option 'coordination.heartbeat_interval'), [coordination] lease_ttl = 10 (from ${file})\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a runtime failure (unreadable config file) exits 1 with one line', async () => {
    const r = await cli(['config', 'show', '--config-file', '/nonexistent/conductor.conf']);
    expect(r.code).toBe(EXIT.FAILURE);
    expect(r.stderr).toBe(
      'conductor: Cannot read config file /nonexistent/conductor.conf: no such file\n',
    );
  });
});

describe('helpers', () => {
  it('parseSet splits at the first =', () => {
    expect(parseSet('DEFAULT.transport_url=rabbit://u:p=w@h/')).toEqual([
      ['DEFAULT.transport_url', 'rabbit://u:p=w@h/'],
    ]);
    expect(parseSet('host=', [['a', 'b']])).toEqual([
      ['a', 'b'],
      ['host', ''],
    ]);
    expect(() => parseSet('=x')).toThrow(/section\.option=value/);
  });

  it('logLevel: --debug > CONDUCTOR_LOG_LEVEL > the default', () => {
    expect(
      logLevel({ debug: true, defaultLevel: 'info', env: { CONDUCTOR_LOG_LEVEL: 'error' } }),
    ).toBe('debug');
    expect(
      logLevel({ debug: false, defaultLevel: 'info', env: { CONDUCTOR_LOG_LEVEL: 'Error' } }),
    ).toBe('error');
    expect(logLevel({ debug: false, defaultLevel: 'warn', env: {} })).toBe('warn');
  });

  it('--debug logs at debug level', async () => {
    const quiet = await cli(['config', 'show']);
    expect(quiet.logs.filter((l) => l.level === 20)).toEqual([]);
    const loud = await cli(['config', 'show', '--debug']);
    expect(loud.logs.some((l) => l.level === 20 && /Configuration loaded/.test(l.msg))).toBe(true);
  });
});
