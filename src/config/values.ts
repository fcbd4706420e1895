import type { OptionSpec, OptionValue } from './types.js';

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);
const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

type Spec = Pick<
  OptionSpec,
  'type' | 'default' | 'min' | 'max' | 'exclusiveMin' | 'choices' | 'ignoreCase'
>;

/**
 * What an option accepts, for messages: `an integer >= 0`, `a number > 0 and <= 3600`, ... In
 * `code` style (values given in code rather than read from a file) choices are not quoted and a
 * string must not be empty (only files use the empty string for "unset").
 */
export function expected(spec: Spec, style: 'config' | 'code' = 'config'): string {
  switch (spec.type) {
    case 'int':
      return `an integer${range(spec)}`;
    case 'float':
      return `a number${range(spec)}`;
    case 'bool':
      return 'a boolean (true/false, yes/no, on/off, 1/0)';
    case 'enum':
      return `one of ${(spec.choices ?? []).map((c) => (style === 'code' ? c : `'${c}'`)).join(', ')}`;
    case 'list':
      return 'a comma-separated list';
    case 'string':
      return style === 'code' ? 'a non-empty string' : 'a string';
  }
}

function range(spec: Spec): string {
  const parts: string[] = [];
  if (spec.min !== undefined) parts.push(`${spec.exclusiveMin ? '>' : '>='} ${spec.min}`);
  if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
  return parts.length === 0 ? '' : ` ${parts.join(' and ')}`;
}

/**
 * Converts a raw string (already trimmed) to the option's type. Only the syntax is checked here;
 * ranges and enum choices are {@link inRange}'s business (the `validate()` step).
 *
 * - `int`: optional sign and digits only (`'10s'`, `'1e3'`, `'1_0'`, `''` are rejected), safe integers.
 * - `float`: decimal or exponent notation; `inf`/`nan`/`''` are rejected.
 * - `bool`: true/false, yes/no, on/off, 1/0, case-insensitive.
 * - `list`: split on `,`, items trimmed, empty items dropped (`''` → `[]`).
 * - `enum`: the string; with `ignoreCase`, a choice's own spelling when one matches.
 * - `string`: as is; `''` for an option without default means unset (`undefined`), as oslo's
 *   "empty = not configured" for paths such as `ssl_ca_file`.
 */
export function convert(spec: Spec, raw: string): { ok: true; value: OptionValue } | { ok: false } {
  switch (spec.type) {
    case 'string':
      return { ok: true, value: raw === '' && spec.default === undefined ? undefined : raw };
    case 'int': {
      if (!INT.test(raw)) return { ok: false };
      const n = Number(raw);
      return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'float': {
      if (!FLOAT.test(raw)) return { ok: false };
      const n = Number(raw);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'bool': {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return { ok: true, value: true };
      if (FALSE.has(v)) return { ok: true, value: false };
      return { ok: false };
    }
    case 'list':
      return {
        ok: true,
        value: Object.freeze(
          raw
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        ),
      };
    case 'enum': {
      if (spec.ignoreCase) {
        const hit = spec.choices?.find((c) => c.toLowerCase() === raw.toLowerCase());
        if (hit !== undefined) return { ok: true, value: hit };
      }
      return { ok: true, value: raw };
    }
  }
}

/** True when a converted value respects the option's range or choices. `undefined` always does. */
export function inRange(spec: Spec, value: unknown): boolean {
  if (value === undefined) return true;
  switch (spec.type) {
    case 'int':
    case 'float': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      if (spec.type === 'int' && !Number.isInteger(value)) return false;
      if (spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min))
        return false;
      return spec.max === undefined || value <= spec.max;
    }
    case 'enum':
      return typeof value === 'string' && (spec.choices ?? []).includes(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
  }
}

/** Structural equality of option values (lists compared item by item). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => v === b[i]);
  return Object.is(a, b);
}
