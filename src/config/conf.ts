import {
  ConfigValidationError,
  getLogger,
  type Logger,
  NoSuchOptError,
  NotStartedError,
} from '../core/index.js';
import { normalizeSection } from './ini.js';
import { displayValue, maskValue } from './mask.js';
import {
  cliLayer,
  envLayer,
  type FileLayer,
  type Layer,
  listConfigDir,
  readConfigFile,
  splitCliKey,
} from './sources.js';
import { OptionRegistry, type OptionSource } from './registry.js';
import {
  defaultResolved,
  describeResolved,
  rangeProblem,
  type Resolved,
  resolveOption,
  warnUnknownInEnv,
  warnUnknownInFile,
} from './resolve.js';
import { normalizeSpec, optKey } from './spec.js';
import type {
  ConfigChange,
  ConfigDumpRow,
  ConfigValidator,
  ConfigView,
  LoadOptions,
  NormalizedSpec,
  OptionValue,
} from './types.js';
import { sameValue } from './values.js';

/** The result of reading every source once. */
interface State {
  readonly layers: readonly Layer[];
  readonly files: readonly string[];
  readonly values: Map<string, Resolved>;
}

/** Options of {@link ConfigOpts}. */
export interface ConfigOptsOptions {
  /** Receives warnings (unknown options and sections, deprecated names, duplicate keys). */
  logger?: Logger;
  /** Options to register at once (see {@link ConfigOpts.register}). */
  options?: OptionSource;
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The option registry and its values (oslo.config's `ConfigOpts`).
 *
 * Sources, later wins: defaults < `configFiles` (in order) < `configDir` (`*.conf`, sorted by
 * name) < environment (`CONDUCTOR_<SECTION>__<OPTION>`) < command line (`{ 'section.option': raw }`).
 *
 * Register options before {@link load}: unknown keys in files and the environment are logged as
 * warnings at load time, unknown command-line keys are an error. An option registered after load is
 * resolved from the sources already read (its range checked, cross-field validators not re-run).
 *
 * Internally everything is kept in `Map`s, so keys such as `__proto__` or `constructor` in a file
 * are just unknown options.
 *
 * @example
 * ```ts
 * const conf = createConfig();                       // built-in options registered
 * conf.register(myServiceOptions);                   // later layers add theirs
 * await conf.load({ configFiles: ['/etc/conductor/conductor.conf'], cli: { report_interval: '5' } });
 * conf.getDefault<number>('report_interval');         // 5
 * conf.source('DEFAULT', 'report_interval');          // 'cli'
 * process.on('SIGHUP', () => void conf.reload().then((changes) => ...));
 * ```
 */
export class ConfigOpts implements ConfigView {
  readonly #registry = new OptionRegistry();
  readonly #logger: Logger;
  #state: State = { layers: [], files: [], values: new Map() };
  #loadOptions: LoadOptions | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ConfigOptsOptions = {}) {
    this.#logger = options.logger ?? getLogger('config');
    if (options.options !== undefined) this.register(options.options);
  }

  // ---- registry ------------------------------------------------------------------------------

  /**
   * Registers options: specs, option sets (whose cross-field rules {@link validate} then runs) or
   * lists of them. Registering an identical definition again is a no-op (so several layers may
   * register the same set); a different definition under the same section and name, or a name that
   * clashes with another option's deprecated name, throws DuplicateOptError. Invalid definitions
   * throw InvalidOptionDefinition. Nothing is registered when anything throws.
   */
  register(sources: OptionSource): this {
    const prepared = this.#registry.prepare(sources);
    const resolved = new Map<string, Resolved>();
    const problems: string[] = [];
    for (const [key, spec] of prepared.fresh) {
      const r = resolveOption(spec, this.#state.layers, this.#logger);
      resolved.set(key, r);
      const problem = rangeProblem(spec, r);
      if (problem) problems.push(problem);
    }
    if (problems.length > 0) throw new ConfigValidationError(problems);
    this.#registry.commit(prepared);
    for (const [key, r] of resolved) this.#state.values.set(key, r);
    return this;
  }

  /**
   * Changes the default of a registered option, as an application does for the framework's
   * options (oslo's `set_defaults`; Tacker sets `control_exchange` to `tacker`). The value is
   * checked against the option's type and range; dumps and samples show the new default.
   */
  setDefault(section: string, name: string, value: OptionValue): this {
    const spec = this.#registry.spec(section, name);
    const changed = normalizeSpec({ ...spec, default: value });
    this.#registry.overrideDefault(changed.section, changed.name, changed);
    const key = optKey(changed.section, changed.name);
    const current = this.#state.values.get(key);
    if (!current || current.source === 'default')
      this.#state.values.set(key, defaultResolved(changed));
    return this;
  }

  /** Adds a cross-field check run by {@link validate} (the same function twice is kept once). */
  addValidator(validator: ConfigValidator): this {
    this.#registry.addValidator(validator);
    return this;
  }

  /** True when the option is registered. */
  has(section: string, name: string): boolean {
    return this.#registry.has(section, name);
  }

  /** The registered definition of an option (NoSuchOptError when there is none). */
  spec(section: string, name: string): NormalizedSpec {
    return this.#registry.spec(section, name);
  }

  /** Every registered definition, in registration order. */
  options(): readonly NormalizedSpec[] {
    return this.#registry.all();
  }

  // ---- values ----------------------------------------------------------------------------------

  /** The value of an option (its default before {@link load}). NoSuchOptError when not registered. */
  get<T = unknown>(section: string, name: string): T {
    return this.#lookup(this.#state, section, name).resolved.value as T;
  }

  /** `get('DEFAULT', name)`. */
  getDefault<T = unknown>(name: string): T {
    return this.get<T>('DEFAULT', name);
  }

  /** Where the value comes from: `default`, `file:/abs/path.conf`, `env:CONDUCTOR_...` or `cli`. */
  source(section: string, name: string): string {
    return this.#lookup(this.#state, section, name).resolved.source;
  }

  describe(section: string, name: string): string {
    return describeResolved(this.#lookup(this.#state, section, name));
  }

  /**
   * The values of one section as a plain object (unset options left out), e.g.
   * `getRpcTransport({ rabbit: conf.section('oslo_messaging_rabbit') })`. Values are **not** masked.
   */
  section<T extends object = Record<string, unknown>>(section: string): T {
    const sec = normalizeSection(section);
    const out: Record<string, unknown> = {};
    for (const spec of this.#registry.all()) {
      if (spec.section !== sec) continue;
      const value = this.#state.values.get(optKey(sec, spec.name))?.value;
      if (value !== undefined) out[spec.name] = value;
    }
    return out as T;
  }

  /** The files read by the last successful load, in order (config files, then the dir's files). */
  get configFiles(): readonly string[] {
    return this.#state.files;
  }

  // ---- loading ---------------------------------------------------------------------------------

  /**
   * Reads every source and replaces the values; then {@link validate}s (unless `validate: false`).
   * On any error the previous values stay. Errors: ConfigFileError (a file or dir cannot be read,
   * INI syntax), ConfigValueError (a value of the wrong type; the first one found),
   * NoSuchOptError (an unknown command-line key), ConfigValidationError (every range, choice and
   * cross-field problem). Calls are serialised with {@link reload}.
   */
  load(options: LoadOptions = {}): Promise<void> {
    return this.#exclusive(async () => {
      const state = await this.#read(options);
      if (options.validate !== false) this.#check(state);
      this.#state = state;
      this.#loadOptions = options;
      this.#logger.debug({ files: state.files }, 'Configuration loaded');
    });
  }

  /**
   * Reads the same files, dir, environment and command line again (for SIGHUP) and returns the
   * options whose value changed. When anything is wrong (a broken file, a bad value) the previous
   * values stay, a warning is logged and the error is thrown.
   */
  reload(): Promise<ConfigChange[]> {
    return this.#exclusive(async () => {
      const options = this.#loadOptions;
      if (options === undefined) throw new NotStartedError('ConfigOpts.reload() before load()');
      let state: State;
      try {
        state = await this.#read(options);
        if (options.validate !== false) this.#check(state);
      } catch (err) {
        this.#logger.warn(
          { err: { type: (err as Error).name, message: (err as Error).message } },
          'Configuration reload failed; keeping the previous values',
        );
        throw err;
      }
      const changes: ConfigChange[] = [];
      for (const [key, spec] of this.#registry.entries()) {
        const before = this.#state.values.get(key);
        const after = state.values.get(key);
        if (!before || !after || sameValue(before.value, after.value)) continue;
        changes.push({
          section: spec.section,
          name: spec.name,
          secret: spec.secret !== false,
          oldValue: before.value,
          newValue: after.value,
          oldSource: before.source,
          newSource: after.source,
          display: { old: displayValue(spec, before.value), new: displayValue(spec, after.value) },
        });
      }
      this.#state = state;
      this.#logger.info(
        {
          changed: changes.map((c) => ({
            option: `${c.section}.${c.name}`,
            old: c.display.old,
            new: c.display.new,
            source: c.newSource,
          })),
        },
        changes.length === 0
          ? 'Configuration reloaded; nothing changed'
          : `Configuration reloaded; changed: ${changes.map((c) => `[${c.section}] ${c.name}`).join(', ')}`,
      );
      return changes;
    });
  }

  /**
   * Checks every value against its option's range or choices, then runs the cross-field
   * validators; throws one ConfigValidationError listing every problem. Messages name where each
   * value came from; secret values show as `***`.
   */
  validate(): void {
    this.#check(this.#state);
  }

  // ---- output ----------------------------------------------------------------------------------

  /** Every option with value, source, default and help, sorted by section then name; secrets masked. */
  dump(): ConfigDumpRow[] {
    return this.#sortedSpecs().map((spec) => {
      const r = this.#state.values.get(optKey(spec.section, spec.name));
      return {
        section: spec.section,
        name: spec.name,
        type: spec.type,
        value: maskValue(spec, r?.value),
        source: r?.source ?? 'default',
        default: maskValue(spec, spec.default),
        secret: spec.secret !== false,
        help: spec.help,
      };
    });
  }

  /** `{ section: { option: value } }`, sorted, secrets masked: safe to log. */
  toLog(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const row of this.dump()) (out[row.section] ??= {})[row.name] = row.value;
    return out;
  }

  /**
   * Logs every option, one line each, secrets masked (oslo `log_opt_values`, which the launcher
   * calls when `log_options` is true).
   */
  logOptValues(logger: Logger = this.#logger, level: 'debug' | 'info' = 'debug'): void {
    const log = (msg: string): void => logger[level](msg);
    log('*'.repeat(80));
    log('Configuration options gathered from:');
    log(`config files: [${this.#state.files.map((f) => `'${f}'`).join(', ')}]`);
    log('='.repeat(80));
    for (const spec of this.#sortedSpecs()) {
      const r = this.#state.values.get(optKey(spec.section, spec.name));
      const label = spec.section === 'DEFAULT' ? spec.name : `${spec.section}.${spec.name}`;
      log(`${label.padEnd(30)} = ${displayValue(spec, r?.value)}`);
    }
    log('*'.repeat(80));
  }

  // ---- internals -------------------------------------------------------------------------------

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    // The queue only orders the calls; each caller sees its own failure through `run`.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #sortedSpecs(): NormalizedSpec[] {
    return this.#registry
      .all()
      .sort((a, b) => byCodeUnit(a.section, b.section) || byCodeUnit(a.name, b.name));
  }

  #lookup(
    state: State,
    section: string,
    name: string,
  ): { spec: NormalizedSpec; resolved: Resolved } {
    const sec = normalizeSection(section);
    const key = optKey(sec, name);
    const spec = this.#registry.find(sec, name);
    if (!spec) throw new NoSuchOptError(sec, name);
    const resolved = state.values.get(key) ?? defaultResolved(spec);
    return { spec, resolved };
  }

  #view(state: State): ConfigView {
    return {
      has: (section, name) => this.has(section, name),
      get: <T>(section: string, name: string) =>
        this.#lookup(state, section, name).resolved.value as T,
      source: (section, name) => this.#lookup(state, section, name).resolved.source,
      describe: (section, name) => describeResolved(this.#lookup(state, section, name)),
    };
  }

  #check(state: State): void {
    const problems: string[] = [];
    for (const [key, spec] of this.#registry.entries()) {
      const p = rangeProblem(spec, state.values.get(key) ?? defaultResolved(spec));
      if (p) problems.push(p);
    }
    const view = this.#view(state);
    for (const validator of this.#registry.validators) problems.push(...validator(view));
    if (problems.length > 0) throw new ConfigValidationError(problems);
  }

  /** Reads every source and resolves every registered option; warns about unknown keys. */
  async #read(options: LoadOptions): Promise<State> {
    const cli = cliLayer(options.cli ?? {}, (key) => this.#cliKey(key));
    const files: FileLayer[] = [];
    for (const file of options.configFiles ?? []) files.push(await readConfigFile(file));
    if (options.configDir !== undefined) {
      for (const file of await listConfigDir(options.configDir))
        files.push(await readConfigFile(file));
    }
    const env = envLayer(options.env ?? process.env);
    for (const layer of files) warnUnknownInFile(this.#registry, layer, this.#logger);
    warnUnknownInEnv(this.#registry, env.names, this.#logger);
    const layers: Layer[] = [...files, env, cli];
    const values = new Map<string, Resolved>();
    for (const [key, spec] of this.#registry.entries())
      values.set(key, resolveOption(spec, layers, this.#logger));
    return { layers, files: files.map((l) => l.file), values };
  }

  /** Maps a command-line key to a registered option or deprecated name (`-` may stand for `_`). */
  #cliKey(key: string): { section: string; name: string } {
    const { section, name } = splitCliKey(key);
    if (this.#registry.known(section, name)) return { section, name };
    const underscored = name.replace(/-/g, '_');
    if (this.#registry.known(section, underscored)) return { section, name: underscored };
    throw new NoSuchOptError(section, name, `command-line option '${key}'`);
  }
}

/**
 * A {@link ConfigOpts} with `options.options` registered. Each layer defines its own options
 * (`serviceProcessOptions` in `conductor-ts/service`, `conductorOptionSets` in
 * `conductor-ts/conductor`, ...); whoever runs a service composes them.
 */
export function createConfig(options: ConfigOptsOptions = {}): ConfigOpts {
  return new ConfigOpts(options);
}
