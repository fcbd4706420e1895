import { LoopingCallTimeOut } from '../core/index.js';
import { LoopingCallBase, type BaseStartOptions } from './base.js';
import { checkBoolean, checkKeys, checkSeconds } from './validate.js';

/** Start options of {@link FixedIntervalLoopingCall}. */
export interface FixedIntervalStartOptions extends BaseStartOptions {
  /** Seconds from the start of one run to the start of the next. */
  interval: number;
}

/** Start options of {@link FixedIntervalWithTimeoutLoopingCall}. */
export interface FixedIntervalWithTimeoutStartOptions extends FixedIntervalStartOptions {
  /** Seconds since `start()` (initial delay included) after which a run ends the loop; 0 = never. */
  timeout?: number;
}

const FIXED_KEYS = ['interval', 'initialDelay', 'stopOnException'] as const;

function validateFixed(where: string, options: FixedIntervalStartOptions, keys: readonly string[]) {
  checkKeys(where, options, keys);
  checkSeconds(where, 'interval', options.interval);
  checkSeconds(where, 'initialDelay', options.initialDelay, true);
  checkBoolean(where, 'stopOnException', options.stopOnException);
}

/** Python's `round(x, 2)` (up to tie-breaking on exact binary halves). */
function round2(x: number): number {
  return Number(x.toFixed(2));
}

/**
 * Runs `fn` every `interval` seconds, start to start, so the spacing does not drift with the run
 * time (oslo's `FixedIntervalLoopingCall`). The function's result is ignored. A run longer than the
 * interval logs a warning and the next run starts at once.
 */
export class FixedIntervalLoopingCall extends LoopingCallBase {
  protected readonly kind: string = 'Fixed interval looping call';
  protected readonly runOnlyOneMessage: string =
    'A fixed interval looping call can only run one function at a time';

  /**
   * Starts the loop. Throws `InvalidOptionError` for a bad option and `AlreadyRunningError` while a
   * loop is alive. Returns the done promise (see `wait()`).
   */
  start(options: FixedIntervalStartOptions): Promise<unknown> {
    validateFixed('FixedIntervalLoopingCall.start()', options, FIXED_KEYS);
    const { interval } = options;
    return this.startLoop((_result, elapsed) => this.fixedIdle(interval, elapsed), options);
  }

  /** The sleep after a run of `elapsed` seconds; warns when the run outlasted the interval. */
  protected fixedIdle(interval: number, elapsed: number): number {
    const delay = round2(elapsed - interval);
    if (delay > 0) {
      this.logger.warn(
        { func: this.name, delay },
        `Function '${this.name}' run outlasted interval by ${delay.toFixed(2)} sec`,
      );
      return 0;
    }
    // Unrounded, so runs stay exactly `interval` apart (oslo sleeps the rounded -delay).
    return interval - elapsed;
  }
}

/**
 * A {@link FixedIntervalLoopingCall} that fails with `LoopingCallTimeOut` once more than `timeout`
 * seconds have passed since `start()` (oslo's `FixedIntervalWithTimeoutLoopingCall`).
 */
export class FixedIntervalWithTimeoutLoopingCall extends FixedIntervalLoopingCall {
  protected override readonly kind: string = 'Fixed interval looping call with timeout checking.';
  protected override readonly runOnlyOneMessage: string =
    'A fixed interval looping call with timeout checking can only run one function at a time';

  /**
   * Starts the loop. After each run (and after the overrun warning) it checks the time since this
   * call; past `timeout` the loop fails with `LoopingCallTimeOut`, which is logged and rejects the
   * done promise. `stopOnException: false` does not catch it.
   */
  override start(options: FixedIntervalWithTimeoutStartOptions): Promise<unknown> {
    const where = 'FixedIntervalWithTimeoutLoopingCall.start()';
    validateFixed(where, options, [...FIXED_KEYS, 'timeout']);
    checkSeconds(where, 'timeout', options.timeout, true);
    const { interval } = options;
    const timeout = options.timeout ?? 0;
    const startTime = this.clock.now();
    return this.startLoop((_result, elapsed) => {
      const idle = this.fixedIdle(interval, elapsed);
      const sinceStart = this.clock.now() - startTime;
      if (timeout > 0 && sinceStart > timeout) {
        throw new LoopingCallTimeOut(
          `Looping call timed out after ${sinceStart.toFixed(2)} seconds`,
        );
      }
      return idle;
    }, options);
  }
}
