import { DynamicIntervalMissingError, InvalidLoopingResult } from '../core/index.js';
import { LoopingCallBase, type BaseStartOptions } from './base.js';
import { checkBoolean, checkKeys, checkSeconds, describe } from './validate.js';

/** Start options of {@link DynamicLoopingCall}. */
export interface DynamicStartOptions extends BaseStartOptions {
  /**
   * Upper bound on every sleep, and the sleep used when the function returns `undefined`/`null`.
   * Without it, such a result fails the loop with `DynamicIntervalMissingError`.
   */
  periodicIntervalMax?: number | null;
}

/**
 * Runs `fn` repeatedly; each run returns how many seconds to sleep before the next one (oslo's
 * `DynamicLoopingCall`). There is no overrun warning.
 */
export class DynamicLoopingCall extends LoopingCallBase {
  protected readonly kind: string = 'Dynamic interval looping call';
  protected readonly runOnlyOneMessage: string =
    'A dynamic interval looping call can only run one function at a time';

  /**
   * Starts the loop. A number result sleeps `min(result, periodicIntervalMax)` (or the result when
   * no max is set; negative means no sleep); `undefined`/`null` sleeps `periodicIntervalMax`. Any
   * other result (a string, a boolean, NaN) fails the loop with a `TypeError`, as Python's
   * `min()`/`sleep()` would. Throws `InvalidOptionError` for a bad option and `AlreadyRunningError`
   * while a loop is alive. Returns the done promise (see `wait()`).
   */
  start(options: DynamicStartOptions = {}): Promise<unknown> {
    const where = 'DynamicLoopingCall.start()';
    checkKeys(where, options, ['initialDelay', 'periodicIntervalMax', 'stopOnException']);
    checkSeconds(where, 'initialDelay', options.initialDelay, true);
    checkSeconds(where, 'periodicIntervalMax', options.periodicIntervalMax, true);
    checkBoolean(where, 'stopOnException', options.stopOnException);
    const max = options.periodicIntervalMax ?? undefined;
    return this.startLoop((result) => {
      if (result === undefined || result === null) {
        if (max === undefined) throw new DynamicIntervalMissingError();
        return max;
      }
      if (typeof result !== 'number' || Number.isNaN(result)) {
        throw new InvalidLoopingResult(this.kind, this.name, describe(result));
      }
      return max === undefined ? result : Math.min(result, max);
    }, options);
  }
}
