import { NotAServiceError } from '../core/index.js';
import { LauncherBase } from './launcher-base.js';
import {
  isServiceBase,
  type LauncherConf,
  type LaunchOptions,
  type ServiceFactory,
  withTimeout,
} from './launcher-common.js';
import type { ServiceBase } from './service-base.js';

/** Options of {@link ServiceLauncher}: those of `launch()` except `workers`, plus worker mode. */
export interface ServiceLauncherOptions extends Omit<LaunchOptions, 'workers'> {
  /** Call `exit(status)` once finished, whatever the cause (worker processes). Default false. */
  exitWhenDone?: boolean;
}

/** Seconds a stop lets a start in progress end before abandoning it (see `shutdown`). */
const START_GRACE = 1;

type State = 'starting' | 'running' | 'restarting' | 'stopping' | 'done';

/**
 * Runs one service in this process (oslo.service's `ServiceLauncher`).
 *
 * Starts the service at once. SIGTERM and SIGINT stop it gracefully (`stop()` then `wait()`),
 * bounded by the graceful shutdown timeout; a second SIGINT exits at once with 130. SIGHUP reloads
 * the configuration and restarts the service (`stop`, `wait`, `reset`, `start`). `wait()` resolves
 * with the exit status: 0 after a clean stop, 1 after a failed start, a failed stop or a shutdown
 * that overran its timeout.
 */
export class ServiceLauncher extends LauncherBase {
  readonly #source: ServiceBase | ServiceFactory;
  #service: ServiceBase | undefined;
  /** True between a successful start() and the stop()/wait() that ends it. */
  #serviceRunning = false;
  #state: State = 'starting';
  /** Serialises start, restarts and the final stop. Never rejects. */
  #chain: Promise<void>;
  /** True while the service's start() runs. */
  #startPending = false;
  /** True once a stop abandoned the start in progress (killed the service to end it). */
  #abandoned = false;
  /** A restart queued on the chain and not yet begun (SIGHUPs coalesce into it). */
  #queuedRestart: Promise<void> | undefined;

  constructor(
    conf: LauncherConf | undefined | null,
    service: ServiceBase | ServiceFactory,
    options: ServiceLauncherOptions = {},
  ) {
    if (typeof service !== 'function' && !isServiceBase(service)) {
      throw new NotAServiceError('Service must implement ServiceBase');
    }
    super(conf, options, {
      stop: 'stopping gracefully',
      kill: 'instantaneous exiting',
      restart: 'restarting the service',
    });
    this.#source = service;
    this.#chain = this.#startService();
  }

  stop(): Promise<number> {
    return this.shutdown('Stopping the service');
  }

  restart(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'done') return Promise.resolve();
    if (this.#queuedRestart) return this.#queuedRestart;
    const run = this.#chain.then(() => {
      this.#queuedRestart = undefined;
      return this.#restart();
    });
    this.#queuedRestart = run;
    this.#chain = run.catch((err: unknown) => this.log.error({ err }, 'Error restarting service'));
    return run;
  }

  /**
   * Begins a graceful shutdown (unless one is under way) and resolves with the final status;
   * `cleanStatus` is the status of a clean stop. Used by the signal handlers, `stop()` and the
   * worker's parent watch.
   * @internal
   */
  shutdown(message: string, cleanStatus = 0): Promise<number> {
    if (this.#state === 'stopping' || this.#state === 'done') return this.wait();
    this.#state = 'stopping';
    this.log.info(message);
    const timeout = this.shutdownTimeout();
    if (this.#startPending) void this.#abandonStartAfter(timeout);
    // Waits for a start or restart in progress, then stops; all within the one timeout.
    const work = this.#chain.then(() => this.#stopAndWait());
    void withTimeout(work, timeout, this.clock).then((result) => {
      if (result.ok) {
        this.log.info('Service stopped');
        this.#finish(cleanStatus);
      } else if ('timedOut' in result) {
        this.log.error({ timeout }, 'Graceful shutdown timeout exceeded, instantaneous exiting');
        this.#killService();
        this.#finish(1, true);
      } else {
        this.log.error({ err: result.error }, 'Error stopping service');
        this.#finish(1);
      }
    });
    return this.wait();
  }

  /**
   * A start still in progress when the stop came: waited for {@link START_GRACE} seconds (at most
   * half the timeout), so that one about to end is stopped gracefully; one still waiting then (for
   * a broker, a database) has nothing to drain and is abandoned: the service is killed, which ends
   * its start, rather than waited for until the timeout and an exit 1.
   */
  async #abandonStartAfter(timeout: number): Promise<void> {
    const grace = timeout > 0 ? Math.min(START_GRACE, timeout / 2) : START_GRACE;
    await withTimeout(this.#chain, grace, this.clock);
    if (!this.#startPending) return;
    this.log.info({ after: grace }, 'The service is still starting: its start is abandoned');
    this.#abandoned = true;
    this.#killService();
  }

  protected get stopping(): boolean {
    return this.#isStopping();
  }

  protected beginShutdown(message: string): void {
    void this.shutdown(message);
  }

  protected killNow(): void {
    this.#killService();
  }

  async #startService(): Promise<void> {
    try {
      const service = typeof this.#source === 'function' ? await this.#source() : this.#source;
      if (!isServiceBase(service)) {
        throw new NotAServiceError('The service factory did not return a ServiceBase');
      }
      this.#service = service;
      this.#startPending = true;
      try {
        await service.start();
      } finally {
        this.#startPending = false;
      }
      this.#serviceRunning = true;
    } catch (err) {
      await this.#failStart(err);
      return;
    }
    if (this.#state === 'starting') this.#state = 'running';
    this.log.info('Service started');
  }

  /** Logs a failed start, stops what may have been started (bounded), and finishes with 1. */
  async #failStart(err: unknown): Promise<void> {
    // The start was abandoned for a stop (see shutdown): the stop reports and ends it. A start
    // that failed by itself, a stop pending or not, is an error.
    if (this.#abandoned) {
      this.log.debug({ err }, 'The abandoned start ended');
      this.#serviceRunning = false;
      return;
    }
    this.log.error({ err }, 'Error starting service');
    const service = this.#service;
    this.#serviceRunning = false;
    if (service && this.#state !== 'done') {
      const timeout = this.shutdownTimeout();
      const cleanup = (async () => {
        await service.stop();
        await service.wait();
      })();
      const result = await withTimeout(cleanup, timeout, this.clock);
      if (!result.ok) {
        this.log.warn(
          'error' in result ? { err: result.error } : { timeout },
          'Could not stop the service after its failed start',
        );
      }
    }
    this.#finish(1);
  }

  async #stopAndWait(): Promise<void> {
    const service = this.#service;
    if (!service || !this.#serviceRunning || this.#state === 'done') return;
    await service.stop();
    await service.wait();
    this.#serviceRunning = false;
  }

  async #restart(): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'starting') return;
    this.#state = 'restarting';
    await this.reloadConfig();
    const service = this.#service;
    if (!service || this.#isStopping()) return;
    const timeout = this.shutdownTimeout();
    const stopped = await withTimeout(this.#stopAndWait(), timeout, this.clock);
    if (!stopped.ok) {
      if ('timedOut' in stopped) {
        this.log.error(
          { timeout },
          'Graceful shutdown timeout exceeded during restart, instantaneous exiting',
        );
        this.#killService();
        this.#finish(1, true);
        return;
      }
      this.log.error({ err: stopped.error }, 'Error stopping service for restart');
      this.#serviceRunning = false;
    }
    // A shutdown requested meanwhile runs next on the chain; do not start again for it.
    if (this.#isStopping()) return;
    try {
      await service.reset();
      await service.start();
      this.#serviceRunning = true;
    } catch (err) {
      await this.#failStart(err);
      return;
    }
    if (this.#state === 'restarting') this.#state = 'running';
    this.log.info('Service restarted');
  }

  #isStopping(): boolean {
    return this.#state === 'stopping' || this.#state === 'done';
  }

  /** `service.kill()` if the service has one; errors are logged, nothing is awaited. */
  #killService(): void {
    const service = this.#service;
    if (!service?.kill) return;
    try {
      void Promise.resolve(service.kill()).catch((err: unknown) =>
        this.log.warn({ err }, 'Error killing service'),
      );
    } catch (err) {
      this.log.warn({ err }, 'Error killing service');
    }
  }

  #finish(status: number, immediate = false): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.finish(status, immediate);
  }
}
