/**
 * Scale benchmark (virtual time): scheduler memory per task and scheduling overhead per run for 10k,
 * 100k and 1M periodic tasks, against bare `setInterval`, toad-scheduler and croner.
 *
 *   npm run bench:scale -- [--sizes 10000,100000,1000000] [--hours H] [--scan-budget S]
 *                          [--croner-budget S] [--croner-oom] [--seed N]
 *
 * Needs `node --expose-gc` (the npm script passes it). Prints markdown to stdout, progress to stderr.
 *
 * Setup per size N: spacings uniform in 1–3600 s from a seeded PRNG (mulberry32); one shared no-op
 * task function; names pre-built before any baseline. Each task gets a random phase (its last run is
 * stamped at `−u·spacing`), so the schedule is in steady state from t = 0 instead of starting with a
 * burst or a quiet first hour.
 *
 * `--croner-oom` also tries 100k croner jobs in a child process with the default heap and reports
 * how that ends (it takes about a minute).
 */
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { Cron } from 'croner';
import { SimpleIntervalJob, Task, ToadScheduler } from 'toad-scheduler';
import {
  type Clock,
  createLogger,
  getAdminContext,
  type RequestContext,
  VirtualClock,
} from '../src/core/index.js';
import { ExactScheduler, PeriodicTasks } from '../src/periodic/index.js';
import { bytes, fmt, markdownTable, median, shortCount } from './lib/stats.js';
import { type Mem, memNow, memoryTable } from './lib/memory.js';
import { mulberry32 } from './lib/random.js';

// ---------------------------------------------------------------------------------------------
// Setup

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    hours: { type: 'string' },
    'vc-hours': { type: 'string', default: '1' },
    'scan-budget': { type: 'string', default: '5' },
    'croner-budget': { type: 'string', default: '5' },
    'croner-oom': { type: 'boolean', default: false },
    'croner-child': { type: 'string' },
    'mem-tasks': { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '20240601' },
  },
  strict: true,
});

const SIZES = args.sizes
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
if (SIZES.length === 0) throw new Error(`--sizes: no valid size in '${args.sizes}'`);
const HOURS_OVERRIDE = args.hours === undefined ? undefined : Number(args.hours);
if (HOURS_OVERRIDE !== undefined && !(HOURS_OVERRIDE > 0)) throw new Error('--hours must be > 0');
const VC_HOURS = Number(args['vc-hours']);
const SCAN_BUDGET_MS = Number(args['scan-budget']) * 1000;
const CRONER_BUDGET_MS = Number(args['croner-budget']) * 1000;
const SEED = Number(args.seed) >>> 0;
/** Memory is measured over about this many tasks in all (several instances for small sizes). */
const MEM_TASKS = Number(args['mem-tasks']);
/** Timing segments per exact run; the target verdict uses their median. */
const SEGMENTS = 5;

/** Simulated time per size: a few million runs, a few seconds of wall time each. */
function hoursFor(n: number): number {
  if (HOURS_OVERRIDE !== undefined) return HOURS_OVERRIDE;
  if (n <= 10_000) return 12;
  if (n <= 100_000) return 2;
  return 0.25;
}

const TARGET_BYTES = 128;
const TARGET_NS = 1000;
const MIN_SPACING = 1;
const MAX_SPACING = 3600;
/** Huge intervals for the timer-based peers, so nothing fires while they are measured. */
const HUGE_MS = 1_000_000_000;
/** Sizes up to this build all their croner jobs; above it the attempt is bounded. */
const CRONER_FULL_MAX = 10_000;
const CRONER_CHILD_TIMEOUT_MS = 180_000;

const log = (msg: string): void => {
  process.stderr.write(`[scale] ${msg}\n`);
};

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A single-sleeper clock that jumps: `sleep(s)` moves time forward by `s` at once and returns an
 * already-resolved promise, so the cost measured is the scheduler's and not a test clock's. A sleep
 * that would cross `horizon` stops at the horizon and calls `onHorizon` (which stops the scheduler);
 * passing `checkpoint` calls `onCheckpoint` (which marks the end of a timing segment).
 */
class FastForwardClock implements Clock {
  t = 0;
  horizon = Infinity;
  onHorizon: (() => void) | undefined;
  checkpoint = Infinity;
  onCheckpoint: (() => void) | undefined;

  now(): number {
    return this.t;
  }

  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (seconds > 0) {
      const to = this.t + seconds;
      if (to > this.horizon) {
        this.t = this.horizon;
        this.onHorizon?.();
        if (signal?.aborted) return Promise.reject(signal.reason);
      } else {
        this.t = to;
        if (to > this.checkpoint) this.onCheckpoint?.();
      }
    }
    return RESOLVED;
  }
}

let runs = 0;
/** The one task function every task of every system shares: a no-op counter. */
const tick = (): void => {
  runs++;
};

interface Workload {
  n: number;
  names: string[];
  spacings: Float64Array;
  /** Per task: fraction of a spacing since its (virtual) last run at t = 0. */
  phases: Float64Array;
}

function makeWorkload(n: number): Workload {
  const rnd = mulberry32(SEED ^ n);
  const names = new Array<string>(n);
  const spacings = new Float64Array(n);
  const phases = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    names[i] = `task-${i}`;
    spacings[i] = MIN_SPACING + (MAX_SPACING - MIN_SPACING) * rnd();
    phases[i] = rnd();
  }
  return { n, names, spacings, phases };
}

const cronerInterval = (spacing: number): number => Math.max(1, Math.round(spacing));

// ---------------------------------------------------------------------------------------------
// Measurement helpers

interface MemRow {
  system: string;
  n: number;
  /** Jobs actually created (croner may stop early). */
  created: number;
  heapPerTask: number;
  abPerTask: number;
  buildMs: number;
  note: string;
}

function memRow(
  system: string,
  n: number,
  created: number,
  before: Mem,
  after: Mem,
  buildMs: number,
  note = '',
): MemRow {
  return {
    system,
    n,
    created,
    heapPerTask: (after.heap - before.heap) / created,
    abPerTask: (after.ab - before.ab) / created,
    buildMs,
    note,
  };
}

interface RunRow {
  n: number;
  method: string;
  simSeconds: number;
  runs: number;
  wallMs: number;
  /** Process CPU time (all threads, so GC helpers too). */
  cpuMs: number;
  /** ns/run per segment of simulated time (exact scheduler runs only). */
  segmentNs: number[];
  note: string;
  /** Counts against the ≤ 1 µs target. */
  target: boolean;
}

/** Warnings (missed runs) go to stderr so they cannot break the markdown on stdout. */
const logger = createLogger({ level: 'warn' }, process.stderr);

/** Builds the tasks with their phases; the clock is left at 0. */
function buildTasks(w: Workload, clock: FastForwardClock): PeriodicTasks {
  const pt = new PeriodicTasks({ clock, logger, random: mulberry32(SEED + 1) });
  for (let i = 0; i < w.n; i++) {
    const spacing = w.spacings[i] as number;
    clock.t = -(w.phases[i] as number) * spacing;
    pt.addPeriodicTask(tick, { spacing, name: w.names[i] as string });
  }
  clock.t = 0;
  return pt;
}

/**
 * Runs the exact scheduler must make in [0, T]: the first due time (anchor) is `(1 − u)·s`, then
 * `anchor + k·s`, computed as the scheduler computes it.
 */
function expectedRuns(w: Workload, horizon: number): number {
  let total = 0;
  for (let i = 0; i < w.n; i++) {
    const s = w.spacings[i] as number;
    let anchor = -(w.phases[i] as number) * s + s;
    if (anchor < 0) anchor = 0;
    for (let k = 0; anchor + k * s <= horizon; k++) total++;
  }
  return total;
}

function missedRuns(s: ExactScheduler): number {
  let missed = 0;
  for (const row of s.schedule()) missed += row.missedRuns;
  return missed;
}

// ---------------------------------------------------------------------------------------------
// conductor-ts: memory, exact scheduler with the fast-forward clock, then the oslo-style full scan

interface Timed {
  runs: number;
  wallMs: number;
  cpuMs: number;
  /** ns per run in each of SEGMENTS equal stretches of simulated time. */
  segmentNs: number[];
  missed: number;
}

/**
 * Drives a new ExactScheduler over `pt` from the clock's current time to `end`, timing the run (not
 * start(), which builds the queue) as a whole and in SEGMENTS equal stretches of simulated time.
 */
async function timedExactRun(
  pt: PeriodicTasks,
  clock: FastForwardClock,
  end: number,
  context?: () => RequestContext,
): Promise<Timed> {
  const sched = new ExactScheduler(pt, { clock, spread: 0, logger, ...(context && { context }) });
  const segment = (end - clock.t) / SEGMENTS;
  clock.horizon = end;
  clock.onHorizon = () => sched.stop();
  clock.checkpoint = clock.t + segment;
  const marks: [number, number][] = [];
  clock.onCheckpoint = () => {
    marks.push([performance.now(), runs]);
    while (clock.checkpoint < clock.t) clock.checkpoint += segment;
  };
  sched.start(); // runs synchronously up to its first (already resolved) sleep
  runs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  marks.push([t0, 0]);
  // Everything from here to the horizon happens in this await (microtasks only).
  await sched.wait();
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  marks.push([t1, runs]);
  clock.horizon = Infinity;
  clock.onHorizon = undefined;
  clock.checkpoint = Infinity;
  clock.onCheckpoint = undefined;
  const segmentNs: number[] = [];
  for (let i = 1; i < marks.length; i++) {
    const [ta, ra] = marks[i - 1] as [number, number];
    const [tb, rb] = marks[i] as [number, number];
    if (rb > ra) segmentNs.push(((tb - ta) * 1e6) / (rb - ra));
  }
  return {
    runs,
    wallMs: t1 - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    segmentNs,
    missed: missedRuns(sched),
  };
}

async function conductor(
  w: Workload,
  hours: number,
  memRows: MemRow[],
  runRows: RunRow[],
): Promise<void> {
  const { n } = w;
  const horizon = hours * 3600;
  const clock = new FastForwardClock();

  // Memory: `replicas` independent instances of n tasks each (same workload), so that fixed costs
  // and the heap's measurement noise (tens of KiB) vanish in the per-task figure.
  const replicas = Math.max(1, Math.round(MEM_TASKS / n));
  const parked = Array.from({ length: replicas }, () => new FastForwardClock());
  const base = memNow();
  let t0 = performance.now();
  const pts: PeriodicTasks[] = [];
  for (let r = 0; r < replicas; r++) pts.push(buildTasks(w, clock));
  const buildMs = (performance.now() - t0) / replicas;
  const afterTable = memNow();
  t0 = performance.now();
  const scheds = pts.map((pt, r) => {
    // Horizon 0: the loop's first sleep stops it, so nothing runs, but its state is all built.
    const c = parked[r] as FastForwardClock;
    const s = new ExactScheduler(pt, { clock: c, spread: 0, logger });
    c.horizon = 0;
    c.onHorizon = () => s.stop();
    s.start();
    return s;
  });
  const startMs = (performance.now() - t0) / replicas;
  const afterSched = memNow();
  const per = replicas > 1 ? `mean of ${replicas} instances of ${shortCount(n)}` : '';
  const total = replicas * n;
  const row = (system: string, a: Mem, b: Mem, ms: number, note: string): MemRow => ({
    ...memRow(system, n, total, a, b, ms),
    note,
  });
  memRows.push(row('conductor-ts PeriodicTasks (task table)', base, afterTable, buildMs, per));
  memRows.push(
    row(
      'conductor-ts PeriodicTasks + ExactScheduler',
      base,
      afterSched,
      buildMs + startMs,
      `${per ? `${per}; ` : ''}build ${fmt(buildMs)} ms + start() ${fmt(startMs)} ms`,
    ),
  );
  memRows.push(row('  of which ExactScheduler', afterTable, afterSched, startMs, ''));
  await Promise.all(scheds.map((s) => s.wait()));
  const pt = pts[0] as PeriodicTasks;
  pts.length = 0;
  scheds.length = 0;
  log(`${shortCount(n)}: memory done; exact scheduler, ${hours} h simulated`);

  const exact = await timedExactRun(pt, clock, horizon);
  const expected = expectedRuns(w, horizon);
  runRows.push({
    n,
    method: 'ExactScheduler, fast-forward clock',
    simSeconds: horizon,
    ...exact,
    note:
      (exact.runs === expected ? 'runs = expected' : `expected ${fmt(expected)} runs`) +
      (exact.missed > 0 ? `; ${fmt(exact.missed)} missed` : '; no missed runs'),
    target: true,
  });
  log(`${shortCount(n)}: exact ${fmt(exact.runs)} runs in ${fmt(exact.wallMs)} ms; shared context`);

  // Diagnostic: the same, continuing on the grid for another period, with one context for all
  // passes instead of a fresh admin context per wake-up, to show what that context costs.
  const shared = getAdminContext();
  const diag = await timedExactRun(pt, clock, 2 * horizon, () => shared);
  runRows.push({
    n,
    method: 'same, one shared context (diagnostic)',
    simSeconds: horizon,
    ...diag,
    note: `the next ${hours} h` + (diag.missed > 0 ? `; ${fmt(diag.missed)} missed` : ''),
    target: false,
  });
  log(`${shortCount(n)}: shared context ${fmt(diag.runs)} runs in ${fmt(diag.wallMs)} ms; scan`);

  // oslo-style: runPeriodicTasks on a fixed 1 s tick (a fresh admin context per call, as oslo's
  // service does), continuing from the exact runs' state.
  const maxTicks = Math.round(horizon); // same simulated period, unless the budget ends it first
  runs = 0;
  let ticks = 0;
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  while (ticks < maxTicks) {
    clock.t += 1;
    ticks++;
    await pt.runPeriodicTasks(getAdminContext());
    if (performance.now() - t0 > SCAN_BUDGET_MS) break;
  }
  const scanMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  runRows.push({
    n,
    method: 'PeriodicTasks.runPeriodicTasks full scan, 1 s tick',
    simSeconds: ticks,
    runs,
    wallMs: scanMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    segmentNs: [],
    note:
      `${fmt(ticks)} ticks, ${fmt((scanMs * 1e6) / ticks / n, 1)} ns per task per tick` +
      (ticks < maxTicks ? `; stopped by the ${SCAN_BUDGET_MS / 1000} s budget` : ''),
    target: false,
  });
  log(`${shortCount(n)}: full scan ${fmt(runs)} runs in ${fmt(ticks)} ticks, ${fmt(scanMs)} ms`);
}

/** The same exact scheduler driven by the test VirtualClock (a macrotask turn per wake-up). */
async function conductorVirtualClock(w: Workload, hours: number, runRows: RunRow[]): Promise<void> {
  const horizon = hours * 3600;
  const pt = buildTasks(w, new FastForwardClock());
  const vc = new VirtualClock(0);
  const sched = new ExactScheduler(pt, { clock: vc, spread: 0, logger });
  sched.start();
  runs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await vc.advance(horizon);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const n = runs;
  sched.stop();
  await sched.wait();
  const expected = expectedRuns(w, horizon);
  runRows.push({
    n: w.n,
    method: 'ExactScheduler, VirtualClock (reference)',
    simSeconds: horizon,
    runs: n,
    wallMs: ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    segmentNs: [],
    note: n === expected ? 'runs = expected' : `expected ${fmt(expected)} runs`,
    target: false,
  });
  log(`${shortCount(w.n)}: VirtualClock ${fmt(n)} runs in ${fmt(ms)} ms`);
}

// ---------------------------------------------------------------------------------------------
// Peers (memory only)

function peerSetInterval(w: Workload, shared: boolean): MemRow {
  const base = memNow();
  const t0 = performance.now();
  const timers = new Array<NodeJS.Timeout>(w.n);
  for (let i = 0; i < w.n; i++) {
    const ms = shared ? 2 * HUGE_MS : HUGE_MS + Math.round((w.spacings[i] as number) * 1000);
    timers[i] = setInterval(tick, ms);
  }
  const buildMs = performance.now() - t0;
  const after = memNow();
  for (const t of timers) clearInterval(t);
  return memRow(
    shared ? 'setInterval, one interval for all' : 'setInterval, own interval per task',
    w.n,
    w.n,
    base,
    after,
    buildMs,
    'incl. the 8 B handle array',
  );
}

function peerToad(w: Workload): MemRow {
  const base = memNow();
  const t0 = performance.now();
  const scheduler = new ToadScheduler();
  for (let i = 0; i < w.n; i++) {
    const name = w.names[i] as string;
    const ms = HUGE_MS + Math.round((w.spacings[i] as number) * 1000);
    scheduler.addSimpleIntervalJob(
      new SimpleIntervalJob({ milliseconds: ms }, new Task(name, tick), { id: name }),
    );
  }
  const buildMs = performance.now() - t0;
  const after = memNow();
  scheduler.stop();
  return memRow(
    'toad-scheduler SimpleIntervalJob',
    w.n,
    w.n,
    base,
    after,
    buildMs,
    'Task + job, registered by id',
  );
}

const CRONER_SYSTEM = "croner `new Cron('* * * * * *', { paused, interval })`";

/**
 * croner, one job per task, in this process. Sizes up to CRONER_FULL_MAX are built in full; larger
 * ones until the time budget runs out or the heap passes 60 % of its limit (then extrapolated).
 */
function peerCroner(w: Workload): MemRow {
  const limit = getHeapStatistics().heap_size_limit;
  const bounded = w.n > CRONER_FULL_MAX;
  const base = memNow();
  const t0 = performance.now();
  const jobs: Cron[] = [];
  let stoppedBy = '';
  for (let i = 0; i < w.n; i++) {
    const interval = cronerInterval(w.spacings[i] as number);
    jobs.push(new Cron('* * * * * *', { paused: true, interval }, tick));
    if (bounded && (i & 255) === 255) {
      if (performance.now() - t0 > CRONER_BUDGET_MS) {
        stoppedBy = `the ${CRONER_BUDGET_MS / 1000} s budget`;
        break;
      }
      if (process.memoryUsage().heapUsed > 0.6 * limit) {
        stoppedBy = 'the heap reaching 60 % of its limit';
        break;
      }
    }
  }
  const buildMs = performance.now() - t0;
  const after = memNow();
  for (const j of jobs) j.stop();
  const created = jobs.length;
  const row = memRow(CRONER_SYSTEM, w.n, created, base, after, buildMs);
  const each = `${fmt((buildMs * 1000) / created)} µs to build each`;
  if (created < w.n) {
    const need = (row.heapPerTask + row.abPerTask) * w.n;
    row.note =
      `built ${fmt(created)} of ${shortCount(w.n)}, stopped by ${stoppedBy}; ${each}; ` +
      `${shortCount(w.n)} would need ~${bytes(need)}, heap limit ${bytes(limit)}`;
  } else {
    row.note = each;
  }
  return row;
}

interface ChildOutcome {
  created: number;
  ms: number;
  heap: number;
  done: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  oom: boolean;
  timedOut: boolean;
}

/** `--croner-oom`: N croner jobs in a fresh process with the default heap; how does it end? */
function cronerOwnProcess(n: number): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ['--croner-child', String(n)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const outcome: ChildOutcome = {
      created: 0,
      ms: 0,
      heap: 0,
      done: false,
      code: null,
      signal: null,
      oom: false,
      timedOut: false,
    };
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
    });
    child.on('message', (m: Partial<ChildOutcome>) => {
      if (m.done) outcome.done = true;
      else Object.assign(outcome, m);
    });
    const timer = setTimeout(() => {
      outcome.timedOut = true;
      child.kill('SIGKILL');
    }, CRONER_CHILD_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      outcome.code = code;
      outcome.signal = signal;
      outcome.oom = /heap out of memory/i.test(stderr);
      resolve(outcome);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Main

/** Compiles the code paths once (small size, results dropped) so the measured heaps hold no code. */
async function warmUp(): Promise<void> {
  const w = makeWorkload(2000);
  const dropped = { memRows: [] as MemRow[], runRows: [] as RunRow[] };
  await conductor(w, 0.5, dropped.memRows, dropped.runRows);
  await conductorVirtualClock(w, 0.05, dropped.runRows);
  peerSetInterval(w, false);
  peerSetInterval(w, true);
  peerToad(w);
  log('warm-up done');
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const load0 = loadavg();
  const memRows: MemRow[] = [];
  const runRows: RunRow[] = [];
  await warmUp();
  for (const n of SIZES) {
    log(`${shortCount(n)}: building workload`);
    const w = makeWorkload(n);
    await conductor(w, hoursFor(n), memRows, runRows);
    if (n <= 10_000) await conductorVirtualClock(w, VC_HOURS, runRows);
    memRows.push(peerSetInterval(w, false));
    memRows.push(peerSetInterval(w, true));
    log(`${shortCount(n)}: setInterval done`);
    memRows.push(peerToad(w));
    log(`${shortCount(n)}: toad-scheduler done`);
    if (n <= 100_000) {
      memRows.push(peerCroner(w));
      log(`${shortCount(n)}: croner done`);
    } else {
      memRows.push({
        system: CRONER_SYSTEM,
        n,
        created: 0,
        heapPerTask: NaN,
        abPerTask: NaN,
        buildMs: NaN,
        note: 'not attempted: 100k already needs more than the heap limit',
      });
    }
  }
  let oomNote: string | undefined;
  if (args['croner-oom']) {
    log('croner: 100k jobs in a child process with the default heap…');
    const o = await cronerOwnProcess(100_000);
    const how = o.done
      ? 'built all of them'
      : o.oom
        ? 'crashed with "JavaScript heap out of memory"'
        : o.timedOut
          ? `was killed after ${CRONER_CHILD_TIMEOUT_MS / 1000} s`
          : `exited (code ${String(o.code)}, signal ${String(o.signal)})`;
    oomNote =
      `croner, 100k jobs in a fresh process with the default heap (${bytes(getHeapStatistics().heap_size_limit)}): ` +
      `${how}; last progress report: ${fmt(o.created)} jobs built after ${fmt(o.ms / 1000, 1)} s, ` +
      `heap ${bytes(o.heap)} (~${fmt(o.heap / Math.max(1, o.created) / 1024, 1)} KiB per job).`;
    log(oomNote);
  }
  report(memRows, runRows, oomNote, {
    wallS: (performance.now() - startedAt) / 1000,
    load0,
    load1: loadavg(),
  });
}

function report(
  memRows: MemRow[],
  runRows: RunRow[],
  oomNote: string | undefined,
  run: { wallS: number; load0: number[]; load1: number[] },
): void {
  const out: string[] = [];
  const heapLimit = getHeapStatistics().heap_size_limit;
  const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  out.push('## Scale (virtual time)');
  out.push('');
  out.push(
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, heap limit ${bytes(heapLimit)}; ` +
      `sizes ${SIZES.map(shortCount).join(', ')}; spacings uniform in ${MIN_SPACING}–${MAX_SPACING} s ` +
      `(mulberry32 seed ${SEED}); one shared no-op task function; names pre-built before the baseline. ` +
      `Wall time ${fmt(run.wallS)} s; load average ${la(run.load0)} before, ${la(run.load1)} after.`,
  );
  out.push('');
  out.push('### Memory per task (after a full GC)');
  out.push('');
  out.push(memoryTable(memRows));
  out.push('');
  out.push(
    'Typed arrays of more than 64 bytes live outside the JS heap (`process.memoryUsage().arrayBuffers`), ' +
      "so the conductor-ts figures count both; the peers' state is all on the JS heap. " +
      'Timer peers use intervals of about 10⁹ ms so nothing fires while measured, and are cleared ' +
      'right after. croner jobs are paused, unnamed (a name adds a linear scan of all named jobs per ' +
      'new job) and stopped right after.',
  );
  if (oomNote) {
    out.push('');
    out.push(oomNote);
  }
  out.push('');
  out.push('### Scheduling overhead per run');
  out.push('');
  out.push(
    markdownTable(
      [
        ' tasks',
        'method',
        ' simulated',
        ' runs',
        ' wall ms',
        ' ns/run',
        ' ns/run by segment: median (min–max)',
        ' CPU ns/run',
        'note',
      ],
      runRows.map((r) => [
        shortCount(r.n),
        r.method,
        r.simSeconds >= 3600 && r.simSeconds % 900 === 0
          ? `${r.simSeconds / 3600} h`
          : `${fmt(r.simSeconds)} s`,
        fmt(r.runs),
        fmt(r.wallMs),
        fmt((r.wallMs * 1e6) / r.runs),
        r.segmentNs.length
          ? `${fmt(median(r.segmentNs))} (${fmt(Math.min(...r.segmentNs))}–${fmt(Math.max(...r.segmentNs))})`
          : '',
        fmt((r.cpuMs * 1e6) / r.runs),
        r.note,
      ]),
    ),
  );
  out.push('');
  out.push(
    'ns/run = wall time ÷ task runs; the task is a no-op counter, so this is all scheduling overhead: ' +
      'queue operations, the per-run work of `PeriodicTasks` and the admin context built per wake-up ' +
      '(almost every wake-up runs a single task here, as spacings are random). start() (building the ' +
      `queue) is not included. Each exact run is also timed in ${SEGMENTS} equal stretches of simulated ` +
      'time; their median is less sensitive to other load on the machine and is what the target ' +
      'verdict uses. CPU ns/run counts the whole process (GC helper threads too). ' +
      'The full scan advances the clock 1 s per tick and continues from the exact runs’ state.',
  );
  out.push('');
  out.push('### Targets');
  out.push('');
  const largest = Math.max(...SIZES);
  const targetRows: string[][] = [];
  targetRows.push([
    '1M tasks in one process',
    largest >= 1_000_000
      ? `ran ${shortCount(largest)}`
      : `largest size run: ${shortCount(largest)}`,
    largest >= 1_000_000 ? 'met' : 'not measured',
  ]);
  for (const r of runRows.filter((x) => x.target)) {
    const ns = r.segmentNs.length ? median(r.segmentNs) : (r.wallMs * 1e6) / r.runs;
    targetRows.push([
      `≤ ${fmt(TARGET_NS)} ns scheduling overhead per run, ${shortCount(r.n)} tasks (median segment)`,
      `${fmt(ns)} ns`,
      ns <= TARGET_NS ? 'met' : 'NOT met',
    ]);
  }
  for (const r of memRows.filter((x) => x.system.endsWith('+ ExactScheduler'))) {
    const b = r.heapPerTask + r.abPerTask;
    targetRows.push([
      `≤ ${TARGET_BYTES} B scheduler state per task, ${shortCount(r.n)} tasks`,
      `${fmt(b, 1)} B`,
      b <= TARGET_BYTES ? 'met' : 'NOT met',
    ]);
  }
  out.push(markdownTable(['target', ' measured', 'verdict'], targetRows));
  out.push('');
  out.push(
    'Reference figures from a previous measurement: a bare setInterval timer about 163 B, a ' +
      'toad-scheduler job about 624 B.',
  );
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// croner in its own process (--croner-oom): build N jobs, report progress over IPC.

function cronerChild(n: number): void {
  const w = makeWorkload(n);
  const t0 = performance.now();
  const jobs: Cron[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(
      new Cron(
        '* * * * * *',
        { paused: true, interval: cronerInterval(w.spacings[i] as number) },
        tick,
      ),
    );
    if ((i + 1) % 1000 === 0 || i + 1 === n) {
      process.send?.({
        created: i + 1,
        ms: performance.now() - t0,
        heap: process.memoryUsage().heapUsed,
      });
    }
  }
  for (const j of jobs) j.stop();
  process.send?.({ done: true }, () => process.exit(0));
}

if (args['croner-child'] !== undefined) cronerChild(Number(args['croner-child']));
else await main();
