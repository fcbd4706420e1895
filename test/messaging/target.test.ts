import { describe, expect, it } from 'vitest';
import { Target } from '../../src/messaging/index.js';

describe('Target', () => {
  it('copies with overrides and compares by fields', () => {
    const t = new Target({ topic: 'conductor', version: '1.0' });
    const s = t.with({ server: 'host-a' });
    expect(s).toMatchObject({ topic: 'conductor', version: '1.0', server: 'host-a' });
    expect(t.server).toBeUndefined();
    expect(s.with({}).equals(s)).toBe(true);
    expect(s.equals(t)).toBe(false);
    expect(String(s)).toBe('<Target topic=conductor, version=1.0, server=host-a>');
    expect(Object.isFrozen(t)).toBe(true);
  });
});
