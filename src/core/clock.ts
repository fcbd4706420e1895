import { InvalidClockOption } from './errors.js';

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
  /**
   * Seconds to add to `now()` for Unix time, where the clock has one (the real clock); absent or 0
   * for a clock whose time is its own (the virtual clock). Replicas agree on the slots of
   * cluster-wide tasks through it.
   */
  readonly epoch?: number;
}

/** Largest delay a Node.js timer accepts, in milliseconds (about 24.8 days). */
const TIMEOUT_MAX_MS = 2 ** 31 - 1;

/** Options of {@link RealClock}. */
export interface RealClockOptions {
  /**
   * Seconds at the end of every sleep that are waited by blocking the thread (`Atomics.wait`, then a
   * busy wait of at most 50 µs) instead of with a timer. Node.js timers have millisecond granularity
   * and fire up to about a millisecond late; the blocking wait wakes within tens of microseconds.
   * The event loop is held for at most this long per wake-up (usually less: the timer that starts
   * the window is itself late). Default 0.002; 0 uses timers only.
   */
  preciseWindow?: number;
}

/** The busy-wait part of the precise window, in ms: below it a futex wake-up is not precise. */
const BUSY_MS = 0.05;
/** What `Atomics.wait` blocks on: it never changes, so every wait runs to its timeout. */
const waitCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread until `performance.now()` reaches `deadline` (ms). */
function blockUntil(deadline: number): void {
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= BUSY_MS) break;
    Atomics.wait(waitCell, 0, 0, remaining - BUSY_MS);
  }
  while (performance.now() < deadline) {
    // The last few tens of microseconds.
  }
}

/**
 * The real, monotonic clock (`performance.now()`), with sleeps accurate to tens of microseconds.
 *
 * A sleep waits on a timer until {@link RealClockOptions.preciseWindow} before its deadline, then
 * blocks the thread for the rest. Measured on a 2-vCPU VM (`bench/accuracy.ts`), this gives a
 * smaller and steadier error than finishing with `setImmediate` turns, which burn the CPU for the
 * whole window and are at the mercy of every event-loop turn.
 */
export class RealClock implements Clock {
  readonly #windowMs: number;

  constructor(options: RealClockOptions = {}) {
    for (const key of Object.keys(options)) {
      if (key !== 'preciseWindow') {
        throw new InvalidClockOption(
          key === 'spinThreshold'
            ? 'RealClock option spinThreshold was renamed preciseWindow'
            : `Unknown RealClock option '${key}'`,
        );
      }
    }
    const window = options.preciseWindow ?? 0.002;
    if (!(window >= 0) || !Number.isFinite(window)) {
      throw new InvalidClockOption(
        `preciseWindow must be a finite number >= 0, got ${String(window)}`,
      );
    }
    this.#windowMs = window * 1000;
  }

  /** Unix time of `now() === 0`: the process's time origin. */
  readonly epoch = performance.timeOrigin / 1000;

  now(): number {
    return performance.now() / 1000;
  }

  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(seconds > 0)) return new Promise((resolve) => setImmediate(resolve));
    const deadline = performance.now() + seconds * 1000;
    const windowMs = this.#windowMs;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const step = (): void => {
        const remaining = deadline - performance.now();
        if (remaining > windowMs) {
          timer = setTimeout(step, Math.min(remaining - windowMs, TIMEOUT_MAX_MS));
          return;
        }
        if (remaining > 0) blockUntil(deadline);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      step();
    });
  }
}

/** The process-wide real clock. */
export const realClock: Clock = new RealClock();
