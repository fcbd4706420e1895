import { describe, expect, it } from 'vitest';
import { ConfigFileError, parseIni, type ParsedIni } from '../../src/config/index.js';
import { createConfig } from '../helpers/config.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { useTmpDir } from './tmp.js';

const tmp = useTmpDir();

function flat(p: ParsedIni): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [s, m] of p.sections) {
    out[s] = {};
    for (const [k, e] of m) (out[s] as Record<string, string>)[k] = e.value;
  }
  return out;
}

describe('parseIni (oslo dialect)', () => {
  it('sections, = and :, comments, trimming, quotes, continuation, CRLF and BOM', () => {
    const text = [
      '\uFEFF# leading comment',
      '; another comment',
      '[DEFAULT]',
      'a = 1',
      'b: two words  ',
      'c=x=y',
      'd : e=f',
      '   # an indented comment is a comment',
      'q1 = "  spaced  "',
      "q2 = 'single'",
      'q3 = "only one',
      'url = rabbit://u:p;a#ss@h:5672/',
      'multi = first',
      '  second',
      '\tthird',
      '',
      '[Oslo_Messaging_Rabbit]',
      'ssl = true',
      '[DEFAULT]',
      'again = yes',
    ].join('\r\n');
    const p = parseIni(text, '/x.conf');
    expect(flat(p)).toEqual({
      DEFAULT: {
        a: '1',
        b: 'two words',
        c: 'x=y',
        d: 'e=f',
        q1: '  spaced  ',
        q2: 'single',
        q3: '"only one',
        url: 'rabbit://u:p;a#ss@h:5672/',
        multi: 'first\nsecond\nthird',
        again: 'yes',
      },
      oslo_messaging_rabbit: { ssl: 'true' },
    });
    expect(p.sections.get('DEFAULT')?.get('multi')?.line).toBe(13);
  });

  it('duplicate keys: the last one wins and is reported', () => {
    const p = parseIni('[DEFAULT]\nk = 1\nk = 2\n[s]\nk = 3\n[DEFAULT]\nk = 4\n', '/x.conf');
    expect(p.sections.get('DEFAULT')?.get('k')).toEqual({ value: '4', line: 7 });
    expect(p.duplicates).toEqual([
      { section: 'DEFAULT', key: 'k', firstLine: 2, lastLine: 3 },
      { section: 'DEFAULT', key: 'k', firstLine: 3, lastLine: 7 },
    ]);
  });

  it('syntax errors name file and line, never the line’s content', () => {
    const cases: [string, string][] = [
      ['[DEFAULT]\npassword hunter2\n', "/x.conf:2: no '=' or ':' in assignment"],
      ['[DEFAULT]\n= hunter2\n', '/x.conf:2: empty key'],
      [
        'password = hunter2\n',
        '/x.conf:1: assignment before any [section] header (start with [DEFAULT])',
      ],
      ['  hunter2\n', '/x.conf:1: unexpected continuation line (it starts with whitespace)'],
      ['[DEFAULT\n', "/x.conf:1: invalid section header (must end with ']')"],
      ['[ ]\n', '/x.conf:1: empty section name'],
      [
        '[DEFAULT]\na = 1\n\n  hunter2\n',
        '/x.conf:4: unexpected continuation line (it starts with whitespace)',
      ],
    ];
    for (const [text, message] of cases) {
      let err: unknown;
      try {
        parseIni(text, '/x.conf');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ConfigFileError);
      expect((err as Error).message).toBe(message);
      expect((err as Error).message).not.toContain('hunter2');
      expect((err as ConfigFileError).file).toBe('/x.conf');
    }
  });

  it('keeps `$` literal (no oslo interpolation) and does not type values', () => {
    const p = parseIni('[DEFAULT]\na = $host\nb = true\nc = null\nd = 123\n', '/x.conf');
    expect(flat(p)['DEFAULT']).toEqual({ a: '$host', b: 'true', c: 'null', d: '123' });
  });
});

describe('prototype pollution', () => {
  it('__proto__ / constructor / prototype keys and sections pollute nothing', async () => {
    const logs = captureLogs();
    const f = await tmp.write(
      'evil.conf',
      [
        '[__proto__]',
        'polluted = yes',
        'report_interval = 1',
        '[constructor]',
        'prototype = x',
        '[DEFAULT]',
        '__proto__ = polluted',
        'constructor = polluted',
        'toString = polluted',
        'hasOwnProperty = polluted',
        'report_interval = 7',
        '[oslo_messaging_rabbit]',
        '__proto__ = polluted',
        '',
      ].join('\n'),
    );
    const conf = createConfig({ logger: logs.logger });
    await conf.load({
      configFiles: [f],
      env: { CONDUCTOR___PROTO____POLLUTED: 'yes', CONDUCTOR_DEFAULT____PROTO__: 'yes' },
    });
    expect(conf.getDefault('report_interval')).toBe(7);
    const plain: Record<string, unknown> = {};
    expect(plain['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(typeof {}.toString).toBe('function');
    expect(Object.keys(Object.prototype)).toEqual([]);
    const parsed = parseIni('[__proto__]\na = 1\n[DEFAULT]\n__proto__ = 1\n', '/y.conf');
    expect(parsed.sections.get('__proto__')?.get('a')?.value).toBe('1');
    expect(parsed.sections.get('DEFAULT')?.get('__proto__')?.value).toBe('1');
    // toLog / dump / section are built from registered names only
    expect(Object.keys(conf.toLog())).toEqual([
      'DEFAULT',
      'coordination',
      'database',
      'oslo_messaging_rabbit',
    ]);
    expect(Object.getPrototypeOf(conf.section('DEFAULT'))).toBe(Object.prototype);
    expect(conf.section('DEFAULT')).not.toHaveProperty('constructor', 'polluted');
    const warns = logs.messages(LEVEL.warn);
    expect(warns).toContain(`Unknown section [__proto__] in ${f} (ignored)`);
    expect(warns).toContain(`Unknown option [DEFAULT] __proto__ in ${f}:7 (ignored)`);
    expect(warns).toContain(`Unknown option [DEFAULT] constructor in ${f}:8 (ignored)`);
    expect(warns).toContain(
      `Unknown option [oslo_messaging_rabbit] __proto__ in ${f}:13 (ignored)`,
    );
  });

  it('a cli object with an own __proto__ key is an unknown option, not a prototype', async () => {
    const conf = createConfig({ logger: captureLogs().logger });
    const cli = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    await expect(conf.load({ env: {}, cli })).rejects.toThrow(
      "command-line option '__proto__': no such option __proto__ in group [DEFAULT]",
    );
  });
});
