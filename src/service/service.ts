import {
  AlreadyRunningError,
  type Clock,
  getLogger,
  HealthCheckError,
  type Logger,
  realClock,
} from '../core/index.js';
import { type Coordinator, getCoordinator } from '../coordination/index.js';
import { FixedIntervalLoopingCall } from '../looping/index.js';
import {
  getRpcServer,
  getRpcTransport,
  type RpcDispatchEvent,
  type RpcServer,
  type Transport,
  type TransportOptions,
} from '../messaging/index.js';
import {
  restoreLastRuns,
  setTaskPlacement,
  type TaskKey,
  type TaskPlacementKind,
  type TaskRunEvent,
  type TaskSkipEvent,
  type TaskState,
  type TaskStateStore,
} from '../periodic/index.js';
import { TaskStateRecorder } from './task-state-recorder.js';
import { ClusterPlacement } from './cluster-placement.js';
import { importClass } from './import-class.js';
import {
  assertManagerClass,
  type HealthCheck,
  type Manager,
  type ManagerClass,
  type ManagerOptions,
} from './manager.js';
import {
  type PeriodicMode,
  resolveServiceOptions,
  type ServiceTimingOptions,
  type ServiceTimings,
} from './options.js';
import { type PeriodicTimer, startPeriodicTimer } from './periodic-timer.js';
import type { ServiceBase } from './service-base.js';

/** Options of {@link Service.create}; unset ones take the original's defaults. */
export interface ServiceOptions extends ServiceTimingOptions {
  /** The manager class, or where to import it from (`module#Class`). */
  manager: string | ManagerClass;
  /** Exchange of the RPC target; default the transport's control exchange. */
  exchange?: string;
  /** A transport to use (not closed by the service), or options to open one per start. */
  transport?: Transport | TransportOptions;
  /** Requests handled at once by the RPC server. Default 64. */
  executorPoolSize?: number;
  /** Extra options for the manager's constructor (host, clock and logger are set by the service). */
  managerOptions?: Record<string, unknown>;
  clock?: Clock;
  /** Random source in [0, 1) of the fuzzy delay. */
  random?: () => number;
  logger?: Logger;
  /**
   * Observer of every periodic task run (for metrics), given to the manager's constructor; called
   * after an `onTaskRun` in `managerOptions`, if both are set. Errors are logged.
   */
  onTaskRun?: (event: TaskRunEvent) => void;
  /** Observer of the slots that did not run (missed, overlapping), as `onTaskRun`. */
  onTaskSkip?: (event: TaskSkipEvent) => void;
  /**
   * Where the tasks' last runs and counts are kept across restarts; default the manager's
   * `taskStateStore()` (the conductor: its database), else none. With one, each task continues its
   * grid from its stored last run on start, and its `missed` policy decides about the slots between.
   */
  taskStateStore?: TaskStateStore;
  /** Observer of every RPC request the service handles (for metrics); see `RpcServerOptions.onDispatch`. */
  onRpc?: (event: RpcDispatchEvent) => void;
  /**
   * How the service's replicas coordinate (once-per-cluster and sharded tasks, membership): a started
   * {@link Coordinator} to use (not stopped by the service), or settings to open one per start.
   * Default a private `memory://` coordinator: this service is the whole cluster.
   */
  coordination?: Coordinator | ServiceCoordinationOptions;
}

/** Settings of the coordinator a {@link Service} opens (`[coordination]` in configuration). */
export interface ServiceCoordinationOptions {
  /** `[coordination] backend_url`; default `memory://` (private to the service). */
  readonly backendUrl?: string;
  /** `[coordination] lease_ttl`, seconds. Default 15. */
  readonly leaseTtl?: number;
  /** `[coordination] heartbeat_interval`, seconds. Default 5. */
  readonly heartbeatInterval?: number;
  /** `[coordination] required_at_start`: fail the start when the backend is away. Default true. */
  readonly requiredAtStart?: boolean;
  /** Prefix of the backend's keys or tables. Default `conductor`. */
  readonly namespace?: string;
  /** This replica's member id; default `host:pid`. */
  readonly memberId?: string;
}

/** A periodic task of a service as {@link Service.tasks} reports it; times are clock seconds. */
export interface ServiceTaskInfo {
  readonly name: string;
  /** Seconds between runs. */
  readonly spacing: number;
  /** The grid point of the last run (at first, the stamp the first run counts from); null: due at once. */
  readonly lastRun: number | null;
  /** When the task is next due; null: at once (it has not run and runs when the timer first fires). */
  readonly nextDue: number | null;
  /** Where it runs when the service has replicas. */
  readonly placement: TaskPlacementKind;
  /** Once-per-cluster tasks while running: whether this replica holds the task's lease. */
  readonly leaseHeld?: boolean;
  /** The cron pattern (and zone) of a cron task, else null. */
  readonly cron: string | null;
  readonly timezone: string | null;
  /** Seconds a run may take, or null. */
  readonly timeout: number | null;
  /** What the task's state store (or this process, without one) remembers of it, if anything. */
  readonly state?: TaskState;
}

/** What a {@link Service} is doing at one moment ({@link Service.inProgress}). */
export interface ServiceWorkInProgress {
  /** RPC requests dispatched and not finished (replied, for a call). */
  readonly rpcRequests: number;
  /** Of those, the ones whose endpoint method is still running, by method name. */
  readonly rpcMethods: Readonly<Record<string, number>>;
  /** The periodic task runs in progress, by task name (the `exact` mode names its running task). */
  readonly tasks: readonly string[];
}

/** True when `w` holds anything a kill would cut off. */
function busy(w: ServiceWorkInProgress): boolean {
  return w.rpcRequests > 0 || w.tasks.length > 0;
}

/** `3 RPC requests in flight (slow ×2, other ×1), periodic task run long_task`. */
function describeWorkInProgress(w: ServiceWorkInProgress): string {
  const parts: string[] = [];
  if (w.rpcRequests > 0) {
    const methods = Object.entries(w.rpcMethods).map(([m, n]) => `${m} ×${n}`);
    const running = Object.values(w.rpcMethods).reduce((a, n) => a + n, 0);
    if (running < w.rpcRequests) methods.push(`replying ×${w.rpcRequests - running}`);
    const noun = w.rpcRequests === 1 ? 'request' : 'requests';
    parts.push(`${w.rpcRequests} RPC ${noun} in flight (${methods.join(', ')})`);
  }
  if (w.tasks.length > 0) {
    const noun = w.tasks.length === 1 ? 'run' : 'runs';
    parts.push(`periodic task ${noun} ${w.tasks.join(', ')}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

/** Hooks a manager may define beyond {@link Manager}'s. */
/** Forwards run events to the service's state recorder, which exists only while it runs. */
interface RecorderSlot {
  recorder: TaskStateRecorder | undefined;
}

interface ManagerHooks {
  taskStateStore?(): TaskStateStore | undefined;
  initializeServiceHook?(service: Service): unknown;
  reportState?(service: Service): unknown;
  reset?(): unknown;
}

/** Calls `first` then `second` (even if `first` throws, whose error then propagates); either may be unset. */
function chain<E>(
  first: ((event: E) => void) | undefined,
  second: ((event: E) => void) | undefined,
): ((event: E) => void) | undefined {
  if (!first || !second) return first ?? second;
  return (event) => {
    try {
      first(event);
    } finally {
      second(event);
    }
  };
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Tacker's `Service`: a manager behind an RPC server on `topic` (shared queue, `topic.host` and
 * fanout), a report timer and a periodic timer. `start()` runs in the original's order: `initHost`,
 * the RPC consumers, `initializeServiceHook`, the report timer (first report after one interval),
 * the periodic timer (after a random delay up to the fuzzy delay), `afterStart`.
 */
export class Service implements ServiceBase {
  readonly manager: Manager;
  readonly host: string;
  readonly binary: string;
  readonly topic: string;
  readonly reportInterval: number;
  readonly periodicInterval: number;
  readonly periodicFuzzyDelay: number;
  readonly periodicMode: PeriodicMode;
  readonly periodicIntervalMax: number;
  readonly #options: ServiceOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  #state: State = 'created';
  #transport: Transport | undefined;
  #ownsTransport = false;
  #server: RpcServer | undefined;
  #report: FixedIntervalLoopingCall | undefined;
  #periodic: PeriodicTimer | undefined;
  #coordinator: Coordinator | undefined;
  readonly #recorderSlot: RecorderSlot;
  #ownsCoordinator = false;
  #placement: ClusterPlacement | undefined;
  #lastReportAt: number | undefined;
  #stopped: Promise<void> = Promise.resolve();
  #resolveStopped: (() => void) | undefined;

  private constructor(
    manager: Manager,
    options: ServiceOptions,
    timings: ServiceTimings,
    recorderSlot: RecorderSlot,
  ) {
    this.manager = manager;
    this.#recorderSlot = recorderSlot;
    this.#options = options;
    this.host = timings.host;
    this.binary = timings.binary;
    this.topic = timings.topic;
    this.reportInterval = timings.reportInterval;
    this.periodicInterval = timings.periodicInterval;
    this.periodicFuzzyDelay = timings.periodicFuzzyDelay;
    this.periodicMode = timings.periodicMode;
    this.periodicIntervalMax = timings.periodicIntervalMax;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#log = options.logger ?? getLogger('service');
  }

  /** Loads the manager class (if given as a string), builds it and the service. */
  static async create(options: ServiceOptions): Promise<Service> {
    const timings = resolveServiceOptions(options);
    const cls = assertManagerClass(
      typeof options.manager === 'string' ? await importClass(options.manager) : options.manager,
    );
    const host = timings.host;
    const managerOptions = options.managerOptions as ManagerOptions | undefined;
    const slot: RecorderSlot = { recorder: undefined };
    const onTaskRun = chain(
      chain(managerOptions?.onTaskRun, options.onTaskRun),
      (e: TaskRunEvent) => slot.recorder?.onTaskRun(e),
    );
    const onTaskSkip = chain(
      chain(managerOptions?.onTaskSkip, options.onTaskSkip),
      (e: TaskSkipEvent) => slot.recorder?.onTaskSkip(e),
    );
    const manager = new cls({
      ...managerOptions,
      onTaskRun,
      onTaskSkip,
      host,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    return new Service(manager, options, timings, slot);
  }

  /** The transport in use while running. */
  get transport(): Transport | undefined {
    return this.#transport;
  }

  /** Lifecycle state: `created`, `starting`, `running`, `stopping` or `stopped`. */
  get state(): State {
    return this.#state;
  }

  /** The coordinator of the service's replicas while running (the group is the service's topic). */
  get coordinator(): Coordinator | undefined {
    return this.#coordinator;
  }

  /** The time source of the service's timers; every time it reports is in this clock's seconds. */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * When (clock seconds) the report timer last completed a run whose `reportState` hook resolved, or
   * undefined before the first. `clock.now() - lastReportAt` is the heartbeat's age; a failed report
   * leaves it unchanged (and is logged by the timer).
   */
  get lastReportAt(): number | undefined {
    return this.#lastReportAt;
  }

  /**
   * The coordinator's lease name of a once-per-cluster task (as its placement campaigns for it),
   * while the service runs with a coordinator; else undefined.
   */
  leaseNameOf(task: { readonly fullName: string }): string | undefined {
    return this.#placement?.leaseName(task);
  }

  /**
   * The manager's periodic tasks in registration order. `nextDue` comes from the exact scheduler's
   * schedule while it runs, else it is `lastRun + spacing`.
   */
  tasks(): ServiceTaskInfo[] {
    const due = new Map<string, number>();
    const scheduler = this.#periodic?.scheduler;
    if (scheduler?.running) {
      for (const row of scheduler.schedule()) due.set(row.name, row.nextDue);
    }
    const placement = this.#placement;
    const states = this.#recorderSlot.recorder?.states();
    return this.manager.periodicTaskInfo().map((t) => ({
      ...(placement && t.placement === 'once-per-cluster' ? { leaseHeld: placement.holds(t) } : {}),
      name: t.name,
      spacing: t.spacing,
      lastRun: t.lastRun,
      nextDue: due.get(t.name) ?? (t.lastRun === null ? null : t.lastRun + t.spacing),
      placement: t.placement,
      cron: t.cron,
      timezone: t.timezone,
      timeout: t.timeout,
      ...(states?.has(t.name) ? { state: states.get(t.name) as TaskState } : {}),
    }));
  }

  /**
   * The checks that say whether the service is healthy: its own `transport` (fails unless the
   * messaging backend is connected) and `coordination` (fails while the coordination backend cannot
   * be reached), followed by the manager's {@link Manager.healthChecks}.
   */
  healthChecks(): HealthCheck[] {
    const transport: HealthCheck = {
      name: 'transport',
      check: () => {
        if (!this.#transport?.connected) throw new HealthCheckError('transport', 'not connected');
      },
    };
    const coordination: HealthCheck = {
      name: 'coordination',
      check: () => {
        if (!this.#coordinator) throw new HealthCheckError('coordination', 'not started');
        this.#coordinator.check();
      },
    };
    return [transport, coordination, ...this.manager.healthChecks()];
  }

  async start(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'running' || this.#state === 'stopping') {
      throw new AlreadyRunningError(`Service ${this.binary} on ${this.host} is already running`);
    }
    this.#state = 'starting';
    let resolveStopped!: () => void;
    this.#stopped = new Promise((r) => (resolveStopped = r));
    this.#resolveStopped = resolveStopped;
    try {
      this.#log.info(
        { topic: this.topic, host: this.host, mode: this.periodicMode },
        `Starting ${this.binary} node`,
      );
      await this.manager.initHost();
      await this.#startCoordination();
      await this.#startTaskStates();
      await this.#startRpc();
      const hooks = this.manager as Manager & ManagerHooks;
      if (typeof hooks.initializeServiceHook === 'function')
        await hooks.initializeServiceHook(this);
      this.#startReport();
      this.#startPeriodic();
      await this.manager.afterStart();
      this.#state = 'running';
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  /**
   * The coordinator (before the periodic timer, so cluster tasks have their placement from the first
   * run): joins the group named after the topic, partitions it, and campaigns for the lease of every
   * once-per-cluster task.
   */
  async #startCoordination(): Promise<void> {
    const option = this.#options.coordination;
    let settings: ServiceCoordinationOptions = {};
    if (option && 'campaign' in option) {
      this.#coordinator = option;
      this.#ownsCoordinator = false;
    } else {
      settings = option ?? {};
      this.#coordinator = getCoordinator(settings.backendUrl ?? 'memory://', {
        memberId: settings.memberId ?? `${this.host}:${process.pid}`,
        clock: this.#clock,
        logger: this.#log,
        ...(settings.leaseTtl !== undefined ? { leaseTtl: settings.leaseTtl } : {}),
        ...(settings.heartbeatInterval !== undefined
          ? { heartbeatInterval: settings.heartbeatInterval }
          : {}),
        ...(settings.namespace !== undefined ? { namespace: settings.namespace } : {}),
      });
      this.#ownsCoordinator = true;
    }
    const c = this.#coordinator;
    await c.start({ required: settings.requiredAtStart ?? true });
    await c.join(this.topic);
    const placement = new ClusterPlacement(c, this.topic, c.partition(this.topic), this.#log);
    this.#placement = placement;
    setTaskPlacement(this.manager, placement);
    for (const t of this.manager.periodicTaskInfo()) {
      if (t.placement === 'once-per-cluster') placement.campaign(t);
    }
  }

  /** The name of the periodic task whose run the scheduler waits for, if any (`exact` mode). */
  runningTask(): string | undefined {
    return this.#periodic?.scheduler?.runningTask;
  }

  /**
   * What the service is doing now: the RPC requests in flight (and which methods still run) and
   * the periodic task run in progress. A graceful stop waits for all of it; a kill cuts it off and
   * logs it.
   */
  inProgress(): ServiceWorkInProgress {
    const rpc = this.#server?.inProgress();
    const task = this.runningTask();
    return {
      rpcRequests: rpc?.requests ?? 0,
      rpcMethods: rpc?.methods ?? {},
      tasks: task === undefined ? [] : [task],
    };
  }

  /**
   * The task state store (the option, else the manager's): the stored last runs go to the tasks
   * before the periodic timer starts, and a recorder writes every run and skip from then on. A store
   * that cannot be read fails the start (its error says why); a write that fails is only logged.
   */
  async #startTaskStates(): Promise<void> {
    const hooks = this.manager as Manager & ManagerHooks;
    const store =
      this.#options.taskStateStore ??
      (typeof hooks.taskStateStore === 'function' ? hooks.taskStateStore() : undefined);
    if (!store) return;
    const keys = new Map<string, TaskKey>();
    for (const t of this.manager.periodicTaskInfo()) {
      keys.set(t.name, {
        service: this.topic,
        task: t.fullName,
        scope: t.placement === 'once-per-cluster' ? 'cluster' : this.host,
      });
    }
    const recorder = new TaskStateRecorder(store, keys, this.#clock.epoch ?? 0, this.#log);
    restoreLastRuns(this.manager, await recorder.load());
    this.#recorderSlot.recorder = recorder;
  }

  /** After the periodic timer: the leases go, the group is left, an owned coordinator stops. */
  async #stopCoordination(): Promise<void> {
    const c = this.#coordinator;
    if (!c) return;
    const quiet = (what: string) => (err: unknown) =>
      this.#log.debug({ err }, `stop: ${what} failed (it expires by its TTL)`);
    await this.#placement?.close().catch(quiet('releasing the task leases'));
    setTaskPlacement(this.manager, undefined);
    this.#placement = undefined;
    if (this.#ownsCoordinator) await c.stop().catch(quiet('stopping the coordinator'));
    else await c.leave(this.topic).catch(quiet('leaving the group'));
  }

  async #startRpc(): Promise<void> {
    const t = this.#options.transport;
    if (t && 'driver' in t) {
      this.#transport = t;
      this.#ownsTransport = false;
    } else {
      this.#transport = await getRpcTransport({
        ...(t ?? {}),
        ...(this.#options.clock ? { clock: this.#options.clock } : {}),
      });
      this.#ownsTransport = true;
    }
    this.#server = getRpcServer(
      this.#transport,
      {
        topic: this.topic,
        server: this.host,
        ...(this.#options.exchange ? { exchange: this.#options.exchange } : {}),
      },
      [this.manager],
      {
        logger: this.#log,
        ...(this.#options.onRpc ? { onDispatch: this.#options.onRpc } : {}),
        ...(this.#options.executorPoolSize
          ? { executorPoolSize: this.#options.executorPoolSize }
          : {}),
      },
    );
    await this.#server.start();
  }

  #startReport(): void {
    if (!this.reportInterval) return;
    const clock = this.#clock;
    const run = async (): Promise<void> => {
      await this.reportState();
      this.#lastReportAt = clock.now();
    };
    const report = new FixedIntervalLoopingCall(run, {
      clock,
      logger: this.#log,
      name: 'reportState',
    });
    void report.start({
      interval: this.reportInterval,
      initialDelay: this.reportInterval,
      stopOnException: false,
    });
    this.#report = report;
  }

  /** The report timer's work: the manager's `reportState(service)` hook, if it has one. */
  async reportState(): Promise<void> {
    const hooks = this.manager as Manager & ManagerHooks;
    if (typeof hooks.reportState === 'function') await hooks.reportState(this);
  }

  #startPeriodic(): void {
    if (!this.periodicInterval) return;
    const fuzzy = Math.floor(this.periodicFuzzyDelay);
    this.#periodic = startPeriodicTimer({
      manager: this.manager,
      mode: this.periodicMode,
      interval: this.periodicInterval,
      intervalMax: this.periodicIntervalMax,
      initialDelay: fuzzy > 0 ? Math.floor(this.#random() * (fuzzy + 1)) : 0,
      clock: this.#clock,
      logger: this.#log,
    });
  }

  /**
   * Graceful stop: the timers start no new run, the RPC server takes no new requests (undispatched
   * ones return to the queue, counted in its `Stopped RPC server` log line) and in-flight calls
   * finish and reply, while a running periodic task finishes.
   */
  async stop(): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'starting') return this.#stopped;
    this.#state = 'stopping';
    const work = this.inProgress();
    this.#log.info(
      {
        topic: this.topic,
        host: this.host,
        rpcInFlight: work.rpcRequests,
        tasksRunning: work.tasks,
      },
      `Stopping ${this.binary} node`,
    );
    try {
      // No new task run may begin while the calls drain; the one running goes on.
      this.#report?.stop();
      this.#periodic?.stop();
      this.#placement?.stopping();
      if (this.#server) {
        await this.#server.stop();
        await this.#server.wait();
      }
      await Promise.allSettled([this.#report?.wait(), this.#periodic?.wait()]);
      await this.#recorderSlot.recorder?.flush();
      await this.#stopCoordination();
      await this.#cleanupHost();
      if (this.#ownsTransport) await this.#transport?.close();
    } finally {
      this.#finish();
    }
  }

  /** Resolves when the service has stopped (at once if it is not running). */
  wait(): Promise<void> {
    return this.#stopped;
  }

  /**
   * Immediate stop: consumers cancelled, timers stopped, nothing waited for. What it cuts off (RPC
   * requests in flight, by method; the periodic task run) is logged as an error first, at once.
   */
  async kill(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'created') return;
    const work = this.inProgress();
    if (busy(work)) {
      this.#log.error(
        {
          topic: this.topic,
          host: this.host,
          rpcInFlight: work.rpcRequests,
          rpcMethods: work.rpcMethods,
          tasksRunning: work.tasks,
        },
        `Service killed; cut off: ${describeWorkInProgress(work)}`,
      );
    }
    this.#state = 'stopping';
    this.#report?.stop();
    this.#periodic?.stop();
    this.#placement?.stopping();
    await this.#server
      ?.stop()
      .catch((err: unknown) =>
        this.#log.debug({ err }, 'kill: the RPC server did not stop cleanly'),
      );
    await this.#stopCoordination();
    await this.#cleanupHost();
    if (this.#ownsTransport)
      await this.#transport
        ?.close()
        .catch((err: unknown) =>
          this.#log.debug({ err }, 'kill: the transport did not close cleanly'),
        );
    this.#finish();
  }

  /** The manager's `cleanupHost()`; an error is logged, never stops the stop. */
  async #cleanupHost(): Promise<void> {
    const hooks = this.manager as Partial<Manager>;
    if (typeof hooks.cleanupHost !== 'function') return;
    try {
      await hooks.cleanupHost.call(this.manager);
    } catch (err) {
      this.#log.error({ err }, 'cleanupHost failed');
    }
  }

  /** After a configuration reload: the manager's `reset()` hook; the service can start again. */
  async reset(): Promise<void> {
    const hooks = this.manager as Manager & ManagerHooks;
    if (typeof hooks.reset === 'function') await hooks.reset();
  }

  #finish(): void {
    this.#server = undefined;
    this.#report = undefined;
    this.#periodic = undefined;
    this.#coordinator = undefined;
    if (this.#ownsTransport) this.#transport = undefined;
    this.#state = 'stopped';
    this.#resolveStopped?.();
  }
}
