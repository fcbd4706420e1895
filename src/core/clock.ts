/**
 * Time source for every scheduling component. Time is in seconds (fractional allowed), as in
 * oslo.service and its configuration files.
 */
export interface Clock {
  /** Monotonic time in seconds. Only differences are meaningful. */
  now(): number;
  /**
   * Resolves after `seconds`. `sleep(0)` (or a negative or NaN value) is a bare yield and never
   * waits for time to pass. Rejects with `signal.reason` when the signal aborts.
   */
  sleep(seconds: number, signal?: AbortSignal): Promise<void>;
}

/** Largest delay a Node.js timer accepts, in milliseconds (about 24.8 days). */
const TIMEOUT_MAX_MS = 2 ** 31 - 1;

/** Options of {@link RealClock}. */
export interface RealClockOptions {
  /**
   * The last part of every sleep, in seconds, is waited with `setImmediate` turns instead of a timer,
   * because Node.js timers have millisecond granularity and may fire up to about a millisecond late
   * (or early, against `performance.now()`). Default 0.002; 0 uses timers only.
   */
  spinThreshold?: number;
}

/**
 * The real, monotonic clock (`performance.now()`), with sleeps accurate to well under a millisecond.
 */
export class RealClock implements Clock {
  readonly #spinMs: number;

  constructor(options: RealClockOptions = {}) {
    const spin = options.spinThreshold ?? 0.002;
    if (!(spin >= 0) || !Number.isFinite(spin)) {
      throw new RangeError(`spinThreshold must be a finite number >= 0, got ${String(spin)}`);
    }
    this.#spinMs = spin * 1000;
  }

  now(): number {
    return performance.now() / 1000;
  }

  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(seconds > 0)) return new Promise((resolve) => setImmediate(resolve));
    const deadline = performance.now() + seconds * 1000;
    const spinMs = this.#spinMs;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        clearImmediate(immediate);
        reject(signal?.reason);
      };
      const step = (): void => {
        const remaining = deadline - performance.now();
        if (remaining <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        } else if (remaining > spinMs) {
          timer = setTimeout(step, Math.min(remaining - spinMs, TIMEOUT_MAX_MS));
        } else {
          immediate = setImmediate(step);
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      step();
    });
  }
}

/** The process-wide real clock. */
export const realClock: Clock = new RealClock();
