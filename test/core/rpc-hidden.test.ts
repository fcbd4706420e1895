import { describe, expect, it } from 'vitest';
import { FRAMEWORK_BASE, isFrameworkPrototype } from '../../src/core/index.js';

describe('FRAMEWORK_BASE', () => {
  class Base {
    static readonly [FRAMEWORK_BASE] = true;
    runPeriodicTasks(): void {}
  }
  class UserManager extends Base {
    update_vim(): void {}
  }
  class MarkedAgain extends UserManager {
    static override readonly [FRAMEWORK_BASE] = true;
  }
  class Plain {}

  it('is one registered symbol, so two copies of the package agree', () => {
    expect(FRAMEWORK_BASE).toBe(Symbol.for('conductor-ts.frameworkBase'));
  });

  it('marks only the class that owns it, not its subclasses', () => {
    expect(isFrameworkPrototype(Base.prototype)).toBe(true);
    expect((UserManager as unknown as Record<symbol, unknown>)[FRAMEWORK_BASE]).toBe(true); // inherited…
    expect(isFrameworkPrototype(UserManager.prototype)).toBe(false); // …but not its own
    expect(isFrameworkPrototype(MarkedAgain.prototype)).toBe(true);
  });

  it('is false for unmarked classes, instances and prototypes without a constructor', () => {
    expect(isFrameworkPrototype(Plain.prototype)).toBe(false);
    expect(isFrameworkPrototype(Object.prototype)).toBe(false);
    expect(isFrameworkPrototype(new Base())).toBe(false);
    expect(isFrameworkPrototype(Object.create(null) as object)).toBe(false);
    expect(isFrameworkPrototype({ constructor: 5 })).toBe(false);
    expect(isFrameworkPrototype(Object.create(Base.prototype) as object)).toBe(false);
  });
});
