import cluster from 'node:cluster';
import { InvalidServiceOption, type Clock, type Logger } from '../core/index.js';
import { SERVICE_DEFAULTS } from './options.js';
import type { ServiceBase } from './service-base.js';

/**
 * The part of the configuration a launcher uses. `ConfigOpts` satisfies it; a launcher also works
 * without any configuration (`conf` = `undefined`).
 */
export interface LauncherConf {
  /** Value of a `[DEFAULT]` option; the launcher reads `graceful_shutdown_timeout`. */
  getDefault(name: string): unknown;
  /** Re-reads the configuration files (SIGHUP). A rejection keeps the old configuration. */
  reload(): Promise<unknown>;
}

/** Builds the service to run. Required for `workers > 1`: only the workers call it. */
export type ServiceFactory = () => ServiceBase | Promise<ServiceBase>;

/** Where signal handlers are installed: `process` by default, any EventEmitter in tests. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** Number of worker processes; 1 (default) runs the service in this process. */
  workers?: number;
  /**
   * Seconds a graceful shutdown (and the stop half of a SIGHUP restart) may take; 0 waits forever.
   * Default: `conf.getDefault('graceful_shutdown_timeout')`, read at each shutdown, else 60.
   */
  gracefulShutdownTimeout?: number;
  /** Default `getLogger('service.launcher')`. */
  logger?: Logger;
  /**
   * Called for the exits that cannot wait for the caller (second SIGINT, a shutdown that overran
   * its timeout, the end of a worker process). Default `process.exit`.
   */
  exit?: (code: number) => void;
  /** Install SIGTERM/SIGINT/SIGHUP handlers. Default true. */
  signals?: boolean;
  /** Time source for the shutdown timeout and the fork throttle. Default the real clock. */
  clock?: Clock;
  /** Where signal handlers go. Default `process`; a test seam. */
  signalTarget?: SignalTarget;
}

/** A running launcher. */
export interface Launcher {
  /** Resolves with the exit status once the launcher has finished (0 = clean). */
  wait(): Promise<number>;
  /** Graceful shutdown, as on SIGTERM; resolves with the exit status. */
  stop(): Promise<number>;
  /** Reloads the configuration and restarts the service (workers), as on SIGHUP. */
  restart(): Promise<void>;
}

/** Environment variable that marks a worker process forked by a ProcessLauncher (its index). */
export const WORKER_ENV = 'CONDUCTOR_LAUNCHER_WORKER';
/** Environment variable holding the pid of the primary that forked the worker. */
export const PARENT_PID_ENV = 'CONDUCTOR_LAUNCHER_PARENT_PID';

/** Exit status after a second SIGINT (128 + SIGINT). */
export const EXIT_SIGINT = 130;
/** Default `graceful_shutdown_timeout` (seconds), the option's. */
export const DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT = SERVICE_DEFAULTS.graceful_shutdown_timeout;

/** True in a worker process forked by a {@link ProcessLauncher}. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] !== undefined;
}

/** This worker's index (0 .. workers-1), or `undefined` outside a launcher worker. */
export function workerIndex(): number | undefined {
  if (!isWorkerProcess()) return undefined;
  const index = Number(process.env[WORKER_ENV]);
  return Number.isInteger(index) ? index : undefined;
}

/** True for a non-negative finite number. */
function isTimeout(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Validates an explicit `gracefulShutdownTimeout`. */
export function checkTimeout(value: number | undefined): void {
  if (value !== undefined && !isTimeout(value)) {
    throw new InvalidServiceOption(
      `gracefulShutdownTimeout must be a finite number >= 0, got ${String(value)}`,
    );
  }
}

/**
 * The graceful shutdown timeout in force: the explicit option, else the configuration's
 * `graceful_shutdown_timeout` (when it is a usable number), else 60.
 */
export function resolveTimeout(
  explicit: number | undefined,
  conf: LauncherConf | undefined,
): number {
  if (explicit !== undefined) return explicit;
  let value: unknown;
  try {
    value = conf?.getDefault('graceful_shutdown_timeout');
  } catch {
    value = undefined;
  }
  if (typeof value === 'string' && value.trim() !== '') value = Number(value);
  return isTimeout(value) ? value : DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT;
}

/** True for an object with the four ServiceBase methods. */
export function isServiceBase(value: unknown): value is ServiceBase {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s['start'] === 'function' &&
    typeof s['stop'] === 'function' &&
    typeof s['wait'] === 'function' &&
    typeof s['reset'] === 'function'
  );
}

/** The signals a launcher handles. */
export const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** Installs one listener for each handled signal; returns the function that removes them. */
export function installSignals(
  target: SignalTarget,
  handler: (signal: NodeJS.Signals) => void,
): () => void {
  const listener = (signal: NodeJS.Signals): void => handler(signal);
  const installed = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>();
  for (const sig of HANDLED_SIGNALS) {
    // process passes the signal name; an EventEmitter may not: bind it.
    const bound = (): void => listener(sig);
    target.on(sig, bound);
    installed.set(sig, bound);
  }
  return () => {
    for (const [sig, bound] of installed) target.removeListener(sig, bound);
    installed.clear();
  };
}

/** A promise with its resolve function exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The outcome of {@link withTimeout}. */
export type TimedResult =
  { ok: true } | { ok: false; timedOut: true } | { ok: false; error: unknown };

/**
 * Runs `work` bounded by `seconds` on `clock` (0 = no bound). Never rejects: the result says whether
 * the work finished, failed, or ran out of time.
 */
export async function withTimeout(
  work: Promise<unknown>,
  seconds: number,
  clock: Clock,
): Promise<TimedResult> {
  const settled = work.then(
    (): TimedResult => ({ ok: true }),
    (error: unknown): TimedResult => ({ ok: false, error }),
  );
  if (!(seconds > 0)) return settled;
  const abort = new AbortController();
  const timer = clock.sleep(seconds, abort.signal).then(
    (): TimedResult => ({ ok: false, timedOut: true }),
    (): TimedResult => ({ ok: false, timedOut: true }),
  );
  try {
    return await Promise.race([settled, timer]);
  } finally {
    abort.abort();
  }
}

/**
 * A ref'd timer that keeps the event loop alive while a launcher runs (signal listeners alone do
 * not, and the service may not hold any handle of its own yet). Returns its release function.
 */
export function keepAlive(): () => void {
  const timer = setInterval(() => undefined, 1 << 30);
  return () => clearInterval(timer);
}
