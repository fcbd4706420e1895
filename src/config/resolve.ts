import { ConfigValueError, type Logger } from '../core/index.js';
import { displayValue, quoteRaw } from './mask.js';
import type { OptionRegistry } from './registry.js';
import type { FileLayer, Layer } from './sources.js';
import type { NormalizedSpec, OptionValue } from './types.js';
import { convert, expected, inRange } from './values.js';

/** A value with its origin. */
export interface Resolved {
  readonly value: OptionValue;
  readonly source: string;
  readonly location: string;
  /** Section and key as written where the value came from (a deprecated name, perhaps). */
  readonly section: string;
  readonly key: string;
  readonly raw?: string;
}

const INLINE_COMMENT_HINT =
  " (a '#' or ';' after a value is part of the value: comments go on their own line)";

/** The value of the highest source that sets the option (or one of its deprecated names). */
export function resolveOption(
  spec: NormalizedSpec,
  layers: readonly Layer[],
  logger: Logger,
): Resolved {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as Layer;
    let entry = layer.lookup(spec.section, spec.name);
    if (!entry) {
      for (const dep of spec.deprecatedNames) {
        entry = layer.lookup(dep.section, dep.name);
        if (entry) {
          logger.warn(
            { location: entry.location, deprecated: `${dep.section}.${dep.name}` },
            `Option "${dep.name}" from group "${dep.section}" is deprecated. Use option "${spec.name}" from group "${spec.section}" (${entry.location}).`,
          );
          break;
        }
      }
    }
    if (!entry) continue;
    const converted = convert(spec, entry.raw);
    if (!converted.ok) {
      const hint = !spec.secret && /\s[#;]/.test(entry.raw) ? INLINE_COMMENT_HINT : '';
      throw new ConfigValueError(
        entry.location,
        entry.section,
        entry.key,
        `expected ${expected(spec)}, got ${quoteRaw(spec, entry.raw)}${hint}`,
      );
    }
    return {
      value: converted.value,
      source: entry.source,
      location: entry.location,
      section: entry.section,
      key: entry.key,
      raw: entry.raw,
    };
  }
  return defaultResolved(spec);
}

/** Warns about the sections and keys of a file that no option knows, and keys set twice. */
export function warnUnknownInFile(
  registry: OptionRegistry,
  layer: FileLayer,
  logger: Logger,
): void {
  const { file, parsed } = layer;
  for (const [section, entries] of parsed.sections) {
    if (!registry.knownSection(section)) {
      const hint =
        section.toUpperCase() === 'DEFAULT' ? '; did you mean [DEFAULT]? It is case-sensitive' : '';
      logger.warn({ file, section }, `Unknown section [${section}] in ${file} (ignored${hint})`);
      continue;
    }
    for (const [key, entry] of entries) {
      if (registry.known(section, key)) continue;
      // A key with spaces or odd characters is most likely a malformed line (`password hunter2:x`
      // splits at the colon): do not quote it.
      const shown = /^[A-Za-z0-9_.-]+$/.test(key) ? key : '<not an option name>';
      logger.warn(
        { file, line: entry.line, section, option: shown },
        `Unknown option [${section}] ${shown} in ${file}:${entry.line} (ignored)`,
      );
    }
  }
  for (const d of parsed.duplicates) {
    logger.warn(
      { file, section: d.section, option: d.key },
      `[${d.section}] ${d.key} is set more than once in ${file} (lines ${d.firstLine} and ${d.lastLine}); the last one wins`,
    );
  }
}

/** Warns about `CONDUCTOR_*` variables that match no option. */
export function warnUnknownInEnv(
  registry: OptionRegistry,
  names: readonly string[],
  logger: Logger,
): void {
  if (names.length === 0) return;
  const known = registry.envNames();
  for (const name of names) {
    if (known.has(name)) continue;
    logger.warn(
      { variable: name },
      `Environment variable ${name} matches no registered option (ignored)`,
    );
  }
}

export function defaultResolved(spec: NormalizedSpec): Resolved {
  return {
    value: spec.default,
    source: 'default',
    location: 'default',
    section: spec.section,
    key: spec.name,
  };
}

export function rangeProblem(spec: NormalizedSpec, r: Resolved): string | undefined {
  if (inRange(spec, r.value)) return undefined;
  const got = r.raw !== undefined ? quoteRaw(spec, r.raw) : `'${displayValue(spec, r.value)}'`;
  return `${r.location} [${r.section}] ${r.key}: expected ${expected(spec)}, got ${got}`;
}

export function describeResolved({
  spec,
  resolved,
}: {
  spec: NormalizedSpec;
  resolved: Resolved;
}): string {
  const shown = spec.secret ? displayValue(spec, resolved.value) : showValue(resolved.value);
  return `[${spec.section}] ${spec.name} = ${shown} (from ${resolved.location})`;
}

function showValue(v: unknown): string {
  if (v === undefined) return '<unset>';
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return String(v);
}
