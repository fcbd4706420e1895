import { type Clock, getLogger, type Logger, realClock } from '../core/index.js';
import {
  checkTimeout,
  deferred,
  EXIT_SIGINT,
  installSignals,
  keepAlive,
  type Launcher,
  type LauncherConf,
  type LaunchOptions,
  resolveTimeout,
} from './launcher-common.js';

/** How a launcher's signal log lines name what it does. */
export interface SignalWords {
  /** `stopping gracefully` / `stopping children`. */
  readonly stop: string;
  /** What a second SIGINT does: `instantaneous exiting` / `killing children and exiting at once`. */
  readonly kill: string;
  /** `restarting the service` / `restarting children`. */
  readonly restart: string;
}

/**
 * What the single-process and the worker launchers share (oslo.service's `Launcher`): the
 * configuration and graceful shutdown timeout, the signal handlers (SIGTERM and SIGINT stop
 * gracefully, a second SIGINT exits at once with 130, SIGHUP restarts), the handle that keeps the
 * event loop alive, and the one way to finish with an exit status.
 */
export abstract class LauncherBase implements Launcher {
  protected readonly conf: LauncherConf | undefined;
  protected readonly log: Logger;
  protected readonly clock: Clock;
  readonly #exit: (code: number) => void;
  readonly #timeoutOption: number | undefined;
  readonly #exitWhenDone: boolean;
  readonly #done = deferred<number>();
  readonly #releaseKeepAlive: () => void;
  readonly #removeSignals: () => void;
  readonly #words: SignalWords;
  #sigintSeen = false;
  #finished = false;

  protected constructor(
    conf: LauncherConf | undefined | null,
    options: Omit<LaunchOptions, 'workers'> & { exitWhenDone?: boolean },
    words: SignalWords,
  ) {
    checkTimeout(options.gracefulShutdownTimeout);
    this.conf = conf ?? undefined;
    this.log = options.logger ?? getLogger('service.launcher');
    this.clock = options.clock ?? realClock;
    this.#exit = options.exit ?? ((code: number) => process.exit(code));
    this.#timeoutOption = options.gracefulShutdownTimeout;
    this.#exitWhenDone = options.exitWhenDone ?? false;
    this.#words = words;
    this.#releaseKeepAlive = keepAlive();
    this.#removeSignals =
      options.signals === false
        ? () => undefined
        : installSignals(options.signalTarget ?? process, (sig) => this.#onSignal(sig));
  }

  wait(): Promise<number> {
    return this.#done.promise;
  }

  abstract stop(): Promise<number>;
  abstract restart(): Promise<void>;

  /** True once a shutdown has begun (or the launcher has finished). */
  protected abstract get stopping(): boolean;
  /** Begins the graceful shutdown a signal asked for; `message` is what to log. */
  protected abstract beginShutdown(message: string): void;
  /** Ends everything at once (a second SIGINT): kill the service or the workers. */
  protected abstract killNow(): void;

  /** The graceful shutdown timeout in force (the option, else the configuration's, else 60). */
  protected shutdownTimeout(): number {
    return resolveTimeout(this.#timeoutOption, this.conf);
  }

  /** Re-reads the configuration (SIGHUP); a failure is logged and the old configuration kept. */
  protected async reloadConfig(): Promise<void> {
    if (!this.conf) return;
    try {
      await this.conf.reload();
      this.log.info('Configuration reloaded');
    } catch (err) {
      this.log.error({ err }, 'Error reloading configuration; keeping the old one');
    }
  }

  /** True once {@link finish} ran. */
  protected get finished(): boolean {
    return this.#finished;
  }

  /**
   * Finishes with `status` (once): removes the signal handlers and the keep-alive handle and
   * resolves {@link wait}; `immediate` (or a launcher that exits when done, as a worker does) also
   * calls `exit(status)`, after the caller's `.then` on `wait()` has run.
   */
  protected finish(status: number, immediate = false): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#removeSignals();
    this.#releaseKeepAlive();
    this.#done.resolve(status);
    if (immediate || this.#exitWhenDone) setImmediate(() => this.#exit(status));
  }

  #onSignal(sig: NodeJS.Signals): void {
    const w = this.#words;
    switch (sig) {
      case 'SIGTERM':
        if (this.stopping) this.log.info('Caught SIGTERM while stopping; already shutting down');
        else this.beginShutdown(`Caught SIGTERM, ${w.stop}`);
        break;
      case 'SIGINT':
        if (this.stopping && this.#sigintSeen) {
          this.log.warn(`Caught SIGINT again, ${w.kill}`);
          this.killNow();
          this.finish(EXIT_SIGINT, true);
        } else {
          this.#sigintSeen = true;
          this.beginShutdown(`Caught SIGINT, ${w.stop} (send SIGINT again to exit at once)`);
        }
        break;
      case 'SIGHUP':
        if (this.stopping) {
          this.log.info('Caught SIGHUP while stopping; ignored');
        } else {
          this.log.info(`Caught SIGHUP, reloading configuration and ${w.restart}`);
          void this.restart();
        }
        break;
      default:
        break;
    }
  }
}
