import { ConflictingOptionsError, InvalidOptionValue, UnknownOptionError } from '../core/index.js';
import { maskValue } from './mask.js';
import type { ConfigView, OptionSpec, OptionValue } from './types.js';
import { convert, expected, inRange } from './values.js';

/**
 * One option of an {@link OptionSet}, without its group and name (the set gives those). `T` is the
 * type of its value, for the typed objects the set yields.
 */
export interface OptionDef<T> extends Omit<OptionSpec, 'section' | 'name'> {
  /** Phantom: the value's type. */
  readonly __value?: T;
}

type Common = Pick<OptionSpec, 'help' | 'secret' | 'deprecatedNames'>;
type Numeric = Common & Pick<OptionSpec, 'min' | 'max' | 'exclusiveMin'>;

/** Builders of {@link OptionDef}s: `opt.int({ default: 60, min: 0, help: '...' })`. */
export const opt = {
  int(d: Numeric & { default: number }): OptionDef<number> {
    return { ...d, type: 'int' };
  },
  float(d: Numeric & { default: number }): OptionDef<number> {
    return { ...d, type: 'float' };
  },
  bool(d: Common & { default: boolean }): OptionDef<boolean> {
    return { ...d, type: 'bool' };
  },
  /** A string; without a default it is unset (`undefined`) until a source sets it. */
  string: ((d: Common & { default?: string }) => ({ ...d, type: 'string' })) as {
    (d: Common & { default: string }): OptionDef<string>;
    (d: Common): OptionDef<string | undefined>;
  },
  enum<const C extends readonly string[]>(
    choices: C,
    d: Common & { default: C[number]; ignoreCase?: boolean },
  ): OptionDef<C[number]> {
    return { ...d, type: 'enum', choices };
  },
  list(d: Common & { default: readonly string[] }): OptionDef<readonly string[]> {
    return { ...d, type: 'list' };
  },
};

/** The typed values of a set's definitions. */
export type OptionValues<D extends Readonly<Record<string, OptionDef<unknown>>>> = {
  readonly [K in keyof D]: D[K] extends OptionDef<infer T> ? T : never;
};

/** A cross-field problem: what is wrong, and the options it concerns (for the message). */
export interface RuleProblem {
  readonly message: string;
  /** Options of the set the problem is about, in the order their values are shown. */
  readonly options: readonly string[];
}

/**
 * How a rule names things, in the syntax of where the values came from: configuration sources
 * (`ssl = true`, `[DEFAULT] transport_url`, values listed after the message) or code
 * (`ssl=true`, `rabbit_interval_max (1)`).
 */
export interface RuleWriter {
  /** An option of the set; in code followed by its value: `rabbit_interval_max (1)`. */
  ref(name: string): string;
  /** An assignment: `ssl = true` in configuration, `ssl=true` in code. */
  assign(name: string, value: string): string;
  /** An option of another group: `[DEFAULT] transport_url` in configuration, its name in code. */
  other(section: string, name: string): string;
  /** The value of another group's option (configuration only; undefined in code). */
  lookup(section: string, name: string): unknown;
}

/** A cross-field check of a set; `undefined` when the values are fine together. */
export type OptionRule<T> = (values: Readonly<T>, say: RuleWriter) => RuleProblem | undefined;

/** What {@link defineOptions} takes. */
export interface OptionSetDefinition<D extends Readonly<Record<string, OptionDef<unknown>>>> {
  /** The section: `DEFAULT` or a lower-case group name. */
  readonly group: string;
  /** How errors from code name one option: `rabbit option`, `service option`. */
  readonly label: string;
  readonly options: D;
  readonly rules?: readonly OptionRule<OptionValues<D>>[];
}

/**
 * A group of options defined once, by the layer that uses them (oslo's `cfg.*Opt` lists with
 * `list_opts()`): the specs to register in a `ConfigOpts`, the typed defaults, the cross-field
 * rules, and the two ways in — {@link OptionSet.read} from a loaded configuration and
 * {@link OptionSet.parse} from code. Either way the values are validated once and come back as a
 * frozen, typed object, which {@link OptionSet.parse} then takes as it is.
 */
export interface OptionSet<T> {
  readonly group: string;
  readonly label: string;
  /** The options, as `ConfigOpts.register()` takes them. */
  readonly specs: readonly OptionSpec[];
  readonly names: readonly (keyof T & string)[];
  /** Every option at its default. */
  readonly defaults: Readonly<T>;
  readonly rules: readonly OptionRule<T>[];
  /**
   * The values of a loaded configuration where the set is registered (`ConfigOpts.load()`
   * validated them, rules included), frozen.
   */
  read(conf: Pick<ConfigView, 'get'>): Readonly<T>;
  /**
   * Validates values given in code — unknown keys, types (strings are converted, as from a URL
   * query), ranges, then the rules — fills in the defaults and freezes the result. An object this
   * set produced is returned as it is. Throws `UnknownOptionError`, `InvalidOptionValue` or
   * `ConflictingOptionsError`.
   */
  parse(input?: Readonly<Record<string, unknown>>): Readonly<T>;
  /** The rule problems of `values`, as configuration messages (for `ConfigOpts.validate()`). */
  check(conf: ConfigView): string[];
}

/** Objects produced by a set's `read`/`parse`: already validated. */
const validated = new WeakMap<object, OptionSet<unknown>>();

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** A value from code converted to the option's type, or undefined when it cannot be. */
function fromCode(
  spec: OptionSpec,
  raw: unknown,
): { ok: true; value: OptionValue } | { ok: false } {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    // The empty string means "unset" in files, never a value given in code.
    if (raw === '') return { ok: false };
    if (spec.type === 'bool') {
      const v = raw.toLowerCase();
      value = TRUE.has(v) ? true : FALSE.has(v) ? false : raw;
    } else if (spec.type !== 'string') {
      const converted = convert(spec, raw.trim());
      if (!converted.ok) return { ok: false };
      value = converted.value;
    }
  } else if (spec.type === 'list' && Array.isArray(raw)) {
    value = Object.freeze([...(raw as unknown[])]);
  }
  return inRange(spec, value) ? { ok: true, value: value as OptionValue } : { ok: false };
}

function shown(spec: Pick<OptionSpec, 'secret'>, raw: unknown): string {
  const v = maskValue(spec, raw);
  if (typeof v === 'function') return 'a function';
  return JSON.stringify(v) ?? String(v);
}

/** Defines a set of options of one group; see {@link OptionSet}. */
export function defineOptions<const D extends Readonly<Record<string, OptionDef<unknown>>>>(
  definition: OptionSetDefinition<D>,
): OptionSet<OptionValues<D>> {
  type T = OptionValues<D>;
  const { group, label } = definition;
  const names = Object.keys(definition.options) as (keyof T & string)[];
  const specs: OptionSpec[] = names.map((name) => {
    const { __value: _phantom, ...def } = definition.options[name] as OptionDef<unknown>;
    return Object.freeze({ ...def, section: group, name });
  });
  const specOf = new Map(specs.map((s) => [s.name, s]));
  const rules = Object.freeze([...(definition.rules ?? [])]);

  const seal = (values: Record<string, unknown>): Readonly<T> => {
    const frozen = Object.freeze(values) as Readonly<T>;
    validated.set(frozen, set as OptionSet<unknown>);
    return frozen;
  };
  const codeWriter = (values: Readonly<T>): RuleWriter => ({
    ref: (name) =>
      `${name} (${String(maskValue(specOf.get(name) ?? {}, (values as Record<string, unknown>)[name]))})`,
    assign: (name, value) => `${name}=${value}`,
    other: (_section, name) => name,
    lookup: () => undefined,
  });
  const configWriter = (conf: ConfigView): RuleWriter => ({
    ref: (name) => name,
    assign: (name, value) => `${name} = ${value}`,
    other: (section, name) => `[${section}] ${name}`,
    lookup: (section, name) => (conf.has(section, name) ? conf.get(section, name) : undefined),
  });

  const set: OptionSet<T> = {
    group,
    label,
    specs: Object.freeze(specs),
    names: Object.freeze(names),
    defaults: undefined as unknown as Readonly<T>,
    rules,
    read(conf) {
      const values: Record<string, unknown> = {};
      for (const name of names) values[name] = conf.get(group, name);
      return seal(values);
    },
    parse(input = {}) {
      if (validated.get(input) === (set as OptionSet<unknown>)) return input as Readonly<T>;
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        throw new InvalidOptionValue(`${label}s`, 'an object', shown({}, input));
      const unknown = Object.keys(input).filter((k) => !specOf.has(k));
      if (unknown.length > 0)
        throw new UnknownOptionError(label, unknown.join(', '), names.join(', '));
      const values: Record<string, unknown> = { ...set.defaults };
      for (const [name, raw] of Object.entries(input)) {
        if (raw === undefined) continue;
        const spec = specOf.get(name) as OptionSpec;
        const converted = fromCode(spec, raw);
        if (!converted.ok)
          throw new InvalidOptionValue(
            `${label} ${name}`,
            expected(spec, 'code'),
            shown(spec, raw),
          );
        values[name] = converted.value;
      }
      for (const rule of rules) {
        const problem = rule(values as Readonly<T>, codeWriter(values as Readonly<T>));
        if (problem) throw new ConflictingOptionsError(`${label}s ${problem.message}`);
      }
      return seal(values);
    },
    check(conf) {
      if (!names.every((n) => conf.has(group, n))) return [];
      const values = set.read(conf);
      const say = configWriter(conf);
      const problems: string[] = [];
      for (const rule of rules) {
        const problem = rule(values, say);
        if (!problem) continue;
        const where = problem.options.map((n) => conf.describe(group, n)).join(', ');
        problems.push(where ? `${problem.message}: ${where}` : problem.message);
      }
      return problems;
    },
  };
  const defaults: Record<string, unknown> = {};
  for (const spec of specs) defaults[spec.name] = spec.default;
  (set as { defaults: Readonly<T> }).defaults = seal(defaults);
  return Object.freeze(set);
}

/** The value type of an option set: `OptionSetValues<typeof vimMonitorOptions>`. */
export type OptionSetValues<S> = S extends OptionSet<infer T> ? T : never;
