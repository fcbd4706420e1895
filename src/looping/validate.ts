import { InvalidLoopingOption, UnknownLoopingOption } from '../core/index.js';

// Option checks shared by the looping calls. They run before anything starts, so a bad option
// never leaves a half-started loop behind.

/** Throws unless `options` is a plain object whose keys are all in `allowed`. */
export function checkKeys(where: string, options: unknown, allowed: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidLoopingOption(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    // Catches typos and Python spellings such as `initial_delay`, which would otherwise be ignored.
    if (!allowed.includes(key)) {
      throw new UnknownLoopingOption(where, key, allowed.join(', '));
    }
  }
}

/** Throws unless `value` is a finite number >= 0 (or null/undefined when `optional`). */
export function checkSeconds(where: string, name: string, value: unknown, optional = false): void {
  if (optional && (value === undefined || value === null)) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidLoopingOption(
      `${where}: ${name} must be a finite number >= 0, got ${describe(value)}`,
    );
  }
}

/** Throws unless `value` is a boolean or undefined. */
export function checkBoolean(where: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new InvalidLoopingOption(`${where}: ${name} must be a boolean, got ${describe(value)}`);
  }
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || 'anonymous'}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
