import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { InvalidOpsOption } from '../core/index.js';
import type { RpcDispatchEvent } from '../messaging/index.js';
import type { TaskOutcome, TaskRunEvent, TaskSkipEvent } from '../periodic/index.js';
import type { Service } from '../service/index.js';
import { describeError } from './describe.js';

/** Options of {@link createServiceMetrics}. */
export interface ServiceMetricsOptions {
  /** Where the metrics are registered; default a new registry (never prom-client's global one). */
  registry?: Registry;
  /** Prefix of every metric name of the service. Default `conductor_`. */
  prefix?: string;
  /** Also collect prom-client's default process metrics (`process_*`, `nodejs_*`, unprefixed). Default true. */
  collectDefault?: boolean;
}

/** What the metrics remember of a task's last observed run; times are the service clock's seconds. */
export interface TaskStats {
  /** Seconds the last run took (its timeout, for a run reported past it). */
  readonly lastDuration: number;
  /** Message of the last run's error (no stack), or null if the last run succeeded. */
  readonly lastError: string | null;
  /** When the last run started. */
  readonly lastStartedAt: number;
  /** How the last run ended: `ok`, `error`, or `timeout` (still going at its timeout). */
  readonly lastOutcome: TaskOutcome;
  /** Seconds the last run started after its due time (never below 0). */
  readonly lateness: number;
}

/**
 * What the metrics counted of a task since they were created (the process started), as a task
 * state store counts: `runs` ended (ok or error), `timeouts` were reported past their timeout.
 */
export interface TaskCounts {
  readonly runs: number;
  /** Slots that passed without a run and that the missed policy left out. */
  readonly missed: number;
  /** Slots skipped because the previous run was still going (overlap policy). */
  readonly skipped: number;
  readonly timeouts: number;
}

/** An event-loop stall as the ops endpoint's monitor reports it to the metrics. */
export interface EventLoopStall {
  /** Seconds the event loop was blocked. */
  readonly seconds: number;
  /** The periodic task that was running, if any. */
  readonly task?: string | undefined;
}

/**
 * A service's Prometheus metrics. `onTaskRun`, `onTaskSkip` and `onRpc` are bound functions: pass
 * them as the service's options of the same names.
 */
export interface ServiceMetrics {
  /** The registry holding the metrics (serve `registry.metrics()` with `registry.contentType`). */
  readonly registry: Registry;
  /** Records a periodic task run (runs, failures, duration, lateness, {@link TaskStats}). */
  readonly onTaskRun: (event: TaskRunEvent) => void;
  /** Records slots of a task that did not run (missed, or skipped on overlap). */
  readonly onTaskSkip: (event: TaskSkipEvent) => void;
  /** Records an RPC request (messages by method and outcome, duration by method). */
  readonly onRpc: (event: RpcDispatchEvent) => void;
  /** Records an event-loop stall (the ops endpoint's monitor calls it). */
  readonly onEventLoopStall: (stall: EventLoopStall) => void;
  /** The last observed run of a task, or undefined if none was observed. */
  taskStats(name: string): TaskStats | undefined;
  /** What was counted of a task (zeros for a task never observed). */
  taskCounts(name: string): TaskCounts;
  /**
   * Calls `listener` after every run recorded from now on (the ops endpoint's stall monitor uses it
   * to name a task that blocked the event loop); returns the function that removes it. A listener
   * that throws is ignored.
   */
  watchTaskRuns(listener: (event: TaskRunEvent) => void): () => void;
  /**
   * Calls `listener` after every RPC request recorded from now on (the ops dashboard's rates by
   * method); returns the function that removes it. A listener that throws is ignored.
   */
  watchRpc(listener: (event: RpcDispatchEvent) => void): () => void;
  /**
   * Where the gauges read at scrape time come from (heartbeat age, service up); the getter may return
   * undefined while the service does not exist yet. A later call replaces the earlier one.
   */
  bindService(getService: () => Service | undefined): void;
}

/** Seconds of an event-loop stall: from a tenth of a second to a minute. */
const STALL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60];

const NO_COUNTS: TaskCounts = Object.freeze({ runs: 0, missed: 0, skipped: 0, timeouts: 0 });

/** Seconds: from half a millisecond (an in-memory RPC) to ten minutes (a long periodic task). */
const BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
  600,
];

const METRIC_PREFIX = /^(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/**
 * Builds the Prometheus metrics of a service (`<p>` is the prefix, default `conductor_`):
 *
 * - `<p>task_runs_total{task}`, `<p>task_failures_total{task}` — periodic task runs and failed runs
 *   (a run reported past its timeout counts in both, and in `<p>task_timeouts_total`);
 * - `<p>task_timeouts_total{task}` — runs still going at their timeout (outcome `timeout`);
 * - `<p>task_missed_total{task}` — slots that passed without a run and that the missed policy left
 *   out (the process was down, the scheduler was held up);
 * - `<p>task_skipped_total{task}` — slots skipped because the previous run was still going
 *   (overlap policy `skip`, or `queue-one` with a run queued already);
 * - `<p>task_duration_seconds{task}` — histogram of run times (a timed-out run: its timeout);
 * - `<p>task_lateness_seconds{task}` — histogram of start minus due time (never below 0);
 * - `<p>event_loop_stalls_total`, `<p>event_loop_stall_seconds` — event-loop stalls (blocks longer
 *   than the ops endpoint's stall threshold) and a histogram of their lengths;
 * - `<p>rpc_messages_total{method,outcome}` — RPC requests handled, outcome `ok`, `error` or
 *   `refused` (a refused request naming no served method is counted as method `_unknown_`);
 * - `<p>rpc_duration_seconds{method}` — histogram of RPC handling times;
 * - `<p>heartbeat_age_seconds` — seconds since the last successful report (absent before the first);
 * - `<p>service_up` — 1 while the service runs, else 0;
 * - `<p>coordination_backend_up`, `<p>coordination_leases_held`,
 *   `<p>coordination_lease_acquisitions_total`, `<p>coordination_lease_losses_total`,
 *   `<p>coordination_ring_members{group}` — the service's coordinator.
 *
 * Label values are bounded: task names are the manager's, method names those it serves.
 */
export function createServiceMetrics(options: ServiceMetricsOptions = {}): ServiceMetrics {
  const prefix = options.prefix ?? 'conductor_';
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new InvalidOpsOption(
      `prefix must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(prefix)}`,
    );
  }
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  let getService: () => Service | undefined = () => undefined;
  const stats = new Map<string, TaskStats>();
  const counts = new Map<string, TaskCounts>();
  const listeners = new Set<(event: TaskRunEvent) => void>();
  const rpcListeners = new Set<(event: RpcDispatchEvent) => void>();
  const count = (name: string, add: Partial<TaskCounts>): void => {
    const c = counts.get(name) ?? NO_COUNTS;
    counts.set(name, {
      runs: c.runs + (add.runs ?? 0),
      missed: c.missed + (add.missed ?? 0),
      skipped: c.skipped + (add.skipped ?? 0),
      timeouts: c.timeouts + (add.timeouts ?? 0),
    });
  };

  const taskRuns = new Counter({
    name: `${prefix}task_runs_total`,
    help: 'Periodic task runs, failed or not.',
    labelNames: ['task'] as const,
    registers,
  });
  const taskFailures = new Counter({
    name: `${prefix}task_failures_total`,
    help: 'Periodic task runs that threw or ran past their timeout.',
    labelNames: ['task'] as const,
    registers,
  });
  const taskTimeouts = new Counter({
    name: `${prefix}task_timeouts_total`,
    help: 'Periodic task runs still going at their timeout.',
    labelNames: ['task'] as const,
    registers,
  });
  const taskMissed = new Counter({
    name: `${prefix}task_missed_total`,
    help: 'Slots of a periodic task that passed without a run and that its missed policy left out.',
    labelNames: ['task'] as const,
    registers,
  });
  const taskSkipped = new Counter({
    name: `${prefix}task_skipped_total`,
    help: 'Slots of a periodic task skipped because its previous run was still going.',
    labelNames: ['task'] as const,
    registers,
  });
  const taskDuration = new Histogram({
    name: `${prefix}task_duration_seconds`,
    help: 'Time a periodic task run took.',
    labelNames: ['task'] as const,
    buckets: BUCKETS,
    registers,
  });
  const taskLateness = new Histogram({
    name: `${prefix}task_lateness_seconds`,
    help: 'How long after its due time a periodic task run started.',
    labelNames: ['task'] as const,
    buckets: BUCKETS,
    registers,
  });
  const stalls = new Counter({
    name: `${prefix}event_loop_stalls_total`,
    help: 'Times the event loop was blocked longer than the stall threshold.',
    registers,
  });
  const stallSeconds = new Histogram({
    name: `${prefix}event_loop_stall_seconds`,
    help: 'How long the event loop was blocked, per stall.',
    buckets: STALL_BUCKETS,
    registers,
  });
  const rpcMessages = new Counter({
    name: `${prefix}rpc_messages_total`,
    help: 'RPC requests handled, by method and outcome (ok, error, refused).',
    labelNames: ['method', 'outcome'] as const,
    registers,
  });
  const rpcDuration = new Histogram({
    name: `${prefix}rpc_duration_seconds`,
    help: 'Time from the dispatch of an RPC request to its reply.',
    labelNames: ['method'] as const,
    buckets: BUCKETS,
    registers,
  });
  new Gauge({
    name: `${prefix}heartbeat_age_seconds`,
    help: 'Seconds since the last successful state report (absent before the first).',
    registers,
    collect() {
      const service = getService();
      const last = service?.lastReportAt;
      // No sample rather than 0 before the first report: 0 would read as a fresh heartbeat.
      if (service === undefined || last === undefined) this.remove();
      else this.set(Math.max(0, service.clock.now() - last));
    },
  });
  new Gauge({
    name: `${prefix}service_up`,
    help: '1 while the service is running, else 0.',
    registers,
    collect() {
      this.set(getService()?.state === 'running' ? 1 : 0);
    },
  });
  // Coordination: gauges read at scrape; the counters add what the coordinator counted since the
  // last scrape (a SIGHUP restart brings a new coordinator, counting from 0 again).
  let seen: { coordinator: unknown; acquisitions: number; losses: number } = {
    coordinator: undefined,
    acquisitions: 0,
    losses: 0,
  };
  const coordination = () => {
    const c = getService()?.coordinator;
    if (!c) return undefined;
    if (seen.coordinator !== c) seen = { coordinator: c, acquisitions: 0, losses: 0 };
    return c.stats();
  };
  new Gauge({
    name: `${prefix}coordination_backend_up`,
    help: '1 while the coordination backend answers every heartbeat, else 0 (absent without a service).',
    registers,
    collect() {
      const s = coordination();
      if (!s) this.remove();
      else this.set(s.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: `${prefix}coordination_leases_held`,
    help: 'Leases (once-per-cluster tasks) this replica holds.',
    registers,
    collect() {
      this.set(coordination()?.leasesHeld ?? 0);
    },
  });
  const deltaCounter = (name: string, help: string, key: 'acquisitions' | 'losses') =>
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        const s = coordination();
        if (!s) return;
        const total = key === 'acquisitions' ? s.leaseAcquisitions : s.leaseLosses;
        this.inc(Math.max(0, total - seen[key]));
        seen[key] = total;
      },
    });
  deltaCounter(
    'coordination_lease_acquisitions_total',
    'Leases this replica took (again after each loss).',
    'acquisitions',
  );
  deltaCounter(
    'coordination_lease_losses_total',
    'Leases this replica lost (taken, expired, backend gone); releases are not losses.',
    'losses',
  );
  new Gauge({
    name: `${prefix}coordination_ring_members`,
    help: 'Live members in the hash ring of each group the service partitions (its topic).',
    labelNames: ['group'] as const,
    registers,
    collect() {
      this.reset();
      const s = coordination();
      if (!s) return;
      for (const [group, n] of Object.entries(s.groups)) this.set({ group }, n);
    },
  });
  if (options.collectDefault ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    onTaskRun: (e) => {
      const labels = { task: e.name };
      // A run failed if it says so or carries an error (as events did before they had outcomes).
      const outcome: TaskOutcome =
        e.outcome === 'timeout'
          ? 'timeout'
          : e.outcome === 'error' || 'error' in e
            ? 'error'
            : 'ok';
      const lateness = Math.max(0, e.startedAt - e.scheduledAt);
      taskRuns.inc(labels);
      if (outcome !== 'ok') taskFailures.inc(labels);
      if (outcome === 'timeout') taskTimeouts.inc(labels);
      taskDuration.observe(labels, Math.max(0, e.duration));
      taskLateness.observe(labels, Number.isFinite(lateness) ? lateness : 0);
      stats.set(e.name, {
        lastDuration: e.duration,
        lastError: outcome !== 'ok' ? describeError(e.error) : null,
        lastStartedAt: e.startedAt,
        lastOutcome: outcome,
        lateness,
      });
      count(e.name, outcome === 'timeout' ? { timeouts: 1 } : { runs: 1 });
      for (const listener of listeners) {
        try {
          listener(e);
        } catch {
          // A listener's failure is not the metrics' (nor the task's) business.
        }
      }
    },
    onTaskSkip: (e) => {
      const n = Number.isFinite(e.count) && e.count > 0 ? e.count : 0;
      if (e.reason === 'missed') {
        taskMissed.inc({ task: e.name }, n);
        count(e.name, { missed: n });
      } else {
        taskSkipped.inc({ task: e.name }, n);
        count(e.name, { skipped: n });
      }
    },
    onRpc: (e) => {
      rpcMessages.inc({ method: e.method, outcome: e.outcome });
      rpcDuration.observe({ method: e.method }, Math.max(0, e.duration));
      for (const listener of rpcListeners) {
        try {
          listener(e);
        } catch {
          // A listener's failure is not the metrics' (nor the request's) business.
        }
      }
    },
    onEventLoopStall: (stall) => {
      stalls.inc();
      stallSeconds.observe(Math.max(0, stall.seconds));
    },
    taskStats: (name) => stats.get(name),
    taskCounts: (name) => counts.get(name) ?? NO_COUNTS,
    watchTaskRuns: (listener) => {
      // A wrapper per call: the same function watched twice is removed once per remover.
      const entry = (e: TaskRunEvent): void => listener(e);
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
    watchRpc: (listener) => {
      const entry = (e: RpcDispatchEvent): void => listener(e);
      rpcListeners.add(entry);
      return () => void rpcListeners.delete(entry);
    },
    bindService: (get) => {
      getService = get;
    },
  };
}
