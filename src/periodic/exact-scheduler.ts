import {
  AlreadyRunningError,
  type Clock,
  getAdminContext,
  InvalidOptionError,
  type Logger,
  type RequestContext,
} from '../core/index.js';
import { type PeriodicInternals, periodicInternals, type PeriodicTasks } from './periodic-tasks.js';

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
 * Per task the scheduler keeps a heap slot (12 bytes), its anchor (8 bytes) and a flag; a million tasks fit in one process.
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

  // Binary min-heap on (due, entry), as parallel typed arrays.
  #heapDue = new Float64Array(16);
  #heapEntry = new Int32Array(16);
  #size = 0;
  /** Per slot: 1 once one of its entries is scheduled (one schedule per name). */
  #slotScheduled = new Uint8Array(16);
  /** Per entry: its first due time; due times are `anchor + k·spacing`, so rounding never accumulates. */
  #anchor = new Float64Array(16);
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
    this.#size = 0;
    this.#slotScheduled.fill(0);
    this.#missed.clear();
    const now = this.#clock.now();
    const table = this.#p.table;
    for (let i = 0; i < table.length; i++) this.#schedule(i, now, true);
    table.onAdd = (entry) => {
      this.#schedule(entry, this.#clock.now(), false);
      this.#interrupt();
    };
    this.#done = this.#loop().finally(() => {
      this.#running = false;
      if (table.onAdd) table.onAdd = undefined;
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
      const entry = this.#heapEntry[h] as number;
      const slot = t.slotOf(entry);
      rows.push({
        name: t.names[entry] as string,
        spacing: t.spacing[slot] as number,
        nextDue: this.#heapDue[h] as number,
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
    if (slot >= this.#slotScheduled.length) {
      const bigger = new Uint8Array(Math.max(slot + 1, this.#slotScheduled.length * 2));
      bigger.set(this.#slotScheduled);
      this.#slotScheduled = bigger;
    }
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
    if (entry >= this.#anchor.length) {
      const bigger = new Float64Array(Math.max(entry + 1, this.#anchor.length * 2));
      bigger.set(this.#anchor);
      this.#anchor = bigger;
    }
    this.#anchor[entry] = due;
    this.#push(due, entry);
  }

  async #loop(): Promise<void> {
    const clock = this.#clock;
    const t = this.#p.table;
    let sliceStart = performance.now();
    while (!this.#stopping) {
      let now = clock.now();
      if (this.#size > 0 && (this.#heapDue[0] as number) <= now) {
        const ctx = this.#context();
        while (this.#size > 0 && (this.#heapDue[0] as number) <= now) {
          const entry = this.#heapEntry[0] as number;
          const due = this.#heapDue[0] as number;
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
      const wait = this.#size > 0 ? (this.#heapDue[0] as number) - now : Infinity;
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

  #less(dueA: number, entryA: number, dueB: number, entryB: number): boolean {
    return dueA < dueB || (dueA === dueB && entryA < entryB);
  }

  #push(due: number, entry: number): void {
    if (this.#size === this.#heapDue.length) {
      const cap = this.#size * 2;
      const d = new Float64Array(cap);
      d.set(this.#heapDue);
      const e = new Int32Array(cap);
      e.set(this.#heapEntry);
      this.#heapDue = d;
      this.#heapEntry = e;
    }
    const hd = this.#heapDue;
    const he = this.#heapEntry;
    let i = this.#size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pd = hd[p] as number;
      const pe = he[p] as number;
      if (!this.#less(due, entry, pd, pe)) break;
      hd[i] = pd;
      he[i] = pe;
      i = p;
    }
    hd[i] = due;
    he[i] = entry;
  }

  /** Replaces the heap's top with (due, entry) and sifts it down. */
  #replaceTop(due: number, entry: number): void {
    const hd = this.#heapDue;
    const he = this.#heapEntry;
    const n = this.#size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.#less(hd[r] as number, he[r] as number, hd[l] as number, he[l] as number))
        c = r;
      const cd = hd[c] as number;
      const ce = he[c] as number;
      if (!this.#less(cd, ce, due, entry)) break;
      hd[i] = cd;
      he[i] = ce;
      i = c;
    }
    hd[i] = due;
    he[i] = entry;
  }
}
