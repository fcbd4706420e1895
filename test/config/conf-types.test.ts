import { describe, expect, it } from 'vitest';
import {
  ConfigOpts,
  ConfigValidationError,
  ConfigValueError,
  type OptionSpec,
} from '../../src/config/index.js';
import { hasErrorCode } from '../../src/core/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { useTmpDir } from './tmp.js';

const tmp = useTmpDir();

const T = 'typed';
const specs: OptionSpec[] = [
  { section: T, name: 's', type: 'string', default: 'x', help: '' },
  { section: T, name: 'opt_s', type: 'string', help: 'no default' },
  { section: T, name: 'i', type: 'int', default: 0, min: 0, help: '' },
  { section: T, name: 'port', type: 'int', default: 1, min: 1, max: 65535, help: '' },
  { section: T, name: 'any_int', type: 'int', default: 0, help: '' },
  { section: T, name: 'f', type: 'float', default: 1, min: 0, exclusiveMin: true, help: '' },
  { section: T, name: 'b', type: 'bool', default: false, help: '' },
  { section: T, name: 'l', type: 'list', default: ['a'], help: '' },
  { section: T, name: 'e', type: 'enum', default: 'one', choices: ['one', 'two'], help: '' },
  {
    section: T,
    name: 'ei',
    type: 'enum',
    default: 'AMQPLAIN',
    choices: ['AMQPLAIN', 'PLAIN'],
    ignoreCase: true,
    help: '',
  },
];

function newConf(): ConfigOpts {
  return new ConfigOpts({ logger: captureLogs().logger }).register(specs);
}

/** Loads `[typed] name = raw` from a file and returns the value. */
async function fromFile(name: string, raw: string): Promise<unknown> {
  const conf = newConf();
  const f = await tmp.write('t.conf', `[typed]\n${name} = ${raw}\n`);
  await conf.load({ configFiles: [f], env: {} });
  return conf.get(T, name);
}

/** The error of loading `[typed] name = raw` from a file. */
async function fileError(name: string, raw: string): Promise<{ err: Error; file: string }> {
  const conf = newConf();
  const file = await tmp.write('t.conf', `[typed]\n${name} = ${raw}\n`);
  const err = await conf.load({ configFiles: [file], env: {} }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!err) throw new Error(`no error for ${name} = ${raw}`);
  return { err, file };
}

describe('conversion of every type', () => {
  it('string: trimmed, one pair of outer quotes removed, empty = unset without default', async () => {
    expect(await fromFile('s', '  hello world  ')).toBe('hello world');
    expect(await fromFile('s', '"  quoted  "')).toBe('  quoted  ');
    expect(await fromFile('s', "'single'")).toBe('single');
    expect(await fromFile('s', '"mismatched\'')).toBe('"mismatched\'');
    expect(await fromFile('s', '')).toBe('');
    expect(await fromFile('opt_s', '')).toBeUndefined();
    expect(await fromFile('s', 'a = b : c')).toBe('a = b : c');
  });

  it('int: strict digits with optional sign', async () => {
    expect(await fromFile('i', '42')).toBe(42);
    expect(await fromFile('i', '+7')).toBe(7);
    expect(await fromFile('any_int', '-3')).toBe(-3);
    expect(await fromFile('i', '007')).toBe(7);
    for (const bad of ['ten', '10s', '1.5', '1e3', '0x10', '1_000', '', '9007199254740993']) {
      const { err, file } = await fileError('i', bad);
      expect(err).toBeInstanceOf(ConfigValueError);
      expect(err.message).toBe(
        `${file} [typed] i: expected an integer >= 0, got ${bad === '' ? "''" : `'${bad}'`}`,
      );
    }
  });

  it('float: decimal or exponent notation; inf and nan rejected', async () => {
    expect(await fromFile('f', '2.5')).toBe(2.5);
    expect(await fromFile('f', '.5')).toBe(0.5);
    expect(await fromFile('f', '3')).toBe(3);
    expect(await fromFile('f', '1e3')).toBe(1000);
    for (const bad of ['fast', '1.5s', 'inf', 'NaN', '1,5', '']) {
      const { err, file } = await fileError('f', bad);
      expect(err.message).toBe(`${file} [typed] f: expected a number > 0, got '${bad}'`);
    }
  });

  it('bool: true/false, yes/no, on/off, 1/0, any case', async () => {
    for (const t of ['true', 'TRUE', 'Yes', 'on', '1'])
      expect(await fromFile('b', t), t).toBe(true);
    for (const f of ['false', 'False', 'NO', 'off', '0'])
      expect(await fromFile('b', f), f).toBe(false);
    const { err, file } = await fileError('b', 'maybe');
    expect(err.message).toBe(
      `${file} [typed] b: expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'`,
    );
    expect((await fileError('b', '')).err.message).toContain("got ''");
    expect((await fileError('b', 't')).err.message).toContain("got 't'");
  });

  it('list: comma-separated, items trimmed, empty items dropped', async () => {
    expect(await fromFile('l', 'a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(await fromFile('l', 'one')).toEqual(['one']);
    expect(await fromFile('l', '')).toEqual([]);
    expect(await fromFile('l', 'a,,b,')).toEqual(['a', 'b']);
    expect(Object.isFrozen(await fromFile('l', 'a'))).toBe(true);
  });

  it('enum: exact choices; ignoreCase stores the choice’s spelling', async () => {
    expect(await fromFile('e', 'two')).toBe('two');
    expect(await fromFile('ei', 'plain')).toBe('PLAIN');
    const { err, file } = await fileError('e', 'TWO');
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as ConfigValidationError).problems).toEqual([
      `${file} [typed] e: expected one of 'one', 'two', got 'TWO'`,
    ]);
  });

  it('ranges are checked by validate(), naming the source', async () => {
    const { err, file } = await fileError('port', '70000');
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(hasErrorCode(err, 'CONDUCTOR_CONFIG_INVALID')).toBe(true);
    expect(err.message).toBe(
      `Invalid configuration (1 problem):\n  - ${file} [typed] port: expected an integer >= 1 and <= 65535, got '70000'`,
    );
    expect((await fileError('f', '0')).err.message).toContain(
      "[typed] f: expected a number > 0, got '0'",
    );
    expect(await fromFile('port', '65535')).toBe(65535);
  });

  it('load({ validate: false }) skips ranges; validate() reports them later', async () => {
    const conf = newConf();
    await conf.load({ env: {}, cli: { 'typed.port': '0' }, validate: false });
    expect(conf.get(T, 'port')).toBe(0);
    expect(() => conf.validate()).toThrow(
      "command-line option 'typed.port' [typed] port: expected an integer >= 1 and <= 65535, got '0'",
    );
  });

  it('hints at inline comments, which oslo does not have', async () => {
    const { err, file } = await fileError('i', '10 # seconds');
    expect(err.message).toBe(
      `${file} [typed] i: expected an integer >= 0, got '10 # seconds' (a '#' or ';' after a value is part of the value: comments go on their own line)`,
    );
    expect(await fromFile('s', 'a # b ; c')).toBe('a # b ; c');
  });
});

describe('errors name the env variable or the command-line key', () => {
  it('environment', async () => {
    const conf = newConf();
    const err = await conf
      .load({ env: { CONDUCTOR_TYPED__I: 'ten' } })
      .catch((e: unknown) => e as ConfigValueError);
    expect(err).toBeInstanceOf(ConfigValueError);
    expect(err?.message).toBe(
      "environment variable CONDUCTOR_TYPED__I [typed] i: expected an integer >= 0, got 'ten'",
    );
    expect(err).toMatchObject({
      location: 'environment variable CONDUCTOR_TYPED__I',
      section: 'typed',
      option: 'i',
      code: 'CONDUCTOR_CONFIG_VALUE',
    });
  });

  it('command line', async () => {
    const conf = newConf();
    await expect(conf.load({ env: {}, cli: { 'typed.b': 'sometimes' } })).rejects.toThrow(
      "command-line option 'typed.b' [typed] b: expected a boolean (true/false, yes/no, on/off, 1/0), got 'sometimes'",
    );
  });

  it('the built-in example: report_interval = ten', async () => {
    const { createConfig } = await import('../helpers/config.js');
    const conf = createConfig({ logger: captureLogs().logger });
    const file = await tmp.write('conductor.conf', '[DEFAULT]\nreport_interval = ten\n');
    const err = await conf.load({ configFiles: [file], env: {} }).catch((e: unknown) => e as Error);
    expect(String(err)).toBe(
      `ConfigValueError: ${file} [DEFAULT] report_interval: expected an integer >= 0, got 'ten'`,
    );
  });

  it('a deprecated name is named as written', async () => {
    const { createConfig } = await import('../helpers/config.js');
    const conf = createConfig({ logger: captureLogs().logger });
    const file = await tmp.write('old.conf', '[DEFAULT]\nrpc_thread_pool_size = lots\n');
    await expect(conf.load({ configFiles: [file], env: {} })).rejects.toThrow(
      `${file} [DEFAULT] rpc_thread_pool_size: expected an integer >= 1, got 'lots'`,
    );
  });

  it('only the winning value is converted (a bad file value overridden by cli is fine)', async () => {
    const conf = newConf();
    const file = await tmp.write('t.conf', '[typed]\ni = ten\n');
    await conf.load({ configFiles: [file], env: {}, cli: { 'typed.i': '3' } });
    expect(conf.get(T, 'i')).toBe(3);
  });
});
