/** Value types of an option. `list` is comma-separated in files, env and command line. */
export type OptionType = 'string' | 'int' | 'float' | 'bool' | 'list' | 'enum';

/** A typed option value (`undefined` = unset). */
export type OptionValue = string | number | boolean | readonly string[] | undefined;

/** Another place an option used to live (oslo `deprecated_name` / `deprecated_group`). */
export interface DeprecatedName {
  readonly section: string;
  readonly name: string;
}

/**
 * Definition of one option. Names are oslo's snake_case, exactly as the original spells them; time
 * values are seconds.
 */
export interface OptionSpec {
  /** `DEFAULT` or a lower-case group name (other spellings are lower-cased, as oslo does). */
  readonly section: string;
  readonly name: string;
  readonly type: OptionType;
  /** The value when no source sets the option; `undefined` = unset. Checked against type and range. */
  readonly default?: OptionValue;
  readonly help: string;
  /**
   * Never shown in clear: `true` → `***`; `'url'` → a URL whose password part is masked
   * (`rabbit://guest:***@host:5672/`), so operators still see where it points.
   */
  readonly secret?: boolean | 'url';
  /** Lower bound of `int` / `float` (inclusive unless {@link exclusiveMin}). */
  readonly min?: number;
  /** The lower bound is exclusive (`> min`). */
  readonly exclusiveMin?: boolean;
  /** Upper bound of `int` / `float` (inclusive). */
  readonly max?: number;
  /** Allowed values of an `enum`. */
  readonly choices?: readonly string[];
  /** `enum` only: match choices case-insensitively and store the choice's own spelling. */
  readonly ignoreCase?: boolean;
  /** Older names still read (with a deprecation warning): a name in the same section, or elsewhere. */
  readonly deprecatedNames?: readonly (string | DeprecatedName)[];
}

/** An application's default for an option it does not own (oslo's `set_defaults`). */
export interface DefaultOverride {
  readonly section: string;
  readonly name: string;
  readonly value: Exclude<OptionValue, undefined>;
}

/** A registered option after normalisation. */
export interface NormalizedSpec extends OptionSpec {
  readonly deprecatedNames: readonly DeprecatedName[];
}

/** Where the sources of {@link ConfigOpts.load} come from. Later sources win. */
export interface LoadOptions {
  /** `--config-file`, repeatable, read in this order. `~/` is expanded. */
  readonly configFiles?: readonly string[];
  /** `--config-dir`: every `*.conf` in it (not hidden files), sorted by name, after the files. */
  readonly configDir?: string;
  /** Environment (`CONDUCTOR_<SECTION>__<OPTION>`). Default: `process.env` at each (re)load. */
  readonly env?: NodeJS.ProcessEnv;
  /** Command-line values: `{ 'section.option': 'raw' }`; `[DEFAULT]` options may omit `DEFAULT.`. */
  readonly cli?: Readonly<Record<string, string>>;
  /** Run {@link ConfigOpts.validate} at the end (default true). */
  readonly validate?: boolean;
}

/** Read access to a set of values; what validators see. */
export interface ConfigView {
  /** True when the option is registered. */
  has(section: string, name: string): boolean;
  /** The option's value. Throws NoSuchOptError when it is not registered. */
  get<T = unknown>(section: string, name: string): T;
  /** `default`, `file:/abs/path.conf`, `env:CONDUCTOR_...` or `cli`. */
  source(section: string, name: string): string;
  /**
   * `[section] name = value (from <where>)` with the value masked when secret, for problem
   * messages. `<where>` is a file path, `environment variable X`, `command-line option 'x'` or
   * `default`.
   */
  describe(section: string, name: string): string;
}

/** A cross-field check; returns one message per problem (never including secret values). */
export type ConfigValidator = (conf: ConfigView) => readonly string[];

/** One row of {@link ConfigOpts.dump}. */
export interface ConfigDumpRow {
  readonly section: string;
  readonly name: string;
  readonly type: OptionType;
  /** The value; for secret options a masked string. */
  readonly value: unknown;
  readonly source: string;
  /** The default; for secret options a masked string. */
  readonly default: unknown;
  readonly secret: boolean;
  readonly help: string;
}

/** One option whose value changed in {@link ConfigOpts.reload}. */
export interface ConfigChange {
  readonly section: string;
  readonly name: string;
  /** When true, log {@link ConfigChange.display} rather than the values. */
  readonly secret: boolean;
  readonly oldValue: unknown;
  readonly newValue: unknown;
  readonly oldSource: string;
  readonly newSource: string;
  /** Masked, printable old and new values. */
  readonly display: { readonly old: string; readonly new: string };
}
