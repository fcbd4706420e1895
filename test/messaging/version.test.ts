import { describe, expect, it } from 'vitest';
import { isCompatible } from '../../src/messaging/index.js';

describe('version rule (is_compatible)', () => {
  it('accepts the same major with a lower or equal minor, revision on equal minors', () => {
    expect(isCompatible('1.0', '1.0')).toBe(true);
    expect(isCompatible('1.0', '1.0.0')).toBe(true);
    expect(isCompatible('1.3', '1.1')).toBe(true);
    expect(isCompatible('1.0', '1.1')).toBe(false);
    expect(isCompatible('1.0', '2.0')).toBe(false);
    expect(isCompatible('1.0', '0.9')).toBe(false);
    expect(isCompatible('1.2.3', '1.2.4')).toBe(false);
    expect(isCompatible('1.2.3', '1.2.2')).toBe(true);
    expect(isCompatible(undefined, '9.9')).toBe(true);
    expect(isCompatible('1.0', undefined)).toBe(false);
    expect(() => isCompatible('1.x', '1.0')).toThrow(/Invalid version/);
  });
});
