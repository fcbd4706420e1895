import { DuplicateOptError, NoSuchOptError } from '../core/index.js';
import { normalizeSection } from './ini.js';
import type { OptionSet } from './option-set.js';
import { envVarName } from './sources.js';
import { normalizeSpec, optKey, sameSpec, specDifference } from './spec.js';
import type { ConfigValidator, NormalizedSpec, OptionSpec } from './types.js';

/** What `ConfigOpts.register()` takes: specs, option sets, or lists of either. */
export type OptionSource =
  | OptionSpec
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a set of any value type
  | OptionSet<any>
  | readonly OptionSource[];

function isOptionSet(s: OptionSource): s is OptionSet<unknown> {
  return !Array.isArray(s) && typeof (s as OptionSet<unknown>).check === 'function';
}

/** The specs and sets of `sources`, flattened, in order. */
function flatten(
  sources: OptionSource,
  specs: OptionSpec[] = [],
  sets: OptionSet<unknown>[] = [],
): { specs: OptionSpec[]; sets: OptionSet<unknown>[] } {
  if (Array.isArray(sources)) {
    for (const s of sources as readonly OptionSource[]) flatten(s, specs, sets);
  } else if (isOptionSet(sources)) {
    specs.push(...sources.specs);
    sets.push(sources);
  } else {
    specs.push(sources as OptionSpec);
  }
  return { specs, sets };
}

/**
 * The options a `ConfigOpts` knows: definitions by section and name, their deprecated names, the
 * cross-field validators (of the registered sets, then the added ones) and defaults overridden by
 * the application (oslo's `set_defaults`).
 */
export class OptionRegistry {
  /** The definitions in force (a default may be overridden), in registration order. */
  readonly #specs = new Map<string, NormalizedSpec>();
  /** The definitions as registered, which a repeated registration is compared with. */
  readonly #registered = new Map<string, NormalizedSpec>();
  /** Deprecated (section, name) → the option it now is. */
  readonly #aliases = new Map<string, NormalizedSpec>();
  readonly #sets = new Set<OptionSet<unknown>>();
  readonly #validators: ConfigValidator[] = [];

  /**
   * Checks `sources` against what is registered and returns the new definitions (repeats of an
   * identical definition are skipped) without registering anything; {@link commit} does. Throws
   * DuplicateOptError or InvalidOptionDefinition.
   */
  prepare(sources: OptionSource): {
    fresh: Map<string, NormalizedSpec>;
    aliases: Map<string, NormalizedSpec>;
    sets: OptionSet<unknown>[];
  } {
    const { specs, sets } = flatten(sources);
    const fresh = new Map<string, NormalizedSpec>();
    const freshAliases = new Map<string, NormalizedSpec>();
    for (const raw of specs) {
      const spec = normalizeSpec(raw);
      const key = optKey(spec.section, spec.name);
      const existing = this.#registered.get(key) ?? fresh.get(key);
      if (existing) {
        if (!sameSpec(existing, spec))
          throw new DuplicateOptError(spec.section, spec.name, specDifference(existing, spec));
        continue;
      }
      const owner = this.#aliases.get(key) ?? freshAliases.get(key);
      if (owner)
        throw new DuplicateOptError(
          spec.section,
          spec.name,
          `it is a deprecated name of [${owner.section}] ${owner.name}`,
        );
      for (const dep of spec.deprecatedNames) {
        const dk = optKey(dep.section, dep.name);
        const other = this.#specs.get(dk) ?? fresh.get(dk);
        const otherOwner = this.#aliases.get(dk) ?? freshAliases.get(dk);
        if (other || (otherOwner && otherOwner !== spec))
          throw new DuplicateOptError(
            spec.section,
            spec.name,
            `its deprecated name [${dep.section}] ${dep.name} is already ${other ? 'an option' : `a deprecated name of [${otherOwner?.section}] ${otherOwner?.name}`}`,
          );
        freshAliases.set(dk, spec);
      }
      fresh.set(key, spec);
    }
    return { fresh, aliases: freshAliases, sets: sets.filter((s) => !this.#sets.has(s)) };
  }

  /** Registers what {@link prepare} returned. */
  commit(prepared: ReturnType<OptionRegistry['prepare']>): void {
    for (const [key, spec] of prepared.fresh) {
      this.#specs.set(key, spec);
      this.#registered.set(key, spec);
    }
    for (const [key, spec] of prepared.aliases) this.#aliases.set(key, spec);
    for (const set of prepared.sets) {
      this.#sets.add(set);
      this.#validators.push((view) => set.check(view));
    }
  }

  /** Replaces the default of a registered option (its definition otherwise unchanged). */
  overrideDefault(section: string, name: string, spec: NormalizedSpec): void {
    this.#specs.set(optKey(section, name), spec);
  }

  /** Adds a cross-field check (the same function twice is kept once). */
  addValidator(validator: ConfigValidator): void {
    if (!this.#validators.includes(validator)) this.#validators.push(validator);
  }

  get validators(): readonly ConfigValidator[] {
    return this.#validators;
  }

  has(section: string, name: string): boolean {
    return this.#specs.has(optKey(normalizeSection(section), name));
  }

  /** The definition in force, or undefined. */
  find(section: string, name: string): NormalizedSpec | undefined {
    return this.#specs.get(optKey(section, name));
  }

  /** The definition in force (NoSuchOptError when there is none). */
  spec(section: string, name: string): NormalizedSpec {
    const sec = normalizeSection(section);
    const spec = this.#specs.get(optKey(sec, name));
    if (!spec) throw new NoSuchOptError(sec, name);
    return spec;
  }

  /** `[key, definition]` of every option, in registration order. */
  entries(): IterableIterator<[string, NormalizedSpec]> {
    return this.#specs.entries();
  }

  /** Every definition, in registration order. */
  all(): NormalizedSpec[] {
    return [...this.#specs.values()];
  }

  /** True when a section holds an option or a deprecated name. */
  knownSection(section: string): boolean {
    for (const spec of this.#specs.values()) if (spec.section === section) return true;
    for (const spec of this.#aliases.values())
      if (spec.deprecatedNames.some((d) => d.section === section)) return true;
    return false;
  }

  /** True for an option or a deprecated name. */
  known(section: string, name: string): boolean {
    const key = optKey(section, name);
    return this.#specs.has(key) || this.#aliases.has(key);
  }

  /** The environment variable names of every option and deprecated name. */
  envNames(): Set<string> {
    const known = new Set<string>();
    for (const spec of this.#specs.values()) {
      known.add(envVarName(spec.section, spec.name));
      for (const d of spec.deprecatedNames) known.add(envVarName(d.section, d.name));
    }
    return known;
  }
}
