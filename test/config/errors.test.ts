import { describe, expect, it } from 'vitest';
import * as config from '../../src/config/index.js';
import * as core from '../../src/core/index.js';

describe('config errors', () => {
  it('have stable, unique CONDUCTOR_CONFIG_* codes and share ConfigError', () => {
    const samples = [
      new core.ConfigFileError('/f', 'm'),
      new core.ConfigValueError('/f', 'DEFAULT', 'x', 'expected a string'),
      new core.ConfigValidationError(['a']),
      new core.DuplicateOptError('DEFAULT', 'x'),
      new core.NoSuchOptError('DEFAULT', 'x'),
    ];
    const codes = samples.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of samples) {
      expect(e).toBeInstanceOf(core.ConfigError);
      expect(e).toBeInstanceOf(core.ConductorError);
      expect(e.code).toMatch(/^CONDUCTOR_CONFIG_[A-Z_]+$/);
      expect(e.name).toBe(e.constructor.name);
    }
    // the config face re-exports the same classes
    expect(config.ConfigValueError).toBe(core.ConfigValueError);
    expect(config.ConfigError).toBe(core.ConfigError);
  });
});
