import {
  AlreadyRunningError,
  type Clock,
  getAdminContext,
  InvalidPeriodicOption,
  type Logger,
  type RequestContext,
} from '../core/index.js';
import { type PeriodicInternals, periodicInternals, type PeriodicTasks } from './periodic-tasks.js';
import { DueQueue } from './due-queue.js';
import { catchUp, type Grid } from './catch-up.js';
import { slotAt } from './placement.js';
import { DEFAULT_POLICY } from './task-policy.js';
import { grow } from './task-table.js';

/** Options of {@link ExactScheduler}. */
export interface ExactSchedulerOptions {
  /** Time source; default the one the tasks were built with. */
  clock?: Clock;
  /**
   * Anti-thundering-herd spread: each task gets a one-time random phase of up to `spread × spacing`
   * added to its first due time. Default 0.05 (5 %); 0 disables. The phase never accumulates.
   */
  spread?: number;
  /** Random source in [0, 1) for the phase; default the tasks' random source. */
  random?: () => number;
  /** Builds the context of one pass (one wake-up); default an admin context. */
  context?: () => RequestContext;
  /** Real seconds of back-to-back runs after which the loop yields to the event loop. Default 0.01. */
  yieldInterval?: number;
  logger?: Logger;
}

/** One task in the schedule, as {@link ExactScheduler.schedule} reports it. */
export interface ScheduledTask {
  readonly name: string;
  readonly spacing: number;
  /** Next due time (clock seconds). */
  readonly nextDue: number;
  /** Runs skipped because the task (or the process) fell more than one spacing behind. */
  readonly missedRuns: number;
}

/**
 * Phases are whole multiples of 2^-20 s (about 1 µs): with whole-second spacings every due time is then
 * exactly representable for centuries, so intervals are exact, not exact to within a rounding error.
 */
const quantize = (seconds: number): number => Math.round(seconds * 2 ** 20) / 2 ** 20;

function validate(options: ExactSchedulerOptions): void {
  const { spread, yieldInterval } = options;
  if (spread !== undefined && !(spread >= 0 && spread <= 1)) {
    throw new InvalidPeriodicOption(
      `spread must be a fraction of spacing in [0, 1], got ${String(spread)}`,
    );
  }
  if (yieldInterval !== undefined && !(yieldInterval > 0 && Number.isFinite(yieldInterval))) {
    throw new InvalidPeriodicOption(
      `yieldInterval must be a positive number of seconds, got ${String(yieldInterval)}`,
    );
  }
}

/**
 * Drives a {@link PeriodicTasks} on an exact grid: each task runs at `first + k·spacing`, so
 * start-to-start intervals equal the spacing whatever the run time, with no drift. One loop runs the
 * due tasks one after another (in due order, registration order on ties), then sleeps until the
 * earliest next due time, so runs never overlap.
 *
 * A task that falls more than one spacing behind (a run longer than its spacing, a blocked event
 * loop) runs once as soon as it can, and the runs it missed are counted and logged at WARNING — never
 * silently dropped, never run in a burst.
 *
 * Per task the scheduler keeps one 24-byte record — due time, anchor and a queue link, see
 * {@link DueQueue} — and a flag; a million tasks fit in one process, and a run touches a few cache
 * lines whatever the number of tasks.
 */
export class ExactScheduler {
  readonly #p: PeriodicInternals;
  readonly #owner: PeriodicTasks;
  readonly #clock: Clock;
  readonly #spread: number;
  readonly #random: () => number;
  readonly #context: () => RequestContext;
  readonly #yieldMs: number;
  readonly #logger: Logger;

  /** The scheduled entries by (due, entry): a calendar queue, see {@link DueQueue}. */
  #queue = new DueQueue(0);
  /** Per slot: 1 once one of its entries is scheduled (one schedule per name). */
  #slotScheduled = new Uint8Array(16);
  // The queue also keeps each entry's anchor (first due time) next to its due time: due times are
  // `anchor + k·spacing`, so rounding never accumulates. The anchor is NaN while a run-immediately
  // task waits for its first run, which then sets it.
  /** How many entries still wait for their anchor (0 after start-up: skip the check). */
  #anchorsPending = 0;
  #missed = new Map<number, number>();
  /** The entry that is running (out of the queue meanwhile) and the due time it runs for; -1: none. */
  #runningEntry = -1;
  #runningDue = 0;

  #running = false;
  #stopping = false;
  #wake = new AbortController();
  /** `#wake.signal`, and whether it was aborted (plain fields: read on every wake-up). */
  #wakeSignal = this.#wake.signal;
  #interrupted = false;
  #done: Promise<void> = Promise.resolve();

  constructor(tasks: PeriodicTasks, options: ExactSchedulerOptions = {}) {
    validate(options);
    this.#owner = tasks;
    this.#p = periodicInternals(tasks);
    this.#clock = options.clock ?? this.#p.clock;
    this.#spread = options.spread ?? 0.05;
    this.#random = options.random ?? this.#p.random;
    this.#context = options.context ?? getAdminContext;
    this.#yieldMs = (options.yieldInterval ?? 0.01) * 1000;
    this.#logger = options.logger ?? this.#p.logger;
  }

  /** True between start() and the end of the loop. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts the loop. Tasks added to the instance later are scheduled as they come. */
  start(): void {
    if (this.#running) throw new AlreadyRunningError('The exact scheduler is already running');
    this.#running = true;
    this.#stopping = false;
    const table = this.#p.table;
    // Sized to the tasks there are: no growth slack for a fixed set of tasks.
    const n = Math.max(table.length, 8);
    const now = this.#clock.now();
    this.#queue = new DueQueue(now, n);
    this.#anchorsPending = 0;
    this.#runningEntry = -1;
    this.#wake = new AbortController();
    this.#wakeSignal = this.#wake.signal;
    this.#interrupted = false;
    this.#slotScheduled = new Uint8Array(Math.max(table.slotCount, 8));
    this.#missed.clear();
    for (let i = 0; i < table.length; i++) this.#schedule(i, now, true);
    const onAdd = (entry: number): void => {
      this.#schedule(entry, this.#clock.now(), false);
      this.#interrupt();
    };
    table.onAdd = onAdd;
    this.#done = this.#loop().finally(() => {
      this.#running = false;
      // Only our own hook: a newer scheduler on the same tasks may have replaced it.
      if (table.onAdd === onAdd) table.onAdd = undefined;
    });
    // An unobserved failure must not become an unhandledRejection; wait() still rejects.
    this.#done.catch(() => undefined);
  }

  /**
   * Stops taking new runs and interrupts the sleep at once; a task that is running finishes.
   * {@link wait} resolves when the loop has ended.
   */
  stop(): void {
    if (!this.#running) return;
    this.#stopping = true;
    this.#interrupt();
  }

  /** Resolves when the loop has ended (at once if it is not running). */
  wait(): Promise<void> {
    return this.#done;
  }

  /** The name of the task whose run the loop is waiting for, or undefined (stall reports name it). */
  get runningTask(): string | undefined {
    return this.#runningEntry >= 0 ? this.#p.table.names[this.#runningEntry] : undefined;
  }

  /** The schedule, one row per scheduled task, in no particular order. */
  schedule(): ScheduledTask[] {
    const t = this.#p.table;
    const rows: ScheduledTask[] = [];
    const row = (entry: number, nextDue: number): void => {
      const slot = t.slotOf(entry);
      rows.push({
        name: t.names[entry] as string,
        spacing: t.spacing[slot] as number,
        nextDue,
        missedRuns: this.#missed.get(slot) ?? 0,
      });
    };
    // A running task is listed with the due time it runs for, until it is rescheduled.
    if (this.#runningEntry >= 0) row(this.#runningEntry, this.#runningDue);
    this.#queue.forEach(row);
    return rows;
  }

  #interrupt(): void {
    this.#interrupted = true;
    this.#wake.abort();
  }

  /** First due time: at once for run-immediately tasks, else one spacing after the stamp plus phase. */
  #schedule(entry: number, now: number, atStart: boolean): void {
    const t = this.#p.table;
    if (t.externalOk(entry) && !this.#p.runExternal) return;
    const slot = t.slotOf(entry);
    this.#slotScheduled = grow(this.#slotScheduled, slot + 1);
    if (this.#slotScheduled[slot]) return;
    this.#slotScheduled[slot] = 1;
    const spacing = t.spacing[slot] as number;
    const last = t.lastRun[slot] as number;
    const cron = this.#p.cronGrid(entry);
    if (cron) {
      this.#scheduleCron(entry, slot, now, cron, last);
      return;
    }
    if (t.clustered(entry)) {
      this.#scheduleClustered(entry, now, spacing, Number.isNaN(last));
      return;
    }
    if (t.restored.has(slot) && !Number.isNaN(last)) {
      // Restored from a task state store: the grid goes on from the stored last run, and the
      // missed policy decides about the slots that passed while the process was down.
      const anchor = last + spacing;
      const c = this.#catchUp(entry, slot, anchor, now, spacingGrid(anchor, spacing));
      this.#queue.setAnchor(entry, anchor);
      this.#queue.push(entry, c);
      return;
    }
    let due = now;
    if (!Number.isNaN(last)) {
      due = last + spacing + quantize(this.#spread * spacing * this.#random());
      // Built long before start: begin now rather than report runs that were never scheduled.
      if (atStart && due < now) due = now;
    }
    // Anchor NaN: anchored at its first run (see the loop).
    this.#queue.setAnchor(entry, Number.isNaN(last) ? NaN : due);
    if (Number.isNaN(last)) this.#anchorsPending++;
    this.#queue.push(entry, due);
  }

  /**
   * A cron task: its fire times (croner, in its time zone) in clock seconds. First run: at once if
   * it runs immediately; else the first fire time after now — or, restored from a task state store,
   * the first after the stored last run, the missed policy deciding about those that passed.
   */
  #scheduleCron(entry: number, slot: number, now: number, cron: Grid, last: number): void {
    const t = this.#p.table;
    let due: number;
    if (t.restored.has(slot) && !Number.isNaN(last)) {
      due = this.#catchUp(entry, slot, cron.after(last), now, cron);
    } else {
      due = Number.isNaN(last) ? now : cron.after(now);
    }
    this.#queue.setAnchor(entry, 0);
    this.#queue.push(entry, due);
  }

  /** The missed policy for a next slot that may have passed: where to go, the misses reported. */
  #catchUp(entry: number, slot: number, next: number, now: number, grid: Grid): number {
    if (!(next < now)) return next;
    const policy = this.#p.table.policies[entry] ?? DEFAULT_POLICY;
    const c = catchUp(next, now, policy, grid);
    if (c.missed > 0) {
      this.#missed.set(slot, (this.#missed.get(slot) ?? 0) + c.missed);
      this.#logger.warn(
        { task: this.#p.table.names[entry], missed: c.missed, policy: policy.missed },
        `Periodic task ${this.#owner.constructor.name}.${this.#p.table.names[entry] as string} fell behind: skipped ${c.missed} run(s)`,
      );
      this.#p.skipped(entry, 'missed', c.missed, next);
    }
    return c.due;
  }

  /**
   * A once-per-cluster or sharded task runs on the cluster's grid: multiples of its spacing in
   * cluster (Unix) time, the same slots on every replica, so a replica that starts (or takes over)
   * continues the grid instead of starting its own. First run: at once if it runs immediately (its
   * placement decides whether this slot is still free), else at the next grid point.
   */
  #scheduleClustered(entry: number, now: number, spacing: number, immediate: boolean): void {
    const epoch = this.#p.epoch();
    let due = now;
    if (!immediate) {
      due = slotAt(now + epoch, spacing) * spacing - epoch;
      if (due < now) due += spacing;
    }
    // Anchor -epoch: grid points are `-epoch + k·spacing` in clock time.
    this.#queue.setAnchor(entry, -epoch);
    this.#queue.push(entry, due);
  }

  async #loop(): Promise<void> {
    const clock = this.#clock;
    const t = this.#p.table;
    const run = this.#p.run;
    const yieldMs = this.#yieldMs;
    // Start of the current stretch of back-to-back runs (real time), taken after its first run so
    // that a wake-up running a single task reads the real clock once.
    let sliceStart = -1;
    while (!this.#stopping) {
      let now = clock.now();
      const queue = this.#queue;
      let due = queue.peekDue();
      if (due <= now) {
        const ctx = this.#context();
        do {
          // Out of the queue while it runs: a task added meanwhile may go to the top.
          const entry = queue.peekId();
          queue.pop();
          const slot = t.slotOf(entry);
          // Read before the run, so that at scale its cache miss overlaps the rest of the work.
          let spacing = t.spacing[slot] as number;
          let anchor = queue.anchor(entry);
          if (this.#anchorsPending > 0 && Number.isNaN(anchor)) {
            // "Run immediately" means from when it really first ran: the grid starts there.
            this.#anchorsPending--;
            due = clock.now();
            anchor = due;
            queue.setAnchor(entry, anchor);
          } else if (now - due >= spacing) {
            // Held up past its next slot (an earlier run, a stalled loop): its slots were missed,
            // and its missed policy decides (run-once: one run, for the latest; skip: wait).
            const caught = this.#behind(entry, slot, anchor, spacing, due, now);
            if (caught > now) {
              queue.push(entry, caught);
              due = queue.peekDue();
              continue;
            }
            due = caught;
          }
          t.lastRun[slot] = due;
          this.#runningEntry = entry;
          this.#runningDue = due;
          const pending = run(entry, ctx, false, due);
          if (pending) await pending;
          now = clock.now();
          // A registration under the same name during the run sets the name's spacing.
          if (t.hasSharedNames) spacing = t.spacing[slot] as number;
          queue.push(entry, this.#nextDue(entry, slot, anchor, spacing, due, now));
          this.#runningEntry = -1;
          if (this.#stopping) return;
          const real = performance.now();
          if (sliceStart < 0) {
            sliceStart = real;
          } else if (real - sliceStart > yieldMs) {
            await clock.sleep(0);
            sliceStart = -1;
            now = clock.now();
          }
          due = queue.peekDue();
        } while (due <= now);
      }
      const signal = this.#wakeSignal;
      try {
        await clock.sleep(due - now, signal);
      } catch (err) {
        if (!this.#interrupted) throw err;
      }
      if (this.#interrupted) {
        this.#interrupted = false;
        this.#wake = new AbortController();
        this.#wakeSignal = this.#wake.signal;
      }
      sliceStart = -1;
    }
  }

  /** A due time that fell a slot or more behind: where the missed policy puts it. */
  #behind(
    entry: number,
    slot: number,
    anchor: number,
    spacing: number,
    due: number,
    now: number,
  ): number {
    const grid = this.#p.cronGrid(entry) ?? spacingGrid(anchor, spacing);
    if (grid.after(due) > now) return due;
    return this.#catchUp(entry, slot, due, now, grid);
  }

  /** Next grid point; if it has already passed, the task's missed policy decides (default: run once). */
  #nextDue(
    entry: number,
    slot: number,
    anchor: number,
    spacing: number,
    due: number,
    now: number,
  ): number {
    const cron = this.#p.table.policies[entry] === undefined ? undefined : this.#p.cronGrid(entry);
    if (cron) return this.#catchUp(entry, slot, cron.after(due), now, cron);
    // Cluster grids: `due` may be off the grid (a run-immediately start) and the anchor far away.
    let k = this.#p.table.clustered(entry)
      ? slotAt(due - anchor, spacing) + 1
      : Math.round((due - anchor) / spacing) + 1;
    let next = anchor + k * spacing;
    if (next <= due) next = anchor + ++k * spacing;
    // The common case first: the next slot is still ahead (no grid object made per run).
    if (!(next < now)) return next;
    return this.#catchUp(entry, slot, next, now, spacingGrid(anchor, spacing));
  }
}

/** The grid `anchor + k·spacing`. */
function spacingGrid(anchor: number, spacing: number): Grid {
  return {
    spacing,
    after: (t) => anchor + (Math.floor((t - anchor) / spacing + 1e-9) + 1) * spacing,
  };
}
