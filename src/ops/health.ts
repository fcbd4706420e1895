import { type Clock, HealthCheckError, realClock } from '../core/index.js';
import type { HealthCheck } from '../service/index.js';
import { describeError } from './describe.js';

/** The outcome of {@link runHealthChecks}. */
export interface HealthReport {
  /** True when every check passed. */
  readonly ok: boolean;
  /** Per check, `ok` or why it failed (one line, no stack). */
  readonly checks: Readonly<Record<string, string>>;
}

/** Options of {@link runHealthChecks}. */
export interface RunHealthChecksOptions {
  /** Seconds a check may take before it counts as failed. */
  readonly timeout: number;
  /** Time source of the timeout; default the real clock. */
  readonly clock?: Clock;
}

/** Runs one check; resolves with `ok` or the reason, never rejects and never outlives the timeout. */
async function runOne(check: HealthCheck, timeout: number, clock: Clock): Promise<string> {
  const abort = new AbortController();
  // Through then(): a check that throws synchronously is a rejection like any other.
  const result = Promise.resolve().then(() => check.check());
  const expired = clock.sleep(timeout, abort.signal).then(
    () => {
      throw new HealthCheckError(check.name, `timed out after ${timeout} s`);
    },
    () => undefined, // aborted: the check settled first
  );
  try {
    await Promise.race([result, expired]);
    return 'ok';
  } catch (err) {
    return describeError(err);
  } finally {
    abort.abort();
    result.catch(() => undefined); // a check that hung and failed later is not an unhandled rejection
  }
}

/**
 * Runs the checks at once, each bounded by the timeout (a hanging check fails; it never hangs the
 * caller). Checks with the same name are reported as `name`, `name_2`, ...
 */
export async function runHealthChecks(
  checks: readonly HealthCheck[],
  options: RunHealthChecksOptions,
): Promise<HealthReport> {
  const clock = options.clock ?? realClock;
  const results = await Promise.all(checks.map((c) => runOne(c, options.timeout, clock)));
  const report: Record<string, string> = {};
  checks.forEach((c, i) => {
    let key = String(c.name);
    for (let n = 2; key in report; n++) key = `${String(c.name)}_${n}`;
    report[key] = results[i] as string;
  });
  return { ok: results.every((r) => r === 'ok'), checks: report };
}

/** Interval of the event-loop probe timer, ms. */
const RESOLUTION_MS = 20;

/**
 * The `event_loop` check: fails when the event loop was blocked longer than the threshold within
 * the last one to two windows, so a stall shows up on the next probe whenever it happened, and
 * clears once it is a window or two old.
 *
 * A timer every 20 ms measures how late it fires. (perf_hooks' delay histogram is not used: its
 * `reset()` also forgets the previous tick, so a stall right before a window rotation was lost.)
 */
export class EventLoopMonitor {
  readonly #threshold: number;
  readonly #windowMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** When the probe timer last fired (performance.now() ms). */
  #lastTick = 0;
  /** Largest lag of the current and the previous window, seconds. */
  #currentMax = 0;
  #previousMax = 0;

  /**
   * @param threshold - Seconds of blocking above which the check fails.
   * @param window - Seconds per window. Default 10.
   */
  constructor(threshold: number, window = 10) {
    this.#threshold = threshold;
    this.#windowMs = window * 1000;
  }

  /** Starts probing. Idempotent. */
  start(): void {
    if (this.#timer) return;
    this.#lastTick = performance.now();
    let windowStart = this.#lastTick;
    this.#timer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, (now - this.#lastTick - RESOLUTION_MS) / 1000);
      this.#lastTick = now;
      if (now - windowStart >= this.#windowMs) {
        this.#previousMax = this.#currentMax;
        this.#currentMax = 0;
        windowStart = now;
      }
      this.#currentMax = Math.max(this.#currentMax, lag);
    }, RESOLUTION_MS);
    this.#timer.unref(); // never keeps the process alive
  }

  /** Stops probing and forgets what it saw. Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#currentMax = 0;
    this.#previousMax = 0;
  }

  /**
   * Longest event-loop stall in the current and previous windows, seconds (0 when stopped),
   * including one that just ended and that the probe timer has not seen yet.
   */
  get maxDelay(): number {
    if (!this.#timer) return 0;
    const pending = Math.max(0, (performance.now() - this.#lastTick - RESOLUTION_MS) / 1000);
    return Math.max(this.#previousMax, this.#currentMax, pending);
  }

  /** The health check (name `event_loop`). */
  readonly check: HealthCheck = {
    name: 'event_loop',
    check: () => {
      const delay = this.maxDelay;
      if (delay > this.#threshold) {
        throw new HealthCheckError(
          'event_loop',
          `blocked for ${delay.toFixed(3)} s (threshold ${this.#threshold} s)`,
        );
      }
    },
  };
}
