import { MASK, maskUrlPassword } from '../core/index.js';
import type { OptionSpec } from './types.js';

export { MASK, maskUrlPassword };

/** A value as it may be shown: secrets masked (URL secrets keep all but the password). */
export function maskValue(spec: Pick<OptionSpec, 'secret'>, value: unknown): unknown {
  if (!spec.secret || value === undefined) return value;
  if (spec.secret === 'url' && typeof value === 'string') return maskUrlPassword(value);
  return MASK;
}

/** A printable form of a value (`undefined` → `<unset>`, lists `a,b`), secrets masked. */
export function displayValue(spec: Pick<OptionSpec, 'secret'>, value: unknown): string {
  const v = maskValue(spec, value);
  if (v === undefined) return '<unset>';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** A raw value quoted for a message (`'ten'`); `'***'` for any secret. */
export function quoteRaw(spec: Pick<OptionSpec, 'secret'>, raw: string): string {
  if (spec.secret) return `'${MASK}'`;
  return /^[\x20-\x7e]*$/.test(raw) ? `'${raw}'` : JSON.stringify(raw);
}
