import { InvalidOptionDefinition } from '../core/index.js';
import { normalizeSection } from './ini.js';
import type { DeprecatedName, NormalizedSpec, OptionSpec, OptionType } from './types.js';
import { expected, inRange } from './values.js';

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const TYPES: ReadonlySet<OptionType> = new Set(['string', 'int', 'float', 'bool', 'list', 'enum']);

/** `section\0name`: the key of an option in the registry's maps. */
export function optKey(section: string, name: string): string {
  return `${section}\u0000${name}`;
}

/**
 * Checks an option definition and returns a frozen, normalised copy (section lower-cased unless
 * `DEFAULT`, deprecated names as `{ section, name }`, default checked against type and range).
 */
export function normalizeSpec(s: OptionSpec): NormalizedSpec {
  const bad = (msg: string): never => {
    throw new InvalidOptionDefinition(String(s?.section), String(s?.name), msg);
  };
  if (typeof s !== 'object' || s === null) return bad('not an object');
  if (typeof s.section !== 'string' || !NAME.test(s.section))
    bad('section must be a name such as DEFAULT or oslo_messaging_rabbit');
  if (typeof s.name !== 'string' || !NAME.test(s.name))
    bad('name must start with a letter and hold only letters, digits, _ and -');
  if (!TYPES.has(s.type)) bad(`type must be one of ${[...TYPES].join(', ')}`);
  if (typeof s.help !== 'string') bad('help must be a string');
  if (s.secret !== undefined && typeof s.secret !== 'boolean' && s.secret !== 'url')
    bad("secret must be a boolean or 'url'");
  const numeric = s.type === 'int' || s.type === 'float';
  for (const k of ['min', 'max'] as const) {
    const v = s[k];
    if (v === undefined) continue;
    if (!numeric) bad(`${k} applies to int and float options only`);
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${k} must be a finite number`);
  }
  if (s.min !== undefined && s.max !== undefined && s.min > s.max) bad('min > max');
  if (s.type === 'enum') {
    if (
      !Array.isArray(s.choices) ||
      s.choices.length === 0 ||
      !s.choices.every((c) => typeof c === 'string')
    )
      bad('an enum needs a non-empty list of string choices');
  } else if (s.choices !== undefined) bad('choices apply to enum options only');
  const section = normalizeSection(s.section);
  const deprecatedNames: DeprecatedName[] = (s.deprecatedNames ?? []).map((d) => {
    const dep = typeof d === 'string' ? { section, name: d } : d;
    if (typeof dep?.name !== 'string' || !NAME.test(dep.name) || typeof dep.section !== 'string')
      return bad('deprecatedNames entries must be names or { section, name }');
    return Object.freeze({ section: normalizeSection(dep.section), name: dep.name });
  });
  const spec: NormalizedSpec = {
    section,
    name: s.name,
    type: s.type,
    default: Array.isArray(s.default) ? Object.freeze([...(s.default as string[])]) : s.default,
    help: s.help,
    secret: s.secret ?? false,
    min: s.min,
    exclusiveMin: s.exclusiveMin,
    max: s.max,
    choices: s.choices === undefined ? undefined : Object.freeze([...s.choices]),
    ignoreCase: s.ignoreCase,
    deprecatedNames: Object.freeze(deprecatedNames),
  };
  if (!inRange(spec, spec.default))
    bad(`default ${spec.secret ? "'***'" : JSON.stringify(spec.default)} is not ${expected(spec)}`);
  return Object.freeze(spec);
}

/** Two normalised definitions are the same option (every field, help included, as oslo's `Opt.__eq__`). */
export function sameSpec(a: NormalizedSpec, b: NormalizedSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The first field in which two definitions differ, for messages. */
export function specDifference(a: NormalizedSpec, b: NormalizedSpec): string {
  for (const k of Object.keys(a) as (keyof NormalizedSpec)[]) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `${k} differs`;
  }
  return 'definitions differ';
}
