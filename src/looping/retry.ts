import {
  InvalidLoopingOption,
  LoopingCallDone,
  getLogger,
  realClock,
  type Clock,
  type Logger,
} from '../core/index.js';
import { DynamicLoopingCall } from './dynamic.js';
import { checkKeys, checkSeconds, describe } from './validate.js';

/** Any error class, as listed in {@link RetryOptions.exceptions} (matched with `instanceof`). */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Retries allowed after the first attempt; -1 (default) = unlimited. */
  maxRetryCount?: number;
  /** Added to the sleep before each retry: 10 s, 20 s, 30 s… Default 10. */
  incSleepTime?: number;
  /** Upper bound of the sleep between attempts. Default 60. */
  maxSleepTime?: number;
  /** Errors worth a retry (`instanceof` any of them). Default `[]`: nothing is retried. */
  exceptions?: readonly ErrorClass[];
  /** Time source; default `realClock`. */
  clock?: Clock;
  /** Logger; default `getLogger('looping')`. */
  logger?: Logger;
}

/**
 * Wraps a function so it is retried on the listed errors. Works both as a higher-order function,
 * `retry(opts)(fn)`, and as a TC39 method decorator, `@retry(opts) async method() {}`. The result
 * always returns a promise and keeps `this` and the arguments.
 */
export type RetryWrapper = <This, Args extends unknown[], R>(
  fn: (this: This, ...args: Args) => R,
  context?: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
) => (this: This, ...args: Args) => Promise<Awaited<R>>;

/**
 * oslo's `RetryDecorator`. Each invocation runs a `DynamicLoopingCall` (no initial delay,
 * `periodicIntervalMax = maxSleepTime`): a success ends it with the result (even `undefined`); an
 * error listed in `exceptions` is retried after `min(n·incSleepTime, maxSleepTime)` seconds on the
 * n-th retry, or re-thrown once `maxRetryCount` retries are spent; any other error is re-thrown at
 * once. Unlike Pike, the retry count and sleep restart at every invocation.
 *
 * Throws `InvalidOptionError` at once for a bad option.
 */
export function retry(options: RetryOptions = {}): RetryWrapper {
  validateRetry(options);
  const {
    maxRetryCount = -1,
    incSleepTime = 10,
    maxSleepTime = 60,
    exceptions = [],
    clock = realClock,
  } = options;
  const logger = options.logger ?? getLogger('looping');
  const listed = (err: unknown): boolean => exceptions.some((cls) => err instanceof cls);

  return <This, Args extends unknown[], R>(fn: (this: This, ...args: Args) => R) => {
    if (typeof fn !== 'function') throw new InvalidLoopingOption('retry(): fn must be a function');
    const name = fn.name || 'anonymous';
    return function (this: This, ...args: Args): Promise<Awaited<R>> {
      // Per invocation (Pike kept these on the decorator, so retries leaked across calls).
      let retryCount = 0;
      let sleepTime = 0;
      const attempt = async (): Promise<number> => {
        let result: Awaited<R>;
        try {
          if (retryCount) logger.debug(`Invoking ${name}; retry count is ${retryCount}.`);
          result = await fn.apply(this, args);
        } catch (err) {
          if (!listed(err)) throw err;
          logger.debug(
            `Exception which is in the suggested list of exceptions occurred while invoking function: ${name}.`,
          );
          if (maxRetryCount !== -1 && retryCount >= maxRetryCount) {
            logger.debug(
              `Cannot retry ${name} upon suggested exception since retry count (${retryCount}) reached max retry count (${maxRetryCount}).`,
            );
            throw err;
          }
          retryCount += 1;
          sleepTime += incSleepTime;
          return sleepTime; // the loop caps it at maxSleepTime
        }
        throw new LoopingCallDone(result);
      };
      const loop = new DynamicLoopingCall(attempt, { clock, logger, name });
      const done = loop.start({ periodicIntervalMax: maxSleepTime });
      logger.debug(`Waiting for function ${name} to return.`);
      return done as Promise<Awaited<R>>;
    };
  };
}

function validateRetry(options: RetryOptions): void {
  const where = 'retry()';
  checkKeys(where, options, [
    'maxRetryCount',
    'incSleepTime',
    'maxSleepTime',
    'exceptions',
    'clock',
    'logger',
  ]);
  const { maxRetryCount, exceptions } = options;
  if (maxRetryCount !== undefined && !(Number.isInteger(maxRetryCount) && maxRetryCount >= -1)) {
    throw new InvalidLoopingOption(
      `${where}: maxRetryCount must be an integer >= -1 (-1 = unlimited), got ${describe(maxRetryCount)}`,
    );
  }
  checkSeconds(where, 'incSleepTime', options.incSleepTime, true);
  checkSeconds(where, 'maxSleepTime', options.maxSleepTime, true);
  if (
    exceptions !== undefined &&
    !(Array.isArray(exceptions) && exceptions.every((e) => typeof e === 'function'))
  ) {
    throw new InvalidLoopingOption(`${where}: exceptions must be an array of error classes`);
  }
}
