import {
  type Clock,
  FRAMEWORK_BASE,
  getLogger,
  InvalidPeriodicOption,
  InvalidPeriodicTaskArg,
  type Logger,
  realClock,
  type RequestContext,
  TaskTimeoutError,
  UnknownPeriodicTask,
} from '../core/index.js';
import type { Grid } from './catch-up.js';
import type { CronSchedule } from './cron.js';
import type { TaskOutcome } from './task-state.js';
import {
  DEFAULT_POLICY,
  type MissedPolicy,
  type OverlapPolicy,
  type TaskPolicy,
} from './task-policy.js';
import { classTasks } from './decorator.js';
import { DEFAULT_INTERVAL, type PeriodicTaskOptions, validateTaskOptions } from './task-options.js';
import { makeTaskSpec, type PeriodicTaskFn, type TaskSpec } from './task-spec.js';
import { periodicOptions } from './options.js';
import {
  EVERY_REPLICA_RUN,
  localRun,
  slotAt,
  type PlacedTask,
  type TaskPlacement,
  type TaskPlacementKind,
  type TaskRun,
} from './placement.js';
import { TaskTable } from './task-table.js';

/** What happened in one run of a task; handed to {@link PeriodicTasksOptions.onTaskRun}. */
export interface TaskRunEvent {
  /** `ClassName.taskName`, as in the logs. */
  readonly fullName: string;
  readonly name: string;
  /** When the run was due (the exact scheduler's grid point), else when it started. */
  readonly scheduledAt: number;
  readonly startedAt: number;
  /** Seconds the run took. */
  readonly duration: number;
  /** The error the task threw (a `TaskTimeoutError` when it ran past its timeout), if it failed. */
  readonly error?: unknown;
  /** `ok`, `error`, or `timeout` (reported at the deadline; the run may still be going). */
  readonly outcome: TaskOutcome;
}

/** Slots of a task that did not run; handed to {@link PeriodicTasksOptions.onTaskSkip}. */
export interface TaskSkipEvent {
  readonly fullName: string;
  readonly name: string;
  /**
   * `missed`: the slots passed without a run (the process was down, the scheduler was held up) and
   * the missed policy left them out; `overlap`: the previous run was still going.
   */
  readonly reason: 'missed' | 'overlap';
  /** How many slots. */
  readonly count: number;
  /** The due time of the (first) slot skipped, clock seconds. */
  readonly scheduledAt: number;
}

/** Options of {@link PeriodicTasks}. */
export interface PeriodicTasksOptions {
  /** oslo `[DEFAULT] run_external_periodic_tasks`: run tasks marked `externalProcessOk`. Default true. */
  runExternalPeriodicTasks?: boolean;
  /** Time source; default the real clock. */
  clock?: Clock;
  /** Random source in [0, 1) for the boundary jitter; default Math.random. */
  random?: () => number;
  logger?: Logger;
  /** Observer called after every run (for metrics). Must not throw; errors are logged. */
  onTaskRun?: (event: TaskRunEvent) => void;
  /** Observer of slots that did not run (missed, overlapping). Must not throw; errors are logged. */
  onTaskSkip?: (event: TaskSkipEvent) => void;
  /**
   * Spacing of declared tasks for this instance, by task name, replacing the decorator's (typically
   * from configuration: oslo evaluated `spacing=CONF.x` at import, which JS modules cannot do). The
   * decorator's rules apply: 0 means {@link DEFAULT_INTERVAL}, a negative spacing skips the task. A
   * name that matches no declared task is an error.
   */
  spacing?: Readonly<Record<string, number>>;
  /**
   * Decides the runs of once-per-cluster and sharded tasks (a service sets it from its coordinator;
   * see {@link setTaskPlacement}). Without one, this instance is the whole cluster: such tasks run
   * here, owning every key.
   */
  placement?: TaskPlacement;
}

/** A registered task as {@link PeriodicTasks.periodicTaskInfo} reports it. */
export interface PeriodicTaskInfo {
  readonly name: string;
  /** `ClassName.name`, as in the logs (and in lease names and task state keys). */
  readonly fullName: string;
  readonly spacing: number;
  readonly runImmediately: boolean;
  readonly externalProcessOk: boolean;
  readonly placement: TaskPlacementKind;
  /** The cron pattern (and its zone) when the task runs on cron, else null. */
  readonly cron: string | null;
  readonly timezone: string | null;
  /** Seconds a run may take, or null (no timeout). */
  readonly timeout: number | null;
  readonly overlap: OverlapPolicy;
  readonly missed: MissedPolicy;
  /** Last run (a grid point), or null if it has not run and is due at once. */
  readonly lastRun: number | null;
}

/** The framework side of a {@link PeriodicTasks}, for the exact scheduler in this folder. */
export interface PeriodicInternals {
  readonly table: TaskTable;
  readonly clock: Clock;
  readonly random: () => number;
  readonly runExternal: boolean;
  readonly logger: Logger;
  /** Runs entry `i`; returns a promise only when the task returned one. Never throws unless `raise`. */
  run(i: number, ctx: RequestContext, raise: boolean, scheduledAt: number): void | Promise<void>;
  /** Seconds to add to the clock's time for cluster time (the grid of cluster tasks). */
  epoch(): number;
  /** Reports slots of entry `i` that did not run (logged, counted, observed). */
  skipped(i: number, reason: TaskSkipEvent['reason'], count: number, scheduledAt: number): void;
  /** The cron grid of entry `i` in clock seconds, or undefined for a spacing task. */
  cronGrid(i: number): Grid | undefined;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null &&
  (typeof v === 'object' || typeof v === 'function') &&
  typeof (v as { then?: unknown }).then === 'function';

let internalsOf: (p: PeriodicTasks) => PeriodicInternals;

/** The declared tasks with the instance's spacing overrides applied (see the `spacing` option). */
function withSpacing(
  specs: readonly TaskSpec[],
  spacing: Readonly<Record<string, number>> | undefined,
  logger: Logger,
): readonly TaskSpec[] {
  if (spacing === undefined) return specs;
  if (typeof spacing !== 'object' || spacing === null)
    throw new InvalidPeriodicOption('spacing must be an object of task name to seconds');
  for (const name of Object.keys(spacing)) {
    if (!specs.some((s) => s.name === name)) {
      throw new UnknownPeriodicTask(name, specs.map((s) => s.name).join(', ') || 'none');
    }
  }
  const out: TaskSpec[] = [];
  for (const spec of specs) {
    if (!Object.hasOwn(spacing, spec.name)) {
      out.push(spec);
      continue;
    }
    const opts = validateTaskOptions(
      {
        spacing: spacing[spec.name],
        runImmediately: spec.runImmediately,
        externalProcessOk: spec.externalProcessOk,
        placement: spec.placement,
      },
      `spacing of ${spec.name}`,
    );
    if (spec.policy?.cron) {
      throw new InvalidPeriodicTaskArg(
        `spacing of ${spec.name}: the task runs on cron '${spec.policy.cron.pattern}'; its spacing cannot be set`,
      );
    }
    const changed = makeTaskSpec(spec.fn, spec.name, { ...opts, policy: spec.policy }, logger);
    if (changed) out.push(changed);
  }
  return out;
}

/**
 * Sets (or, with undefined, removes) what decides the runs of `tasks`' once-per-cluster and sharded
 * tasks; a service calls it with its coordinator's placement before it starts the periodic timer.
 */
export function setTaskPlacement(tasks: PeriodicTasks, placement: TaskPlacement | undefined): void {
  placementOf(tasks, placement);
}

let placementOf: (p: PeriodicTasks, placement: TaskPlacement | undefined) => void;

/**
 * Sets the last runs of `tasks`' tasks (clock seconds, by task name) from a task state store, before
 * the scheduler starts: each task continues its grid from there, and its `missed` policy decides
 * about the slots that passed meanwhile. Names of no task are ignored.
 */
export function restoreLastRuns(tasks: PeriodicTasks, lastRuns: ReadonlyMap<string, number>): void {
  const t = periodicInternals(tasks).table;
  for (const [name, last] of lastRuns) {
    const slot = t.slotByName(name);
    if (slot === undefined || !Number.isFinite(last)) continue;
    t.lastRun[slot] = last;
    t.restored.add(slot);
  }
}

/** @internal For the exact scheduler only. */
export function periodicInternals(p: PeriodicTasks): PeriodicInternals {
  return internalsOf(p);
}

/**
 * oslo.service's `PeriodicTasks`: holds the tasks declared with `@periodicTask` on the class (and its
 * ancestors) plus those added to this instance, and runs the due ones.
 *
 * Differences from the original: the "last run" stamp is taken when the instance is built (not at
 * import), and `addPeriodicTask` changes only this instance.
 */
export class PeriodicTasks {
  readonly #table = new TaskTable();
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #runExternal: boolean;
  readonly #logger: Logger;
  readonly #onTaskRun: ((event: TaskRunEvent) => void) | undefined;
  readonly #onTaskSkip: ((event: TaskSkipEvent) => void) | undefined;
  /** Per entry with a policy: runs in flight and the run queued behind them (`queue-one`). */
  readonly #inflight = new Map<number, { count: number; queued: (() => void) | undefined }>();
  /** Cron grids by schedule (for the epoch they were made with). */
  readonly #grids = new Map<CronSchedule, { epoch: number; grid: Grid }>();
  readonly #internals: PeriodicInternals;
  #placement: TaskPlacement | undefined;
  /** Slots an operator disabled: their scheduled runs do not happen (see setPeriodicTaskEnabled). */
  readonly #disabled = new Set<number>();
  /** Slots with an operator's run (runPeriodicTaskNow) in flight. */
  readonly #manual = new Set<number>();
  /** The slot whose scheduled run a scheduler awaits (they run one at a time); -1: none. */
  #current = -1;

  /** Framework methods are never callable over RPC. */
  static readonly [FRAMEWORK_BASE] = true;

  static {
    internalsOf = (p) => p.#internals;
    placementOf = (p, placement) => {
      p.#placement = placement;
    };
  }

  constructor(options: PeriodicTasksOptions = {}) {
    if (
      options.runExternalPeriodicTasks !== undefined &&
      typeof options.runExternalPeriodicTasks !== 'boolean'
    ) {
      throw new InvalidPeriodicOption('runExternalPeriodicTasks must be a boolean');
    }
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#runExternal =
      options.runExternalPeriodicTasks ?? periodicOptions.defaults.run_external_periodic_tasks;
    this.#logger = options.logger ?? getLogger('periodic');
    this.#onTaskRun = options.onTaskRun;
    this.#onTaskSkip = options.onTaskSkip;
    this.#placement = options.placement;
    const now = this.#clock.now();
    for (const spec of withSpacing(classTasks(new.target), options.spacing, this.#logger)) {
      this.#table.add(
        spec.name,
        spec.fn,
        spec.spacing,
        spec.runImmediately,
        spec.externalProcessOk,
        now,
        spec.placement,
        spec.policy,
      );
    }
    this.#internals = {
      table: this.#table,
      clock: this.#clock,
      random: this.#random,
      runExternal: this.#runExternal,
      logger: this.#logger,
      run: (i, ctx, raise, scheduledAt) => this.#scheduled(i, ctx, raise, scheduledAt),
      epoch: () => this.#placement?.epoch ?? this.#clock.epoch ?? 0,
      skipped: (i, reason, count, scheduledAt) => this.#skipped(i, reason, count, scheduledAt),
      cronGrid: (i) => this.#cronGrid(i),
    };
  }

  /** Names of the tasks declared on this class and its ancestors, in registration order. */
  static periodicTaskNames(): string[] {
    return classTasks(this).map((t) => t.name);
  }

  /**
   * Adds a task to this instance only (other instances and the class are untouched). Returns false if
   * the task was skipped (negative spacing, or disabled). `fn` is called as `fn(ctx)` with this
   * instance as `this`.
   */
  addPeriodicTask(
    fn: (ctx: RequestContext, run: TaskRun) => unknown,
    options?: PeriodicTaskOptions,
  ): boolean {
    if (typeof fn !== 'function')
      throw new InvalidPeriodicTaskArg('addPeriodicTask: fn must be a function');
    const opts = validateTaskOptions(options, 'addPeriodicTask');
    const name = opts.name ?? fn.name;
    if (!name)
      throw new InvalidPeriodicTaskArg(
        'addPeriodicTask: an anonymous function needs the name option',
      );
    const spec = makeTaskSpec(fn as PeriodicTaskFn, name, opts, this.#logger);
    if (!spec) return false;
    this.#table.add(
      name,
      spec.fn,
      spec.spacing,
      spec.runImmediately,
      spec.externalProcessOk,
      this.#clock.now(),
      spec.placement,
      spec.policy,
    );
    return true;
  }

  /** Every registered task of this instance, in registration order. */
  periodicTaskInfo(): PeriodicTaskInfo[] {
    const t = this.#table;
    return t.names.map((name, i) => {
      const slot = t.slotOf(i);
      const last = t.lastRun[slot] as number;
      const policy = t.policies[i] ?? DEFAULT_POLICY;
      return {
        name,
        fullName: this.#fullName(i),
        spacing: t.spacing[slot] as number,
        runImmediately: t.runImmediately(i),
        externalProcessOk: t.externalOk(i),
        placement: t.placement(i),
        cron: policy.cron?.pattern ?? null,
        timezone: policy.cron?.timezone ?? null,
        timeout: policy.timeout ?? null,
        overlap: policy.overlap,
        missed: policy.missed,
        lastRun: Number.isNaN(last) ? null : last,
      };
    });
  }

  /**
   * Disables (`false`) or enables again (`true`) a task of this instance, by name: while disabled its
   * slots pass without a run (not counted as missed; logged at debug), in every periodic mode. An
   * operator's switch (the ops dashboard's), kept in memory only: a restart enables every task.
   * Throws `InvalidPeriodicTaskArg` for a name of no task. Never callable over RPC.
   */
  setPeriodicTaskEnabled(name: string, enabled: boolean): void {
    const slot = this.#slotOf(name);
    if (enabled) this.#disabled.delete(slot);
    else this.#disabled.add(slot);
  }

  /** Whether a task runs on its schedule (false after `setPeriodicTaskEnabled(name, false)`). */
  periodicTaskEnabled(name: string): boolean {
    return !this.#disabled.has(this.#slotOf(name));
  }

  /**
   * Runs a task once now, beside its schedule (which goes on unchanged), even while it is disabled:
   * an operator's "run now". The run is a run like any other — its timeout and overlap policy, its
   * share of the keys for a sharded task, its run event (so metrics and task states see it) — and
   * resolves when it ends; its error is logged and swallowed. A scheduled run that comes due while
   * it goes on is skipped (an overlap). Refused with `InvalidPeriodicTaskArg` while the task's
   * scheduled run or another run-now is in progress, and for a once-per-cluster task under a
   * cluster placement (its runs are the lease holder's claimed slots, one per slot: an extra one
   * would be a second run on another replica's slot), and for a name of no task. Never callable over
   * RPC.
   */
  async runPeriodicTaskNow(ctx: RequestContext, name: string): Promise<void> {
    const slot = this.#slotOf(name);
    const t = this.#table;
    let entry = 0;
    while (t.slotOf(entry) !== slot) entry++;
    const full = this.#fullName(entry);
    if (t.placement(entry) === 'once-per-cluster' && this.#placement)
      throw new InvalidPeriodicTaskArg(
        `${full} runs once per cluster, on the replica holding its lease, once per slot: it cannot be run now`,
      );
    if (this.#current === slot || this.#manual.has(slot))
      throw new InvalidPeriodicTaskArg(`${full} is running already`);
    this.#manual.add(slot);
    try {
      this.#logger.info({ task: name }, `Running periodic task ${full} now (operator's request)`);
      await this.#run(entry, ctx, false, this.#clock.now());
    } finally {
      this.#manual.delete(slot);
    }
  }

  #slotOf(name: string): number {
    const slot = typeof name === 'string' ? this.#table.slotByName(name) : undefined;
    if (slot === undefined)
      throw new InvalidPeriodicTaskArg(`no periodic task named ${String(name)}`);
    return slot;
  }

  /**
   * A run a scheduler asked for: none while the task is disabled or an operator's run of it goes on
   * (an overlap); else the run, noted as the one in progress while it goes on.
   */
  #scheduled(i: number, ctx: RequestContext, raise: boolean, scheduledAt: number) {
    if (this.#disabled.size > 0 || this.#manual.size > 0) {
      const slot = this.#table.slotOf(i);
      if (this.#disabled.has(slot)) {
        if (this.#logger.isLevelEnabled('debug'))
          this.#logger.debug(`Periodic task ${this.#fullName(i)} is disabled: not running it`);
        return;
      }
      if (this.#manual.has(slot)) {
        this.#skipped(i, 'overlap', 1, scheduledAt);
        return;
      }
    }
    const pending = this.#run(i, ctx, raise, scheduledAt);
    if (!pending) return;
    const slot = this.#table.slotOf(i);
    this.#current = slot;
    const done = (): void => {
      if (this.#current === slot) this.#current = -1;
    };
    return pending.then(done, (err: unknown) => {
      done();
      throw err;
    });
  }

  /**
   * Runs the tasks that are due, one after another in registration order, and returns how long the
   * caller may idle (seconds) — the original's `idle_for`: the smallest spacing of the tasks looked
   * at and time-to-due of those skipped, at most {@link DEFAULT_INTERVAL}. A task's error is logged as
   * "Error during Class.name" and swallowed, unless `raiseOnError`.
   */
  async runPeriodicTasks(
    ctx: RequestContext,
    options: { raiseOnError?: boolean } = {},
  ): Promise<number> {
    const raise = options.raiseOnError ?? false;
    const t = this.#table;
    let idleFor = DEFAULT_INTERVAL;
    for (let i = 0; i < t.length; i++) {
      if (t.externalOk(i) && !this.#runExternal) continue;
      const slot = t.slotOf(i);
      const spacing = t.spacing[slot] as number;
      const last = t.lastRun[slot] as number;
      idleFor = Math.min(idleFor, spacing);
      if (!Number.isNaN(last)) {
        const cron = t.policies[i] === undefined ? undefined : this.#cronGrid(i);
        const idle = (cron ? cron.after(last) : last + spacing) - this.#clock.now();
        if (idle > 0) {
          idleFor = Math.min(idleFor, idle);
          continue;
        }
      }
      t.lastRun[slot] =
        t.policies[i]?.cron !== undefined
          ? this.#clock.now()
          : this.#nearestBoundary(last, spacing);
      const pending = this.#scheduled(i, ctx, raise, this.#clock.now());
      if (pending) await pending;
      await this.#clock.sleep(0);
    }
    return idleFor;
  }

  /**
   * The latest point of the grid `last + k·spacing` that is not after now, plus a whole-second jitter
   * of up to 5 % of spacing (the original's `_nearest_boundary`). No last run → now, no jitter.
   */
  #nearestBoundary(last: number, spacing: number): number {
    const now = this.#clock.now();
    if (Number.isNaN(last)) return now;
    const jitter = Math.trunc((spacing * this.#random()) / 20);
    return now - ((now - last) % spacing) + jitter;
  }

  #fullName(i: number): string {
    return `${this.constructor.name}.${this.#table.names[i] as string}`;
  }

  #run(i: number, ctx: RequestContext, raise: boolean, scheduledAt: number): void | Promise<void> {
    const policy = this.#table.policies[i];
    if (policy !== undefined) return this.#runWithPolicy(i, ctx, raise, scheduledAt, policy);
    if (this.#table.clustered(i)) return this.#runPlaced(i, ctx, raise, scheduledAt, undefined);
    return this.#invoke(i, ctx, raise, scheduledAt, EVERY_REPLICA_RUN, undefined);
  }

  /**
   * A run under the task's policies: the overlap policy when the previous run still goes, then the
   * run, raced against its timeout. Resolves when the run ends or its timeout passes, whichever is
   * first (at once for `allow`): a run past its timeout goes on alone, its signal aborted.
   */
  #runWithPolicy(
    i: number,
    ctx: RequestContext,
    raise: boolean,
    scheduledAt: number,
    policy: TaskPolicy,
  ): void | Promise<void> {
    const state = this.#inflight.get(i);
    if (state !== undefined && policy.overlap !== 'allow') {
      if (policy.overlap === 'queue-one' && !state.queued) {
        state.queued = () => void this.#runWithPolicy(i, ctx, false, this.#clock.now(), policy);
        return;
      }
      this.#skipped(i, 'overlap', 1, scheduledAt);
      return;
    }
    // `timer` aborts the run's signal at the deadline; `stopDeadline` ends the deadline's sleep early.
    const timer = policy.timeout !== undefined ? new AbortController() : undefined;
    const stopDeadline = timer ? new AbortController() : undefined;
    const timed = timer ? { timedOut: false } : undefined;
    let running: void | Promise<void> = undefined;
    try {
      running = this.#table.clustered(i)
        ? this.#runPlaced(i, ctx, raise, scheduledAt, timer && timed ? { timer, timed } : undefined)
        : this.#invoke(
            i,
            ctx,
            raise,
            scheduledAt,
            timer ? { ...EVERY_REPLICA_RUN, signal: timer.signal } : EVERY_REPLICA_RUN,
            timed,
          );
    } finally {
      // A run that ended at once (returned no promise, or threw) needs no state.
      if (!running) stopDeadline?.abort();
    }
    if (!running) return;
    // Only a run still going has state (at scale: a million cron tasks keep none between runs).
    let tracked = this.#inflight.get(i);
    if (!tracked) this.#inflight.set(i, (tracked = { count: 0, queued: undefined }));
    tracked.count++;
    const mine = tracked;
    const settle = (): void => {
      stopDeadline?.abort();
      if (--mine.count > 0) return;
      const next = mine.queued;
      this.#inflight.delete(i);
      next?.();
    };
    const ended = running.then(settle, (err: unknown) => {
      settle();
      throw err;
    });
    const logFailure = (err: unknown): void =>
      this.#logger.error({ err }, `Error during ${this.#fullName(i)}`);
    if (timer === undefined) {
      if (policy.overlap !== 'allow') return ended;
      ended.catch(logFailure);
      return;
    }
    const timeout = policy.timeout as number;
    const deadline = this.#clock.sleep(timeout, stopDeadline?.signal).then(
      () => {
        if (timed) timed.timedOut = true;
        const err = new TaskTimeoutError(this.#fullName(i), timeout);
        timer.abort(err);
        this.#logger.warn(
          { task: this.#table.names[i], timeout },
          `Periodic task ${this.#fullName(i)} ran past its timeout of ${timeout} s; it goes on alone, its signal aborted`,
        );
        this.#emit(i, scheduledAt, this.#clock.now() - timeout, timeout, err, 'timeout');
      },
      () => undefined, // the run ended first
    );
    if (policy.overlap === 'allow') {
      // The scheduler never waits for an `allow` run, but its deadline still aborts its signal.
      ended.catch(logFailure);
      return;
    }
    // The run's own later failure, after its timeout, is logged by #finish; never unhandled.
    ended.catch(() => undefined);
    return Promise.race([ended, deadline]);
  }

  /**
   * A once-per-cluster or sharded run: the placement decides first (a claimed slot, a share of the
   * keys). A decision that fails skips the run: a slot that could not be claimed is never run.
   */
  async #runPlaced(
    i: number,
    ctx: RequestContext,
    raise: boolean,
    scheduledAt: number,
    timeout: { timer: AbortController; timed: { timedOut: boolean } } | undefined,
  ) {
    const t = this.#table;
    const spacing = t.spacing[t.slotOf(i)] as number;
    const kind = t.placement(i);
    const task: PlacedTask = {
      name: t.names[i] as string,
      fullName: this.#fullName(i),
      placement: kind,
      spacing,
    };
    const placement = this.#placement;
    const clusterTime = scheduledAt + this.#internals.epoch();
    // A cron task's slot is its fire time's second; a spacing task's, its index on the grid.
    const slot =
      t.policies[i]?.cron !== undefined ? Math.round(clusterTime) : slotAt(clusterTime, spacing);
    let run: TaskRun | null;
    try {
      if (!placement) run = localRun(kind, kind === 'once-per-cluster' ? slot : undefined);
      else if (kind === 'once-per-cluster') run = await placement.claim(task, slot);
      else run = await placement.shard(task);
    } catch (err) {
      if (raise) throw err;
      this.#logger.warn(
        { err, task: task.name, slot },
        `Not running ${task.fullName}: its placement could not be decided`,
      );
      return;
    }
    if (!run) {
      if (this.#logger.isLevelEnabled('debug'))
        this.#logger.debug({ slot }, `${task.fullName}: slot ${slot} is another replica's`);
      return;
    }
    if (timeout) {
      run = { ...run, signal: AbortSignal.any([run.signal, timeout.timer.signal]) };
    }
    const pending = this.#invoke(i, ctx, raise, scheduledAt, run, timeout?.timed);
    if (pending) await pending;
  }

  #invoke(
    i: number,
    ctx: RequestContext,
    raise: boolean,
    scheduledAt: number,
    run: TaskRun,
    timed: { timedOut: boolean } | undefined,
  ): void | Promise<void> {
    const fn = this.#table.fns[i] as PeriodicTaskFn;
    if (this.#logger.isLevelEnabled('debug'))
      this.#logger.debug(`Running periodic task ${this.#fullName(i)}`);
    // Only an observer needs the start time: a million tasks should not pay a clock read each.
    const startedAt = this.#onTaskRun || timed ? this.#clock.now() : 0;
    let result: unknown;
    try {
      result = fn.call(this, ctx, run);
    } catch (err) {
      return this.#finish(i, scheduledAt, startedAt, true, err, raise, timed);
    }
    if (!isThenable(result))
      return this.#finish(i, scheduledAt, startedAt, false, undefined, raise, timed);
    return Promise.resolve(result).then(
      () => this.#finish(i, scheduledAt, startedAt, false, undefined, raise, timed),
      (err: unknown) => this.#finish(i, scheduledAt, startedAt, true, err, raise, timed),
    );
  }

  #finish(
    i: number,
    scheduledAt: number,
    startedAt: number,
    failed: boolean,
    err: unknown,
    raise: boolean,
    timed?: { timedOut: boolean },
  ): void {
    if (timed?.timedOut) {
      // Reported at its deadline already; this is the overrun's end.
      this.#logger.warn(
        { task: this.#table.names[i], ...(failed ? { err } : {}) },
        `Periodic task ${this.#fullName(i)} ended ${(this.#clock.now() - startedAt).toFixed(3)} s after it started, past its timeout`,
      );
      return;
    }
    if (this.#onTaskRun) {
      const duration = this.#clock.now() - startedAt;
      this.#emit(
        i,
        scheduledAt,
        startedAt,
        duration,
        failed ? err : undefined,
        failed ? 'error' : 'ok',
      );
    }
    if (!failed) return;
    if (raise) throw err;
    this.#logger.error({ err }, `Error during ${this.#fullName(i)}`);
  }

  #emit(
    i: number,
    scheduledAt: number,
    startedAt: number,
    duration: number,
    err: unknown,
    outcome: TaskOutcome,
  ): void {
    if (!this.#onTaskRun) return;
    const event: TaskRunEvent = {
      fullName: this.#fullName(i),
      name: this.#table.names[i] as string,
      scheduledAt,
      startedAt,
      duration,
      ...(outcome !== 'ok' ? { error: err } : {}),
      outcome,
    };
    try {
      this.#onTaskRun(event);
    } catch (hookErr) {
      this.#logger.error({ err: hookErr }, 'onTaskRun observer failed');
    }
  }

  #skipped(i: number, reason: TaskSkipEvent['reason'], count: number, scheduledAt: number): void {
    const fullName = this.#fullName(i);
    // Missed slots are logged by the scheduler that found them.
    if (reason === 'overlap')
      this.#logger.warn(
        { task: this.#table.names[i], reason, count },
        reason === 'overlap'
          ? `Periodic task ${fullName}: slot skipped, the previous run is still going`
          : `Periodic task ${fullName} fell behind: skipped ${count} run(s)`,
      );
    if (!this.#onTaskSkip) return;
    try {
      this.#onTaskSkip({
        fullName,
        name: this.#table.names[i] as string,
        reason,
        count,
        scheduledAt,
      });
    } catch (hookErr) {
      this.#logger.error({ err: hookErr }, 'onTaskSkip observer failed');
    }
  }

  /** A cron task's grid in clock seconds (its fire times shifted by the epoch), one per schedule. */
  #cronGrid(i: number): Grid | undefined {
    const cron = this.#table.policies[i]?.cron;
    if (!cron) return undefined;
    const epoch = this.#internals.epoch();
    let cached = this.#grids.get(cron);
    if (cached?.epoch !== epoch) {
      cached = { epoch, grid: { spacing: undefined, after: (t) => cron.next(t + epoch) - epoch } };
      this.#grids.set(cron, cached);
    }
    return cached.grid;
  }
}
