import {
  AlreadyRunningError,
  InvalidLoopingOption,
  LoopingCallDone,
  NotStartedError,
  getLogger,
  realClock,
  type Clock,
  type Logger,
} from '../core/index.js';

/** Options every looping call's constructor accepts. */
export interface LoopingCallOptions {
  /** Time source; default `realClock`. Tests pass a `VirtualClock`. */
  clock?: Clock;
  /** Logger; default `getLogger('looping')`. */
  logger?: Logger;
  /** How logs name the function; default `fn.name`, or `'anonymous'`. */
  name?: string;
}

/** Start options shared by the fixed-interval and dynamic looping calls. */
export interface BaseStartOptions {
  /** Seconds to wait before the first call; `undefined`, `null` or 0 mean none. */
  initialDelay?: number | null;
  /**
   * Default `true`: an error thrown by the function ends the loop and rejects `wait()`. With
   * `false` the error is logged, counts as the result `0`, and the loop goes on.
   */
  stopOnException?: boolean;
}

/**
 * Computes the sleep after a run from the function's result and the run's duration (seconds).
 * Throwing ends the loop as a failure.
 */
export type IdleFor = (result: unknown, elapsed: number) => number;

/**
 * The loop shared by every looping call (oslo's `LoopingCallBase`): runs the function, then sleeps
 * for what the subclass's {@link IdleFor} says, until stopped, done or failed. One run at a time; a
 * finished object can be started again.
 */
export abstract class LoopingCallBase {
  /** How logs name the function. */
  readonly name: string;
  /** The time source. */
  protected readonly clock: Clock;
  /** Where failures, warnings and trace lines go. */
  protected readonly logger: Logger;
  /** The log prefix of this kind of loop, e.g. `'Fixed interval looping call'`. */
  protected abstract readonly kind: string;
  /** The `AlreadyRunningError` message of this kind of loop. */
  protected abstract readonly runOnlyOneMessage: string;

  readonly #fn: () => unknown;
  // `running` drops at stop(); `active` only when the loop has really ended (oslo's `_thread`).
  #running = false;
  #active = false;
  #abort: AbortController | undefined;
  #done: Promise<unknown> | undefined;

  /**
   * @param fn - Called once per round, sync or async. Throw {@link LoopingCallDone} to end the loop.
   * @param options - Clock, logger and the function's name in logs.
   */
  constructor(fn: () => unknown, options: LoopingCallOptions = {}) {
    if (typeof fn !== 'function') {
      throw new InvalidLoopingOption(`${new.target.name}: fn must be a function`);
    }
    this.#fn = fn;
    this.clock = options.clock ?? realClock;
    this.logger = options.logger ?? getLogger('looping');
    this.name = options.name ?? (fn.name || 'anonymous');
  }

  /** True from `start()` until `stop()` or the end of the loop. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Asks the loop to end. Unlike Pike (which only noticed at the next wake-up) this interrupts the
   * current sleep, the initial delay included, at once. A function already running is let finish,
   * then the loop ends without sleeping. The done promise resolves with `true`. No-op when idle.
   */
  stop(): void {
    this.#running = false;
    this.#abort?.abort();
  }

  /**
   * The done promise of the current or last run: resolves with the {@link LoopingCallDone} value
   * (or `true` after `stop()`), rejects with the error that ended the loop. Before any start it is
   * a promise rejected with `NotStartedError`.
   */
  wait(): Promise<unknown> {
    return (
      this.#done ??
      Promise.reject(
        new NotStartedError(`${this.kind} '${this.name}' was never started; call start() first`),
      )
    );
  }

  /** Throws `AlreadyRunningError` while a loop is still alive (even if already told to stop). */
  protected assertIdle(): void {
    if (this.#active) throw new AlreadyRunningError(this.runOnlyOneMessage);
  }

  /** Starts the loop; subclasses validate their options first. Returns the done promise. */
  protected startLoop(idleFor: IdleFor, options: BaseStartOptions): Promise<unknown> {
    this.assertIdle();
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = true;
    this.#active = true;
    const done = this.#loop(idleFor, options, abort.signal);
    // An unobserved failure must not become an unhandledRejection; awaiting `done` still rejects.
    done.catch(() => undefined);
    this.#done = done;
    return done;
  }

  async #loop(idleFor: IdleFor, options: BaseStartOptions, signal: AbortSignal): Promise<unknown> {
    const fn = options.stopOnException === false ? this.#safe(this.#fn) : this.#fn;
    try {
      // Like greenthread.spawn: the loop begins once the caller yields, not inside start().
      await Promise.resolve();
      if (options.initialDelay) await this.#sleep(options.initialDelay, signal);
      while (this.#running) {
        const started = this.clock.now();
        const result = await fn();
        const elapsed = this.clock.now() - started;
        if (!this.#running) break;
        const idle = idleFor(result, elapsed);
        this.logger.trace(
          { func: this.name, idle },
          `${this.kind} '${this.name}' sleeping for ${idle.toFixed(2)} seconds`,
        );
        await this.#sleep(idle, signal);
      }
    } catch (err) {
      if (err instanceof LoopingCallDone) return err.returnValue;
      this.logger.error({ err }, `${this.kind} '${this.name}' failed`);
      throw err;
    } finally {
      // Reset before the done promise settles, so `await wait(); start()` works.
      this.#running = false;
      this.#active = false;
      this.#abort = undefined;
    }
    return true;
  }

  /** Sleeps; a stop() turns the abort into a normal wake-up. */
  async #sleep(seconds: number, signal: AbortSignal): Promise<void> {
    try {
      await this.clock.sleep(seconds, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  /** `stopOnException: false`: log the error and carry on with the result 0. */
  #safe(fn: () => unknown): () => Promise<unknown> {
    return async () => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof LoopingCallDone) throw err;
        this.logger.error({ err }, `${this.kind} '${this.name}' failed`);
        return 0;
      }
    };
  }
}
