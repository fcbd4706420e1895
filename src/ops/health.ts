import {
  type Clock,
  getLogger,
  HealthCheckError,
  InvalidOpsOption,
  type Logger,
  realClock,
} from '../core/index.js';
import type { HealthCheck } from '../service/index.js';
import { describeError } from './describe.js';
import type { EventLoopStall } from './metrics.js';
import { opsOptions } from './options.js';

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

/** Options of {@link EventLoopMonitor}; times are seconds. */
export interface EventLoopMonitorOptions {
  /** One block longer than this fails the check by itself, for `window` seconds. Default 1. */
  readonly blockThreshold?: number;
  /** How long one block over `blockThreshold` fails the check. Default 10. */
  readonly window?: number;
  /**
   * A block longer than this is a stall: logged at WARNING once (its length, the periodic task
   * that was running) and reported to `onStall`. Default `[ops] stall_threshold` (0.5).
   */
  readonly stallThreshold?: number;
  /**
   * Stalls within `stallWindow` after which the check fails (sustained stalls: degraded). Default
   * `[ops] stall_degraded_after` (3).
   */
  readonly degradedAfter?: number;
  /**
   * The window of `degradedAfter`, and the quiet period after which a degraded check recovers
   * (no stall for this long). Default `[ops] stall_window` (60).
   */
  readonly stallWindow?: number;
  /**
   * Time of the windows and quiet periods; default the real clock. (How long the loop was blocked
   * is always measured in real time.)
   */
  readonly clock?: Clock;
  /** Where stalls are logged. Default the `ops` logger. */
  readonly logger?: Logger;
  /** The periodic task running now, if any (a service's `runningTask()`); errors count as none. */
  readonly runningTask?: () => string | undefined;
  /** Called once per stall (for metrics). Errors are ignored. */
  readonly onStall?: (stall: EventLoopStall) => void;
}

function seconds(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v)))
    throw new InvalidOpsOption(`${name} must be a positive number of seconds, got ${String(v)}`);
  return v;
}

/** Seconds with at most millisecond precision, for logs and reasons. */
const ms = (s: number): number => Math.round(s * 1000) / 1000;

/**
 * Watches the event loop and provides the `event_loop` health check.
 *
 * A timer every 20 ms measures how late it fires: that lag is one observation ({@link observe}).
 * An observation over the stall threshold is a stall, logged at WARNING once with its length and
 * the periodic task that was running (the task whose run ended while the loop was blocked, else the
 * one the scheduler waits for now, else the one it waited for when the block began), and reported
 * to `onStall`. The check fails:
 *
 * - while stalls are sustained: `degradedAfter` within `stallWindow`; it recovers once
 *   `stallWindow` seconds pass without a stall;
 * - for `window` seconds after one block longer than `blockThreshold`.
 *
 * The check first looks at the time since the last tick, so a block that has just ended counts
 * even before the timer has seen it. (perf_hooks' delay histogram is not used: it tells neither
 * when a block happened nor which one, so a stall could be neither logged once nor timed.)
 */
export class EventLoopMonitor {
  readonly #blockThreshold: number;
  readonly #window: number;
  readonly #stallThreshold: number;
  readonly #degradedAfter: number;
  readonly #stallWindow: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #runningTask: (() => string | undefined) | undefined;
  readonly #onStall: ((stall: EventLoopStall) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When the probe timer last fired (performance.now() ms). */
  #lastTick = 0;
  /** The task running at the last tick, and a task whose run ended during the current block. */
  #runningAtTick: string | undefined;
  #suspect: string | undefined;
  /** Blocks over the block threshold within `window` (clock seconds, seconds blocked). */
  #blocks: Array<{ at: number; seconds: number }> = [];
  /** Stalls within `stallWindow`. */
  #stalls: Array<{ at: number; seconds: number; task: string | undefined }> = [];
  #lastStall: { at: number; seconds: number; task: string | undefined } | undefined;
  #degraded = false;
  /** While degraded: the stalls since it began (those that made it included), the longest. */
  #episode = { stalls: 0, longest: 0 };
  #stallCount = 0;

  constructor(options: EventLoopMonitorOptions = {}) {
    const defaults = opsOptions.defaults;
    this.#blockThreshold = seconds('blockThreshold', options.blockThreshold, 1);
    this.#window = seconds('window', options.window, 10);
    this.#stallThreshold = seconds(
      'stallThreshold',
      options.stallThreshold,
      defaults.stall_threshold,
    );
    this.#stallWindow = seconds('stallWindow', options.stallWindow, defaults.stall_window);
    const after = options.degradedAfter ?? defaults.stall_degraded_after;
    if (!(Number.isInteger(after) && after >= 1))
      throw new InvalidOpsOption(`degradedAfter must be an integer >= 1, got ${String(after)}`);
    this.#degradedAfter = after;
    this.#clock = options.clock ?? realClock;
    this.#log = options.logger ?? getLogger('ops');
    this.#runningTask = options.runningTask;
    this.#onStall = options.onStall;
  }

  /** Starts probing. Idempotent. */
  start(): void {
    if (this.#timer) return;
    this.#lastTick = performance.now();
    this.#runningAtTick = this.#running();
    this.#timer = setInterval(() => this.#tick(), RESOLUTION_MS);
    this.#timer.unref(); // never keeps the process alive
  }

  /** Stops probing and forgets what it saw (stalls, blocks, degradation). Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#blocks = [];
    this.#stalls = [];
    this.#lastStall = undefined;
    this.#degraded = false;
    this.#suspect = undefined;
    this.#runningAtTick = undefined;
  }

  /** Whether stalls are sustained (the check fails until a quiet period has passed). */
  get degraded(): boolean {
    this.#refresh(this.#clock.now());
    return this.#degraded;
  }

  /** Stalls observed since the monitor was built. */
  get stallCount(): number {
    return this.#stallCount;
  }

  /**
   * One observation: the event loop was blocked for `delay` seconds, ending now. The probe timer
   * calls it on every tick; tests call it directly.
   */
  observe(delay: number): void {
    if (!(typeof delay === 'number' && Number.isFinite(delay) && delay >= 0)) return;
    const now = this.#clock.now();
    if (delay > this.#blockThreshold) this.#blocks.push({ at: now, seconds: delay });
    if (delay > this.#stallThreshold) this.#stall(delay, now);
    this.#suspect = undefined;
    this.#refresh(now);
  }

  /**
   * Notes that a run of `task` has just ended: if the loop has been blocked past the stall threshold
   * meanwhile, the stall is that task's (a task that blocks and returns is no longer running when
   * the timer sees the stall).
   */
  taskEnded(task: string): void {
    if (!this.#timer || this.#suspect !== undefined) return;
    const pending = (performance.now() - this.#lastTick - RESOLUTION_MS) / 1000;
    if (pending > this.#stallThreshold) this.#suspect = task;
  }

  /** The health check (name `event_loop`). */
  readonly check: HealthCheck = {
    name: 'event_loop',
    check: () => {
      if (this.#timer) this.#tick(); // a block that just ended, before the timer saw it
      const now = this.#clock.now();
      this.#refresh(now);
      const reasons: string[] = [];
      if (this.#degraded) reasons.push(this.#degradedReason(now));
      const longest = this.#blocks.reduce((m, b) => Math.max(m, b.seconds), 0);
      if (longest > 0)
        reasons.push(`blocked for ${longest.toFixed(3)} s (threshold ${this.#blockThreshold} s)`);
      if (reasons.length > 0) throw new HealthCheckError('event_loop', reasons.join('; '));
    },
  };

  #tick(): void {
    const now = performance.now();
    const lag = Math.max(0, (now - this.#lastTick - RESOLUTION_MS) / 1000);
    this.#lastTick = now;
    this.observe(lag);
    this.#runningAtTick = this.#running();
  }

  #running(): string | undefined {
    try {
      return this.#runningTask?.();
    } catch {
      return undefined; // no service (yet), or one that cannot say
    }
  }

  #stall(delay: number, now: number): void {
    const task = this.#suspect ?? this.#running() ?? this.#runningAtTick;
    const stall = { at: now, seconds: delay, task };
    this.#stallCount++;
    this.#stalls.push(stall);
    this.#lastStall = stall;
    if (this.#degraded) {
      this.#episode.stalls++;
      this.#episode.longest = Math.max(this.#episode.longest, delay);
    }
    this.#log.warn(
      {
        stallSeconds: ms(delay),
        threshold: this.#stallThreshold,
        ...(task !== undefined ? { task } : {}),
      },
      `Event loop stalled for ${delay.toFixed(3)} s (threshold ${this.#stallThreshold} s)${
        task !== undefined ? ` while periodic task ${task} was running` : ''
      }`,
    );
    try {
      this.#onStall?.({ seconds: delay, task });
    } catch {
      // an observer's failure is not the monitor's
    }
  }

  /** Forgets what has aged out of the windows; enters or leaves the degraded state. */
  #refresh(now: number): void {
    this.#blocks = this.#blocks.filter((b) => now - b.at < this.#window);
    this.#stalls = this.#stalls.filter((s) => now - s.at < this.#stallWindow);
    const last = this.#lastStall;
    if (this.#degraded) {
      if (last === undefined || now - last.at >= this.#stallWindow) {
        this.#degraded = false;
        this.#log.info(
          { quietSeconds: this.#stallWindow },
          `Event loop healthy again: no stall for ${this.#stallWindow} s`,
        );
      }
    } else if (this.#stalls.length >= this.#degradedAfter) {
      this.#degraded = true;
      this.#episode = {
        stalls: this.#stalls.length,
        longest: this.#stalls.reduce((m, s) => Math.max(m, s.seconds), 0),
      };
      this.#log.warn(
        {
          stalls: this.#stalls.length,
          window: this.#stallWindow,
          threshold: this.#stallThreshold,
        },
        `Event loop stalls are sustained (${this.#stalls.length} within ${this.#stallWindow} s): /healthz reports event_loop failing until ${this.#stallWindow} s pass without a stall`,
      );
    }
  }

  #degradedReason(now: number): string {
    const last = this.#lastStall as { at: number; seconds: number; task: string | undefined };
    const { stalls, longest } = this.#episode;
    const task = last.task !== undefined ? ` during task ${last.task}` : '';
    return (
      `sustained stalls over ${this.#stallThreshold} s: ${stalls} since ${this.#degradedAfter} came within ${this.#stallWindow} s, ` +
      `longest ${longest.toFixed(3)} s, last ${ms(now - last.at)} s ago${task}; ` +
      `healthy again after ${this.#stallWindow} s without a stall`
    );
  }
}
