import { InvalidLoopingOption, LoopingCallTimeOut } from '../core/index.js';
import { LoopingCallBase, type LoopingCallOptions } from './base.js';
import { checkKeys, checkSeconds } from './validate.js';

/** Constructor options of {@link BackOffLoopingCall}. */
export interface BackOffLoopingCallOptions extends LoopingCallOptions {
  /** Uniform source in [0, 1) for the jitter; default `Math.random`. Tests inject a fixed one. */
  random?: () => number;
}

/** Start options of {@link BackOffLoopingCall}. */
export interface BackOffStartOptions {
  /** Seconds to wait before the first call; `undefined`, `null` or 0 mean none. */
  initialDelay?: number | null;
  /** The interval after a success, and the first base of the back-off. Default 1. */
  startingInterval?: number;
  /** Fail with `LoopingCallTimeOut` once the failures' sleeps would exceed this; 0 = never. Default 300. */
  timeout?: number;
  /** Upper bound of a back-off sleep. Default 300. */
  maxInterval?: number;
  /** Mean of the random factor and the growth rate (`2·jitter`) of the back-off. Default 0.75. */
  jitter?: number;
  /** Lower bound of a back-off sleep and of the interval. Default 0.001. */
  minInterval?: number;
}

/**
 * One normal deviate by Box–Muller, drawing two uniforms in CPython's `random.gauss` order (angle,
 * then radius). Unlike CPython it does not cache the second deviate, so each call uses two draws.
 */
export function gauss(random: () => number, mu: number, sigma: number): number {
  const angle = random() * 2 * Math.PI;
  const radius = Math.sqrt(-2 * Math.log(1 - random()));
  return mu + sigma * Math.cos(angle) * radius;
}

const START_KEYS = [
  'initialDelay',
  'startingInterval',
  'timeout',
  'maxInterval',
  'jitter',
  'minInterval',
] as const;

/**
 * Runs `fn` until it throws `LoopingCallDone`; a truthy result means success and a short
 * sleep, a falsy one backs off exponentially with random jitter, within a total timeout (oslo's
 * `BackOffLoopingCall`). Any error ends the loop (there is no `stopOnException` option).
 */
export class BackOffLoopingCall extends LoopingCallBase {
  protected readonly kind: string = 'Dynamic backoff interval looping call';
  protected readonly runOnlyOneMessage: string =
    'A dynamic backoff interval looping call can only run one function at a time';
  readonly #random: () => number;

  /**
   * @param fn - Called once per round, sync or async; its truthiness (JavaScript's) says success.
   * @param options - Clock, logger, name, and the random source of the jitter.
   */
  constructor(fn: () => unknown, options: BackOffLoopingCallOptions = {}) {
    super(fn, options);
    if (options.random !== undefined && typeof options.random !== 'function') {
      throw new InvalidLoopingOption('BackOffLoopingCall: random must be a function');
    }
    this.#random = options.random ?? Math.random;
  }

  /**
   * Starts the loop with fresh back-off state. Each round draws `r = |gauss(jitter, 0.1)|`. On
   * success the interval and the accumulated error time reset and the loop sleeps
   * `startingInterval·r`. On failure it sleeps `idle = min(max(interval·2·r, minInterval),
   * maxInterval)`, the interval grows to `max(interval·2·jitter, minInterval)`, and if the error time
   * plus `idle` would exceed `timeout` the loop fails with `LoopingCallTimeOut` instead. Throws
   * `InvalidOptionError` for a bad option and `AlreadyRunningError` while a loop is alive.
   */
  start(options: BackOffStartOptions = {}): Promise<unknown> {
    const where = 'BackOffLoopingCall.start()';
    checkKeys(where, options, START_KEYS);
    checkSeconds(where, 'initialDelay', options.initialDelay, true);
    for (const key of START_KEYS.slice(1)) checkSeconds(where, key, options[key], true);
    const {
      startingInterval = 1,
      timeout = 300,
      maxInterval = 300,
      jitter = 0.75,
      minInterval = 0.001,
    } = options;
    if (minInterval > maxInterval) {
      throw new InvalidLoopingOption(
        `${where}: minInterval (${minInterval}) must not exceed maxInterval (${maxInterval})`,
      );
    }
    this.assertIdle();
    // Per-run state, so every start() begins afresh.
    let errorTime = 0;
    let interval = startingInterval;
    return this.startLoop(
      (success) => {
        const r = Math.abs(gauss(this.#random, jitter, 0.1));
        if (success) {
          interval = startingInterval;
          errorTime = 0;
          return interval * r;
        }
        const idle = Math.min(Math.max(interval * 2 * r, minInterval), maxInterval);
        // Grow by the mean, so the back-off rate does not depend on the draws.
        interval = Math.max(interval * 2 * jitter, minInterval);
        if (timeout > 0 && errorTime + idle > timeout) {
          // Pike reports errorTime alone; later oslo.service versions report errorTime + idle.
          throw new LoopingCallTimeOut(
            `Looping call timed out after ${(errorTime + idle).toFixed(2)} seconds`,
          );
        }
        errorTime += idle;
        return idle;
      },
      { initialDelay: options.initialDelay },
    );
  }
}
