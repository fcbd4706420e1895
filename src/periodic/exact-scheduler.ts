import {
  AlreadyRunningError,
  type Clock,
  getAdminContext,
  InvalidOptionError,
  type Logger,
  type RequestContext,
} from '../core/index.js';
import { type PeriodicInternals, periodicInternals, type PeriodicTasks } from './periodic-tasks.js';
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
    throw new InvalidOptionError(
      `spread must be a fraction of spacing in [0, 1], got ${String(spread)}`,
    );
  }
  if (yieldInterval !== undefined && !(yieldInterval > 0 && Number.isFinite(yieldInterval))) {
    throw new InvalidOptionError(
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
 * Per task the scheduler keeps a heap node (16 bytes), its anchor (8 bytes) and two flags; a million
 * tasks fit in one process.
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

  // Binary min-heap on (due, entry), interleaved [due0, entry0, due1, entry1, ...] so a node is one
  // cache line: at a million tasks the sift is bound by memory, not by comparisons.
  #heap = new Float64Array(32);
  #size = 0;
  /** Per slot: 1 once one of its entries is scheduled (one schedule per name). */
  #slotScheduled = new Uint8Array(16);
  /** Per entry: its first due time; due times are `anchor + k·spacing`, so rounding never accumulates. */
  #anchor = new Float64Array(16);
  /** Per entry: 1 while a run-immediately task waits for its first run, which then sets its anchor. */
  #anchorAtFirstRun = new Uint8Array(16);
  /** How many entries still have their anchor flag set (0 after start-up: skip the lookup). */
  #anchorsPending = 0;
  #missed = new Map<number, number>();

  #running = false;
  #stopping = false;
  #wake = new AbortController();
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
    this.#size = 0;
    this.#heap = new Float64Array(2 * n);
    this.#anchor = new Float64Array(n);
    this.#anchorAtFirstRun = new Uint8Array(n);
    this.#anchorsPending = 0;
    this.#slotScheduled = new Uint8Array(Math.max(table.slotCount, 8));
    this.#missed.clear();
    const now = this.#clock.now();
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

  /** The schedule, one row per scheduled task, in no particular order. */
  schedule(): ScheduledTask[] {
    const t = this.#p.table;
    const rows: ScheduledTask[] = [];
    for (let h = 0; h < this.#size; h++) {
      const entry = this.#heap[2 * h + 1] as number;
      const slot = t.slotOf(entry);
      rows.push({
        name: t.names[entry] as string,
        spacing: t.spacing[slot] as number,
        nextDue: this.#heap[2 * h] as number,
        missedRuns: this.#missed.get(slot) ?? 0,
      });
    }
    return rows;
  }

  #interrupt(): void {
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
    let due = now;
    if (!Number.isNaN(last)) {
      due = last + spacing + quantize(this.#spread * spacing * this.#random());
      // Built long before start: begin now rather than report runs that were never scheduled.
      if (atStart && due < now) due = now;
    }
    this.#anchor = grow(this.#anchor, entry + 1);
    this.#anchorAtFirstRun = grow(this.#anchorAtFirstRun, entry + 1);
    this.#anchor[entry] = due;
    this.#anchorAtFirstRun[entry] = Number.isNaN(last) ? 1 : 0;
    if (Number.isNaN(last)) this.#anchorsPending++;
    this.#push(due, entry);
  }

  async #loop(): Promise<void> {
    const clock = this.#clock;
    const t = this.#p.table;
    let sliceStart = performance.now();
    while (!this.#stopping) {
      let now = clock.now();
      const heap = this.#heap;
      if (this.#size > 0 && (heap[0] as number) <= now) {
        const ctx = this.#context();
        while (this.#size > 0 && (this.#heap[0] as number) <= now) {
          const entry = this.#heap[1] as number;
          let due = this.#heap[0] as number;
          if (this.#anchorsPending > 0 && this.#anchorAtFirstRun[entry]) {
            // "Run immediately" means from when it really first ran: the grid starts there.
            this.#anchorAtFirstRun[entry] = 0;
            this.#anchorsPending--;
            due = clock.now();
            this.#anchor[entry] = due;
          }
          const slot = t.slotOf(entry);
          t.lastRun[slot] = due;
          const pending = this.#p.run(entry, ctx, false, due);
          if (pending) await pending;
          now = clock.now();
          this.#replaceTop(this.#nextDue(entry, slot, due, now), entry);
          if (this.#stopping) return;
          if (performance.now() - sliceStart > this.#yieldMs) {
            await clock.sleep(0);
            sliceStart = performance.now();
            now = clock.now();
          }
        }
      }
      const wait = this.#size > 0 ? (this.#heap[0] as number) - now : Infinity;
      const signal = this.#wake.signal;
      try {
        await clock.sleep(wait, signal);
      } catch (err) {
        if (!signal.aborted) throw err;
      }
      if (signal.aborted) this.#wake = new AbortController();
      sliceStart = performance.now();
    }
  }

  /** Next grid point; if more than one has already passed, skip to the latest and count the misses. */
  #nextDue(entry: number, slot: number, due: number, now: number): number {
    const spacing = this.#p.table.spacing[slot] as number;
    const anchor = this.#anchor[entry] as number;
    let k = Math.round((due - anchor) / spacing) + 1;
    let next = anchor + k * spacing;
    if (next < now) {
      const missed = Math.floor((now - next) / spacing);
      if (missed > 0) {
        k += missed;
        next = anchor + k * spacing;
        this.#missed.set(slot, (this.#missed.get(slot) ?? 0) + missed);
        this.#logger.warn(
          { task: this.#p.table.names[entry], missed },
          `Periodic task ${this.#owner.constructor.name}.${this.#p.table.names[entry] as string} fell behind: skipped ${missed} run(s)`,
        );
      }
    }
    return next;
  }

  #push(due: number, entry: number): void {
    if (2 * this.#size === this.#heap.length) this.#heap = grow(this.#heap, 2 * this.#size + 2);
    const h = this.#heap;
    let i = this.#size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pd = h[2 * p] as number;
      const pe = h[2 * p + 1] as number;
      if (due > pd || (due === pd && entry > pe)) break;
      h[2 * i] = pd;
      h[2 * i + 1] = pe;
      i = p;
    }
    h[2 * i] = due;
    h[2 * i + 1] = entry;
  }

  /** Replaces the heap's top with (due, entry) and sifts it down. */
  #replaceTop(due: number, entry: number): void {
    const h = this.#heap;
    const n = this.#size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      let cd = h[2 * l] as number;
      let ce = h[2 * l + 1] as number;
      if (l + 1 < n) {
        const rd = h[2 * l + 2] as number;
        const re = h[2 * l + 3] as number;
        if (rd < cd || (rd === cd && re < ce)) {
          c = l + 1;
          cd = rd;
          ce = re;
        }
      }
      if (due < cd || (due === cd && entry < ce)) break;
      h[2 * i] = cd;
      h[2 * i + 1] = ce;
      i = c;
    }
    h[2 * i] = due;
    h[2 * i + 1] = entry;
  }
}
