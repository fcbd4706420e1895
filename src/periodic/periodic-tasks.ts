import {
  type Clock,
  FRAMEWORK_BASE,
  getLogger,
  InvalidPeriodicOption,
  InvalidPeriodicTaskArg,
  type Logger,
  realClock,
  type RequestContext,
  UnknownPeriodicTask,
} from '../core/index.js';
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
  /** The error the task threw, if it failed. */
  readonly error?: unknown;
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
  readonly spacing: number;
  readonly runImmediately: boolean;
  readonly externalProcessOk: boolean;
  readonly placement: TaskPlacementKind;
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
    const changed = makeTaskSpec(spec.fn, spec.name, opts, logger);
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
  readonly #internals: PeriodicInternals;
  #placement: TaskPlacement | undefined;

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
      );
    }
    this.#internals = {
      table: this.#table,
      clock: this.#clock,
      random: this.#random,
      runExternal: this.#runExternal,
      logger: this.#logger,
      run: (i, ctx, raise, scheduledAt) => this.#run(i, ctx, raise, scheduledAt),
      epoch: () => this.#placement?.epoch ?? this.#clock.epoch ?? 0,
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
    );
    return true;
  }

  /** Every registered task of this instance, in registration order. */
  periodicTaskInfo(): PeriodicTaskInfo[] {
    const t = this.#table;
    return t.names.map((name, i) => {
      const slot = t.slotOf(i);
      const last = t.lastRun[slot] as number;
      return {
        name,
        spacing: t.spacing[slot] as number,
        runImmediately: t.runImmediately(i),
        externalProcessOk: t.externalOk(i),
        placement: t.placement(i),
        lastRun: Number.isNaN(last) ? null : last,
      };
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
        const idle = last + spacing - this.#clock.now();
        if (idle > 0) {
          idleFor = Math.min(idleFor, idle);
          continue;
        }
      }
      t.lastRun[slot] = this.#nearestBoundary(last, spacing);
      const pending = this.#run(i, ctx, raise, this.#clock.now());
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
    if (this.#table.clustered(i)) return this.#runPlaced(i, ctx, raise, scheduledAt);
    return this.#invoke(i, ctx, raise, scheduledAt, EVERY_REPLICA_RUN);
  }

  /**
   * A once-per-cluster or sharded run: the placement decides first (a claimed slot, a share of the
   * keys). A decision that fails skips the run: a slot that could not be claimed is never run.
   */
  async #runPlaced(i: number, ctx: RequestContext, raise: boolean, scheduledAt: number) {
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
    const slot = slotAt(scheduledAt + this.#internals.epoch(), spacing);
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
    const pending = this.#invoke(i, ctx, raise, scheduledAt, run);
    if (pending) await pending;
  }

  #invoke(
    i: number,
    ctx: RequestContext,
    raise: boolean,
    scheduledAt: number,
    run: TaskRun,
  ): void | Promise<void> {
    const fn = this.#table.fns[i] as PeriodicTaskFn;
    if (this.#logger.isLevelEnabled('debug'))
      this.#logger.debug(`Running periodic task ${this.#fullName(i)}`);
    // Only an observer needs the start time: a million tasks should not pay a clock read each.
    const startedAt = this.#onTaskRun ? this.#clock.now() : 0;
    let result: unknown;
    try {
      result = fn.call(this, ctx, run);
    } catch (err) {
      return this.#finish(i, scheduledAt, startedAt, true, err, raise);
    }
    if (!isThenable(result))
      return this.#finish(i, scheduledAt, startedAt, false, undefined, raise);
    return Promise.resolve(result).then(
      () => this.#finish(i, scheduledAt, startedAt, false, undefined, raise),
      (err: unknown) => this.#finish(i, scheduledAt, startedAt, true, err, raise),
    );
  }

  #finish(
    i: number,
    scheduledAt: number,
    startedAt: number,
    failed: boolean,
    err: unknown,
    raise: boolean,
  ): void {
    if (this.#onTaskRun) {
      const event: TaskRunEvent = {
        fullName: this.#fullName(i),
        name: this.#table.names[i] as string,
        scheduledAt,
        startedAt,
        duration: this.#clock.now() - startedAt,
        ...(failed ? { error: err } : {}),
      };
      try {
        this.#onTaskRun(event);
      } catch (hookErr) {
        this.#logger.error({ err: hookErr }, 'onTaskRun observer failed');
      }
    }
    if (!failed) return;
    if (raise) throw err;
    this.#logger.error({ err }, `Error during ${this.#fullName(i)}`);
  }
}
