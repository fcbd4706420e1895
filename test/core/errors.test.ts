import { describe, expect, it } from 'vitest';
import * as core from '../../src/core/index.js';

describe('error catalogue', () => {
  it('gives every error a stable, unique CONDUCTOR_* code and its class name', () => {
    const samples = [
      new core.InvalidOptionError('x'),
      new core.InvalidPeriodicTaskArg('x'),
      new core.ClockBusyError(),
      new core.AlreadyRunningError('x'),
      new core.NotStartedError('x'),
      new core.LoopingCallTimeOut('x'),
      new core.DynamicIntervalMissingError('x'),
    ];
    const codes = samples.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of samples) {
      expect(e).toBeInstanceOf(core.ConductorError);
      expect(e.code).toMatch(/^CONDUCTOR_[A-Z_]+$/);
      expect(e.name).toBe(e.constructor.name);
      expect(core.hasErrorCode(e, e.code)).toBe(true);
    }
    expect(core.hasErrorCode(new Error('x'), 'CONDUCTOR_INVALID_OPTION')).toBe(false);
  });
});
