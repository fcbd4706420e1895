import cluster, { type Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import {
  getLogger,
  InvalidWorkerCount,
  NotPrimaryProcess,
  ServiceFactoryRequired,
} from '../core/index.js';
import { LauncherBase } from './launcher-base.js';
import {
  type LauncherConf,
  type LaunchOptions,
  PARENT_PID_ENV,
  type ServiceFactory,
  WORKER_ENV,
} from './launcher-common.js';
import type { ServiceBase } from './service-base.js';
import { ServiceLauncher } from './launcher-service.js';

/** Seconds between two checks, in a worker, that the primary is still alive. */
export const PARENT_CHECK_INTERVAL = 1;

/**
 * Seconds the primary waits past the graceful shutdown timeout before it SIGKILLs the workers
 * still running: each worker stops on the same timeout by itself, logs what it cut off and exits 1.
 */
const CHILD_KILL_GRACE = 1;

/**
 * Runs `workers` copies of a service in worker processes (oslo.service's `ProcessLauncher`, on
 * `node:cluster`). Must be created in the primary; each worker re-executes the entry script, whose
 * `launch()` call then runs the factory's service with a {@link ServiceLauncher}.
 *
 * Dead workers are respawned (at most about one per second once more than `workers` have been
 * forked within `workers` seconds). SIGTERM and SIGINT stop respawning, SIGTERM every worker and
 * wait for them, bounded by the graceful shutdown timeout (then SIGKILL, status 1); a second SIGINT
 * SIGKILLs the workers and exits at once with 130. SIGHUP reloads the primary's configuration and
 * SIGTERMs the workers, which are respawned and so read the new configuration.
 */
export class ProcessLauncher extends LauncherBase {
  readonly #workers: number;
  readonly #slots: (Worker | undefined)[];
  readonly #slotOf = new Map<number, number>();
  readonly #abort = new AbortController();
  readonly #onExit = (worker: Worker, code: number, signal: string | null): void =>
    this.#childExited(worker, code, signal);

  #forkTimes: number[] = [];
  #running = true;
  #spawning = false;
  /** How the workers that ended badly during the shutdown ended (or that they were SIGKILLed). */
  readonly #unclean: string[] = [];
  /** Workers alive when the shutdown began. */
  #stoppingCount = 0;

  constructor(
    conf: LauncherConf | undefined | null,
    factory: ServiceFactory,
    workers: number,
    options: Omit<LaunchOptions, 'workers'> = {},
  ) {
    if (!Number.isInteger(workers) || workers <= 0) throw new InvalidWorkerCount();
    if (typeof factory !== 'function') throw new ServiceFactoryRequired();
    if (!cluster.isPrimary) throw new NotPrimaryProcess();
    super(conf, options, {
      stop: 'stopping children',
      kill: 'killing children and exiting at once',
      restart: 'restarting children',
    });
    this.#workers = workers;
    this.#slots = new Array<Worker | undefined>(workers).fill(undefined);
    cluster.on('exit', this.#onExit);
    void this.#spawnMissing();
  }

  /** The live workers' pids, by index (undefined for an empty slot). */
  get pids(): (number | undefined)[] {
    return this.#slots.map((w) => w?.process.pid);
  }

  stop(): Promise<number> {
    return this.#shutdown('Stopping children');
  }

  async restart(): Promise<void> {
    if (!this.#running) return;
    await this.reloadConfig();
    if (!this.#running) return;
    // A requested restart is not a crash loop: the throttle starts afresh.
    this.#forkTimes = [];
    this.#signalAll('SIGTERM');
  }

  protected get stopping(): boolean {
    return !this.#running;
  }

  protected beginShutdown(message: string): void {
    void this.#shutdown(message);
  }

  protected killNow(): void {
    this.#signalAll('SIGKILL');
  }

  async #spawnMissing(): Promise<void> {
    if (this.#spawning) return;
    this.#spawning = true;
    try {
      for (;;) {
        if (!this.#running) return;
        const index = this.#slots.indexOf(undefined);
        if (index < 0) return;
        await this.#throttle();
        if (!this.#running || this.#slots[index] !== undefined) continue;
        this.#fork(index);
      }
    } catch (err) {
      this.log.error({ err }, 'Error forking a child');
    } finally {
      this.#spawning = false;
    }
  }

  /** oslo's throttle: more than `workers` forks within `workers` seconds → sleep 1 s. */
  async #throttle(): Promise<void> {
    const times = this.#forkTimes;
    if (times.length > this.#workers) {
      if (this.clock.now() - (times[0] as number) < this.#workers) {
        this.log.info('Forking too fast, sleeping');
        // Rejects when the launcher stops: then there is nothing left to fork.
        await this.clock.sleep(1, this.#abort.signal).catch(() => undefined);
      }
      times.shift();
    }
    times.push(this.clock.now());
  }

  #fork(index: number): void {
    const worker = cluster.fork({
      [WORKER_ENV]: String(index),
      [PARENT_PID_ENV]: String(process.pid),
    });
    this.#slots[index] = worker;
    this.#slotOf.set(worker.id, index);
    worker.on('error', (err: unknown) =>
      this.log.warn({ err, pid: worker.process.pid }, 'Child error'),
    );
    this.log.info({ index }, `Started child ${String(worker.process.pid)}`);
  }

  #childExited(worker: Worker, code: number, signal: string | null): void {
    const index = this.#slotOf.get(worker.id);
    if (index === undefined) return; // not one of ours
    this.#slotOf.delete(worker.id);
    if (this.#slots[index] === worker) this.#slots[index] = undefined;
    const pid = String(worker.process.pid);
    const unexpected = this.#running && !this.finished;
    const level = unexpected ? 'warn' : 'info';
    if (signal) this.log[level]({ index }, `Child ${pid} killed by signal ${signal}`);
    else this.log[level]({ index }, `Child ${pid} exited with status ${String(code)}`);
    if (this.finished) return;
    if (this.#running) {
      void this.#spawnMissing();
      return;
    }
    // Stopping: our SIGTERM may kill a worker before it installed its handlers; that is clean.
    if ((signal !== null && signal !== 'SIGTERM') || (signal === null && code !== 0)) {
      this.#unclean.push(
        signal ? `${pid} killed by ${signal}` : `${pid} exited with ${String(code)}`,
      );
    }
    if (this.#live().length > 0) return;
    if (this.#unclean.length > 0) {
      this.log.error(
        { children: this.#unclean },
        `${this.#unclean.length} of ${this.#stoppingCount} children did not stop cleanly: ${this.#unclean.join(', ')}`,
      );
    }
    this.#finish(this.#unclean.length > 0 ? 1 : 0);
  }

  #shutdown(message: string): Promise<number> {
    if (!this.#running) return this.wait();
    this.#running = false;
    this.#abort.abort();
    this.log.info(message);
    const live = this.#live();
    if (live.length === 0) {
      this.#finish(0);
      return this.wait();
    }
    this.#stoppingCount = live.length;
    this.log.info(`Waiting on ${live.length} children to exit`);
    this.#signalAll('SIGTERM');
    const timeout = this.shutdownTimeout();
    if (timeout > 0) {
      const ended = new AbortController();
      void this.wait().then(() => ended.abort());
      // The workers keep the same timeout and report what they cut off: give them a moment more.
      void this.clock.sleep(timeout + CHILD_KILL_GRACE, ended.signal).then(
        () => {
          if (this.finished) return;
          const remaining = this.#live().map((w) => w.process.pid);
          this.log.error(
            { timeout, remaining },
            'Graceful shutdown timeout exceeded, killing remaining children',
          );
          this.#signalAll('SIGKILL');
        },
        () => undefined, // aborted: every child exited in time
      );
    }
    return this.wait();
  }

  #live(): Worker[] {
    return this.#slots.filter((w): w is Worker => w !== undefined);
  }

  #signalAll(sig: NodeJS.Signals): void {
    for (const worker of this.#live()) {
      try {
        worker.process.kill(sig);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
          this.log.warn({ err, pid: worker.process.pid }, `Could not send ${sig} to child`);
        }
      }
    }
  }

  #finish(status: number, immediate = false): void {
    if (this.finished) return;
    this.#running = false;
    this.#abort.abort();
    cluster.removeListener('exit', this.#onExit);
    this.finish(status, immediate);
  }
}

/** True if the process `pid` is our parent and alive. */
function parentAlive(parentPid: number): boolean {
  if (process.platform === 'linux') {
    try {
      // /proc/self/stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
      const stat = readFileSync('/proc/self/stat', 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (Number.isInteger(ppid)) return ppid === parentPid;
    } catch {
      // fall through to the signal probe
    }
  }
  try {
    process.kill(parentPid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The worker side of a ProcessLauncher: a {@link ServiceLauncher} for the factory's service that
 * exits the process when it finishes, and stops gracefully (status 1) when the primary dies — on
 * the cluster 'disconnect' event, or when a periodic check finds the parent gone.
 */
export function startWorker(
  conf: LauncherConf | undefined | null,
  service: ServiceBase | ServiceFactory,
  options: Omit<LaunchOptions, 'workers'> = {},
): ServiceLauncher {
  const log = options.logger ?? getLogger('service.launcher');
  const launcher = new ServiceLauncher(conf, service, {
    ...options,
    logger: log,
    exitWhenDone: true,
  });
  const parentPid = Number(process.env[PARENT_PID_ENV]) || process.ppid;
  let dead = false;
  const parentDied = (): void => {
    if (dead) return;
    dead = true;
    void launcher.shutdown('Parent process has died unexpectedly, exiting', 1);
  };
  const worker = cluster.worker;
  const onDisconnect = (): void => {
    // node:cluster exits a worker at once (status 0) on an unexpected disconnect unless it is
    // marked as exiting after a disconnect; we exit ourselves after a graceful stop.
    if (worker) worker.exitedAfterDisconnect = true;
    parentDied();
  };
  worker?.once('disconnect', onDisconnect);
  const timer = setInterval(() => {
    if (!parentAlive(parentPid)) parentDied();
  }, PARENT_CHECK_INTERVAL * 1000);
  timer.unref();
  void launcher.wait().then(() => {
    clearInterval(timer);
    worker?.removeListener('disconnect', onDisconnect);
  });
  return launcher;
}
