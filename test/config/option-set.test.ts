/**
 * Option sets: one definition per option, read back from a configuration or checked from code,
 * frozen and typed either way, with cross-field rules written once and worded for each source.
 */
import { describe, expect, it } from 'vitest';
import {
  ConfigOpts,
  ConfigValidationError,
  defineOptions,
  opt,
  type OptionRule,
} from '../../src/config/index.js';
import {
  ConflictingOptionsError,
  InvalidOptionError,
  InvalidOptionValue,
  UnknownOptionError,
} from '../../src/core/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const windowRule: OptionRule<{ readonly low: number; readonly high: number }> = (o, say) =>
  o.high < o.low
    ? { message: `${say.ref('high')} must be >= ${say.ref('low')}`, options: ['high', 'low'] }
    : undefined;

const sample = defineOptions({
  group: 'sample',
  label: 'sample option',
  options: {
    low: opt.int({ default: 1, min: 0, help: 'Lower bound.' }),
    high: opt.float({ default: 10, min: 0, exclusiveMin: true, max: 100, help: 'Upper bound.' }),
    mode: opt.enum(['fast', 'slow'], { default: 'fast', ignoreCase: true, help: 'How.' }),
    on: opt.bool({ default: true, help: 'Whether.' }),
    path: opt.string({ help: 'Where; unset by default.' }),
    tags: opt.list({ default: ['a'], help: 'Labels.' }),
    token: opt.string({ default: 'dflt', secret: true, help: 'A secret.' }),
  },
  rules: [windowRule],
});

const quiet = () => captureLogs().logger;

describe('defineOptions()', () => {
  it('gives specs in declaration order, names and frozen typed defaults', () => {
    expect(sample.specs.map((s) => `${s.section}.${s.name}:${s.type}`)).toEqual([
      'sample.low:int',
      'sample.high:float',
      'sample.mode:enum',
      'sample.on:bool',
      'sample.path:string',
      'sample.tags:list',
      'sample.token:string',
    ]);
    expect(sample.names).toEqual(['low', 'high', 'mode', 'on', 'path', 'tags', 'token']);
    expect(sample.defaults).toEqual({
      low: 1,
      high: 10,
      mode: 'fast',
      on: true,
      path: undefined,
      tags: ['a'],
      token: 'dflt',
    });
    expect(Object.isFrozen(sample.defaults)).toBe(true);
    expect(Object.isFrozen(sample.specs[0])).toBe(true);
    // typed: these compile only with the right value types
    const low: number = sample.defaults.low;
    const mode: 'fast' | 'slow' = sample.defaults.mode;
    const path: string | undefined = sample.defaults.path;
    expect([low, mode, path]).toEqual([1, 'fast', undefined]);
  });
});

describe('parse() — values given in code', () => {
  it('converts strings (as from a URL query), fills defaults and freezes', () => {
    const v = sample.parse({ low: '2', high: 2.5, mode: 'SLOW', on: 'no', tags: 'x, y' });
    expect(v).toEqual({
      ...sample.defaults,
      low: 2,
      high: 2.5,
      mode: 'slow',
      on: false,
      tags: ['x', 'y'],
    });
    expect(Object.isFrozen(v)).toBe(true);
  });

  it('takes its own result as it is: validated once', () => {
    const v = sample.parse({ low: 3 });
    expect(sample.parse(v)).toBe(v);
    expect(sample.parse(sample.defaults)).toBe(sample.defaults);
    // a copy is checked again
    expect(sample.parse({ ...v })).not.toBe(v);
  });

  it.each([
    [
      { nope: 1 },
      UnknownOptionError,
      'Unknown sample option(s): nope (known: low, high, mode, on, path, tags, token)',
    ],
    [{ low: -1 }, InvalidOptionValue, 'sample option low must be an integer >= 0, got -1'],
    [{ low: 1.5 }, InvalidOptionValue, 'sample option low must be an integer >= 0, got 1.5'],
    [{ high: 0 }, InvalidOptionValue, 'sample option high must be a number > 0 and <= 100, got 0'],
    [
      { mode: 'medium' },
      InvalidOptionValue,
      'sample option mode must be one of fast, slow, got "medium"',
    ],
    [
      { on: 'maybe' },
      InvalidOptionValue,
      'sample option on must be a boolean (true/false, yes/no, on/off, 1/0), got "maybe"',
    ],
    [{ path: '' }, InvalidOptionValue, 'sample option path must be a non-empty string, got ""'],
    [{ token: 5 }, InvalidOptionValue, 'sample option token must be a non-empty string, got "***"'],
    [{ low: 5, high: 2 }, ConflictingOptionsError, 'sample options high (2) must be >= low (5)'],
  ])('rejects %j', (input, cls, message) => {
    let err: unknown;
    try {
      sample.parse(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toBe(message);
  });

  it('rejects what is not an object, and never shows a secret', () => {
    expect(() => sample.parse(5 as never)).toThrow('sample options must be an object, got 5');
    expect(() => sample.parse({ token: 'hunter2', low: 'x' })).not.toThrow(/hunter2/);
  });
});

describe('read() and the rules in a configuration', () => {
  it('reads a loaded configuration into a frozen typed object that parse() accepts', async () => {
    const conf = new ConfigOpts({ logger: quiet(), options: sample });
    await conf.load({ env: {}, cli: { 'sample.low': '4', 'sample.mode': 'slow' } });
    const v = sample.read(conf);
    expect(v).toMatchObject({ low: 4, mode: 'slow', high: 10 });
    expect(Object.isFrozen(v)).toBe(true);
    expect(sample.parse(v)).toBe(v);
  });

  it('runs the set’s rules at load, worded for files, with where each value came from', async () => {
    const conf = new ConfigOpts({ logger: quiet(), options: [sample] });
    const err = await conf
      .load({ env: { CONDUCTOR_SAMPLE__LOW: '50' }, cli: { 'sample.high': '20' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as InstanceType<typeof ConfigValidationError>).problems).toEqual([
      "high must be >= low: [sample] high = 20 (from command-line option 'sample.high'), [sample] low = 50 (from environment variable CONDUCTOR_SAMPLE__LOW)",
    ]);
  });

  it('registers a set once: its rules run once however often it is registered', async () => {
    const conf = new ConfigOpts({ logger: quiet() }).register(sample).register([sample, sample]);
    const err = await conf
      .load({ env: {}, cli: { 'sample.low': '50', 'sample.high': '20' } })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof ConfigValidationError>).problems).toHaveLength(1);
  });
});

describe('ConfigOpts.setDefault() (oslo set_defaults)', () => {
  it('changes a default, checks it, shows it in dumps, and leaves set values alone', async () => {
    const conf = new ConfigOpts({ logger: quiet(), options: sample });
    conf.setDefault('sample', 'mode', 'slow');
    expect(conf.get('sample', 'mode')).toBe('slow');
    expect(conf.spec('sample', 'mode').default).toBe('slow');
    expect(conf.dump().find((r) => r.name === 'mode')?.default).toBe('slow');
    expect(() => conf.setDefault('sample', 'low', -3)).toThrow(InvalidOptionError);
    await conf.load({ env: {}, cli: { 'sample.mode': 'fast' } });
    expect(conf.get('sample', 'mode')).toBe('fast');
    await conf.load({ env: {} });
    expect(conf.get('sample', 'mode')).toBe('slow');
    // registering the original definition again is still a no-op, not a conflict
    expect(() => conf.register(sample)).not.toThrow();
  });
});
