/**
 * Cron benchmark (issue 14): memory per cron task and scheduling overhead per run at 100k and 1M
 * cron tasks for conductor-ts, against croner and node-cron in the same run.
 *
 *   npm run bench:cron -- [--quick] [--sizes 100000,1000000] [--minutes M] [--croner-jobs N]
 *                         [--node-cron-tasks N] [--fire-tasks N,N] [--fire-seconds S]
 *                         [--node-cron-fire-max N] [--next-budget S] [--seed N]
 *
 * Needs `node --expose-gc` (the npm script passes it). Prints markdown to stdout, progress to stderr.
 *
 * Workload: every task gets one of four 5-field patterns from a seeded PRNG (mulberry32): 40 %
 * `* * * * *`, 30 % `*\/5 * * * *`, 20 % `*\/15 * * * *`, 10 % `0 * * * *`. One shared no-op task
 * function; names pre-built before any baseline. The simulated window ends at 2026-01-01 00:00:00
 * UTC, where all four patterns fire, so every task has run at least once by its end.
 *
 * 1. conductor-ts, virtual time: `PeriodicTasks.addPeriodicTask(fn, { name, cron })` per task and an
 *    `ExactScheduler`, both on a `VirtualClock` started at the window's start (a Unix time: the
 *    virtual clock has no epoch, so clock time is Unix time). The clock is advanced one minute
 *    boundary (one fire time) at a time, each advance timed; runs are counted by the task function
 *    and checked against croner's fire times. Memory: heap + ArrayBuffer delta after a full GC,
 *    after the build, after start() and after the window (every task has run).
 * 2. Peers, memory: one `new Cron(pattern, fn)` (croner) or `cron.schedule(pattern, fn)`
 *    (node-cron) per task, same pattern mix, real timers (nothing fires: the build is synchronous
 *    and the jobs are stopped right after). croner 10 allocates a 10,000-slot year array per job
 *    (about 80 KB), so it is measured at `--croner-jobs` (10k) only; node-cron at
 *    `--node-cron-tasks` (100k).
 * 3. Peers, next-fire computation: what each peer computes per job at every fire to re-arm its
 *    timer — croner `job.nextRun(fireTime)` (its `schedule()` does two such steps per fire),
 *    node-cron `task.timeMatcher.getNextMatch(fireTime)` — over the window's fire times, for the jobs
 *    whose pattern fires then, until `--next-budget` seconds.
 * 4. Real fires at second granularity: `--fire-tasks` tasks (2k and 10k) on `* * * * * *` for
 *    `--fire-seconds` seconds per system (conductor-ts on the real clock, croner, node-cron), one
 *    system after the other in this process: process CPU time per run (also net of an idle window
 *    of the same length), and how late runs start after their second. node-cron needs 140–165 µs
 *    of CPU per run, so above `--node-cron-fire-max` (4k) tasks a second it falls behind (and logs a
 *    warning per missed run); it is not run there.
 *
 * `--quick`: 15 / 5 simulated minutes at 100k / 1M, croner 2k, node-cron 10k, real fires 1k × 2 s.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { Cron } from 'croner';
import nodeCron from 'node-cron';
import { createLogger, VirtualClock } from '../src/core/index.js';
import { ExactScheduler, PeriodicTasks } from '../src/periodic/index.js';
import { bytes, fmt, markdownTable, median, percentiles, shortCount } from './lib/stats.js';
import { type Mem, memNow, memoryTable } from './lib/memory.js';
import { mulberry32 } from './lib/random.js';

// ---------------------------------------------------------------------------------------------
// Setup

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    minutes: { type: 'string' },
    'croner-jobs': { type: 'string' },
    'node-cron-tasks': { type: 'string' },
    'fire-tasks': { type: 'string' },
    'node-cron-fire-max': { type: 'string' },
    'fire-seconds': { type: 'string' },
    'next-budget': { type: 'string' },
    seed: { type: 'string', default: '20240601' },
  },
  strict: true,
});

const QUICK = args.quick;
const num = (v: string | undefined, full: number, quick: number, what: string): number => {
  const n = v === undefined ? (QUICK ? quick : full) : Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${what} must be a positive number`);
  return n;
};
const SIZES = (args.sizes ?? '100000,1000000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
if (SIZES.length === 0) throw new Error(`--sizes: no valid size in '${String(args.sizes)}'`);
const MINUTES_OVERRIDE = args.minutes === undefined ? undefined : Number(args.minutes);
if (MINUTES_OVERRIDE !== undefined && !(Number.isInteger(MINUTES_OVERRIDE) && MINUTES_OVERRIDE > 0))
  throw new Error('--minutes must be a positive whole number');
const CRONER_JOBS = num(args['croner-jobs'], 10_000, 2_000, 'croner-jobs');
const NODE_CRON_TASKS = num(args['node-cron-tasks'], 100_000, 10_000, 'node-cron-tasks');
const FIRE_TASKS = (args['fire-tasks'] ?? (QUICK ? '1000' : '2000,10000'))
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
if (FIRE_TASKS.length === 0) throw new Error('--fire-tasks: no valid count');
const FIRE_SECONDS = num(args['fire-seconds'], 5, 2, 'fire-seconds');
const NODE_CRON_FIRE_MAX = num(args['node-cron-fire-max'], 4000, 4000, 'node-cron-fire-max');
const NEXT_BUDGET_MS = num(args['next-budget'], 2, 0.5, 'next-budget') * 1000;
const SEED = Number(args.seed) >>> 0;

/** Simulated minutes per size: a few million runs, a few seconds of wall time each. */
function minutesFor(n: number): number {
  if (MINUTES_OVERRIDE !== undefined) return MINUTES_OVERRIDE;
  if (QUICK) return n <= 100_000 ? 15 : 5;
  return n <= 100_000 ? 60 : 30;
}

const TARGET_BYTES = 256;
const TARGET_NS = 1000;
/** 2026-01-01 00:00:00 UTC: the end of every simulated window; all four patterns fire there. */
const WINDOW_END = Date.UTC(2026, 0, 1) / 1000;
/** The peers' next-fire computation walks this many minutes before WINDOW_END. */
const PEER_MINUTES = 60;

const PATTERNS = [
  { pattern: '* * * * *', weight: 0.4 },
  { pattern: '*/5 * * * *', weight: 0.3 },
  { pattern: '*/15 * * * *', weight: 0.2 },
  { pattern: '0 * * * *', weight: 0.1 },
] as const;
const MIX = PATTERNS.map((p) => `${Math.round(p.weight * 100)} % \`${p.pattern}\``).join(', ');
const FIRE_PATTERN = '* * * * * *';

const log = (msg: string): void => {
  process.stderr.write(`[cron] ${msg}\n`);
};

let runs = 0;
/** The one task function every task of every system shares: a no-op counter. */
const tick = (): void => {
  runs++;
};

interface Workload {
  n: number;
  names: string[];
  /** Per task: its index in PATTERNS. */
  pattern: Uint8Array;
  /** Tasks per pattern. */
  counts: number[];
}

function makeWorkload(n: number): Workload {
  const rnd = mulberry32(SEED ^ n);
  const names = new Array<string>(n);
  const pattern = new Uint8Array(n);
  const counts = PATTERNS.map(() => 0);
  for (let i = 0; i < n; i++) {
    names[i] = `cron-${i}`;
    const u = rnd();
    let p = 0;
    let acc = PATTERNS[0].weight;
    while (u >= acc && p < PATTERNS.length - 1) acc += (PATTERNS[++p] as { weight: number }).weight;
    pattern[i] = p;
    counts[p] = (counts[p] as number) + 1;
  }
  return { n, names, pattern, counts };
}

const patternOf = (w: Workload, i: number): string =>
  (PATTERNS[w.pattern[i] as number] as { pattern: string }).pattern;

/** Fire times (Unix seconds) of each pattern in (from, to], from croner. */
function fireTimes(from: number, to: number): number[][] {
  return PATTERNS.map(({ pattern }) => {
    const c = new Cron(pattern, { paused: true });
    const out: number[] = [];
    for (let d = c.nextRun(new Date(from * 1000)); d && d.getTime() <= to * 1000;) {
      out.push(d.getTime() / 1000);
      d = c.nextRun(d);
    }
    c.stop();
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers

interface MemRow {
  system: string;
  n: number;
  heapPerTask: number;
  abPerTask: number;
  buildMs: number;
  note: string;
}

const memRow = (system: string, n: number, a: Mem, b: Mem, buildMs: number, note = ''): MemRow => ({
  system,
  n,
  heapPerTask: (b.heap - a.heap) / n,
  abPerTask: (b.ab - a.ab) / n,
  buildMs,
  note,
});

interface RunRow {
  n: number;
  simMinutes: number;
  fires: number;
  runs: number;
  expected: number;
  wallMs: number;
  cpuMs: number;
  /** ns/run of the first fire time (it also builds each task's first-run state). */
  firstNs: number;
  /** ns/run of each later fire time. */
  laterNs: number[];
}

/** Warnings go to stderr so they cannot break the markdown on stdout. */
const logger = createLogger({ level: 'warn' }, process.stderr);

// ---------------------------------------------------------------------------------------------
// 1. conductor-ts on a VirtualClock

async function conductorVirtual(w: Workload, minutes: number, memRows: MemRow[]): Promise<RunRow> {
  const { n } = w;
  const start = WINDOW_END - minutes * 60;
  const fires = fireTimes(start, WINDOW_END);
  let expected = 0;
  fires.forEach((f, p) => (expected += f.length * (w.counts[p] as number)));
  const vc = new VirtualClock(start);

  const base = memNow();
  let t0 = performance.now();
  const pt = new PeriodicTasks({ clock: vc, logger });
  for (let i = 0; i < n; i++) {
    pt.addPeriodicTask(tick, { name: w.names[i] as string, cron: patternOf(w, i) });
  }
  const buildMs = performance.now() - t0;
  const afterTable = memNow();
  t0 = performance.now();
  const sched = new ExactScheduler(pt, { clock: vc, logger });
  sched.start();
  const startMs = performance.now() - t0;
  const afterStart = memNow();
  log(`${shortCount(n)}: built in ${fmt(buildMs)} ms, start() ${fmt(startMs)} ms; ${minutes} min`);

  // One advance per minute boundary: every fire time of the mix is one.
  const row: RunRow = {
    n,
    simMinutes: minutes,
    fires: minutes,
    runs: 0,
    expected,
    wallMs: 0,
    cpuMs: 0,
    firstNs: NaN,
    laterNs: [],
  };
  runs = 0;
  const cpu0 = process.cpuUsage();
  for (let k = 1; k <= minutes; k++) {
    const before = runs;
    const a = performance.now();
    await vc.advanceTo(start + 60 * k);
    const ms = performance.now() - a;
    row.wallMs += ms;
    const ns = (ms * 1e6) / Math.max(1, runs - before);
    if (k === 1) row.firstNs = ns;
    else row.laterNs.push(ns);
  }
  const cpu = process.cpuUsage(cpu0);
  row.cpuMs = (cpu.user + cpu.system) / 1000;
  row.runs = runs;
  const afterRuns = memNow();
  sched.stop();
  await sched.wait();
  log(`${shortCount(n)}: ${fmt(runs)} runs (expected ${fmt(expected)}) in ${fmt(row.wallMs)} ms`);

  memRows.push(memRow('conductor-ts PeriodicTasks (task table)', n, base, afterTable, buildMs));
  memRows.push(
    memRow(
      'conductor-ts PeriodicTasks + ExactScheduler, after start()',
      n,
      base,
      afterStart,
      buildMs + startMs,
      `build ${fmt(buildMs)} ms + start() ${fmt(startMs)} ms`,
    ),
  );
  memRows.push(
    memRow(
      'conductor-ts PeriodicTasks + ExactScheduler, every task has run',
      n,
      base,
      afterRuns,
      buildMs + startMs,
      `after the ${minutes}-min window`,
    ),
  );
  return row;
}

// ---------------------------------------------------------------------------------------------
// 2–3. Peers: memory, then the next-fire computation per job per fire

interface NextRow {
  system: string;
  jobs: number;
  calls: number;
  nsPerCall: number;
  note: string;
}

/** Calls `next(job, date)` for the jobs whose pattern fires at each fire time, within the budget. */
function nextFireCost<J>(
  system: string,
  w: Workload,
  jobs: J[],
  next: (job: J, at: Date) => unknown,
  note: string,
): NextRow {
  const fires = fireTimes(WINDOW_END - PEER_MINUTES * 60, WINDOW_END);
  const byTime = new Map<number, number[]>();
  fires.forEach((times, p) => {
    for (const t of times) byTime.set(t, [...(byTime.get(t) ?? []), p]);
  });
  const order = [...byTime.keys()].sort((a, b) => a - b);
  let calls = 0;
  let sink = 0;
  const t0 = performance.now();
  outer: for (const t of order) {
    const at = new Date(t * 1000);
    const firing = new Uint8Array(PATTERNS.length);
    for (const p of byTime.get(t) as number[]) firing[p] = 1;
    for (let i = 0; i < jobs.length; i++) {
      if (!firing[w.pattern[i] as number]) continue;
      if (next(jobs[i] as J, at)) sink++;
      calls++;
      if ((calls & 255) === 0 && performance.now() - t0 > NEXT_BUDGET_MS) break outer;
    }
  }
  const ms = performance.now() - t0;
  if (sink !== calls) throw new Error(`${system}: a next-fire computation returned nothing`);
  return { system, jobs: jobs.length, calls, nsPerCall: (ms * 1e6) / calls, note };
}

function peerCroner(w: Workload, memRows: MemRow[], nextRows: NextRow[]): void {
  const { n } = w;
  const base = memNow();
  const t0 = performance.now();
  const jobs = new Array<Cron>(n);
  for (let i = 0; i < n; i++) jobs[i] = new Cron(patternOf(w, i), tick);
  const buildMs = performance.now() - t0;
  const after = memNow();
  const per = (after.heap - base.heap + after.ab - base.ab) / n;
  memRows.push(
    memRow(
      'croner `new Cron(pattern, fn)`',
      n,
      base,
      after,
      buildMs,
      `${fmt((buildMs * 1000) / n, 1)} µs to build each; 100k would need ~${bytes(per * 100_000)}, ` +
        `1M ~${bytes(per * 1_000_000)} (heap limit ${bytes(getHeapStatistics().heap_size_limit)})`,
    ),
  );
  log(`croner ${shortCount(n)}: ${fmt(per)} B/job; next-fire cost`);
  nextRows.push(
    nextFireCost(
      'croner `job.nextRun(fireTime)`',
      w,
      jobs,
      (j, at) => j.nextRun(at),
      'its `schedule()` makes two such steps per fire (`msToNext()` and `nextRun()`)',
    ),
  );
  for (const j of jobs) j.stop();
}

interface NodeCronInternals {
  timeMatcher: { getNextMatch(d: Date): Date };
}

async function peerNodeCron(w: Workload, memRows: MemRow[], nextRows: NextRow[]): Promise<void> {
  const { n } = w;
  const base = memNow();
  const t0 = performance.now();
  const tasks = new Array<ReturnType<typeof nodeCron.schedule>>(n);
  for (let i = 0; i < n; i++) {
    tasks[i] = nodeCron.schedule(patternOf(w, i), tick);
    if ((i & 16383) === 16383)
      log(`node-cron: ${fmt(i + 1)} tasks, ${fmt(performance.now() - t0)} ms`);
  }
  const buildMs = performance.now() - t0;
  const after = memNow();
  const per = (after.heap - base.heap + after.ab - base.ab) / n;
  memRows.push(
    memRow(
      'node-cron `cron.schedule(pattern, fn)`',
      n,
      base,
      after,
      buildMs,
      `${fmt((buildMs * 1000) / n, 1)} µs to build each; 1M would need ~${bytes(per * 1_000_000)} ` +
        `and ~${fmt((buildMs * 1000) / n)} s to build`,
    ),
  );
  log(`node-cron ${shortCount(n)}: ${fmt(per)} B/task; next-fire cost`);
  nextRows.push(
    nextFireCost(
      'node-cron `timeMatcher.getNextMatch(fireTime)`',
      w,
      tasks,
      (t, at) => (t as unknown as NodeCronInternals).timeMatcher.getNextMatch(at),
      'one per fire (its heartbeat’s `planBeat`)',
    ),
  );
  for (const t of tasks) await t.destroy();
}

// ---------------------------------------------------------------------------------------------
// 4. Real fires at second granularity

interface FireRow {
  system: string;
  tasks: number;
  seconds: number;
  runs: number;
  /** Wall time of the window (longer than `seconds` when the event loop was held up). */
  wallMs: number;
  cpuMs: number;
  /** Start lateness after the whole second, ms: p50, p99, max (every 16th run sampled). */
  late: number[];
}

let lateSamples = new Float64Array(0);
let lateCount = 0;
/** The real-fire task function: counts, and samples how late every 16th run starts (ms). */
const fireTick = (): void => {
  runs++;
  if ((runs & 15) === 0 && lateCount < lateSamples.length) {
    const ms = (performance.timeOrigin + performance.now()) % 1000;
    lateSamples[lateCount++] = ms > 900 ? ms - 1000 : ms;
  }
};

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Sleeps until `frac` of the way into the next wall-clock second. */
const untilFraction = (frac: number): Promise<void> => {
  const now = performance.timeOrigin + performance.now();
  return sleepMs(Math.ceil(now / 1000) * 1000 + frac * 1000 - now);
};

/**
 * Builds `n` tasks, lets them fire once, then measures one window from mid-second to mid-second,
 * FIRE_SECONDS long: exactly FIRE_SECONDS fires per task fall in it.
 */
async function realFires(
  system: string,
  n: number,
  build: (n: number) => () => Promise<void>,
): Promise<FireRow> {
  const stop = build(n);
  memNow();
  // One fire before the window (a first run builds per-task state), then mid-second.
  await untilFraction(0.5);
  await untilFraction(0.5);
  lateSamples = new Float64Array(Math.ceil((n * FIRE_SECONDS) / 16) + 64);
  lateCount = 0;
  runs = 0;
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await sleepMs(FIRE_SECONDS * 1000);
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  const got = runs;
  await stop();
  const late = lateSamples.subarray(0, lateCount);
  const [p50, p99] = percentiles(late, [50, 99]);
  let max = -Infinity;
  for (const x of late) max = Math.max(max, x);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  log(`${system}, ${shortCount(n)}: ${fmt(got)} runs, ${fmt(cpuMs)} ms CPU, ${fmt(wallMs)} ms`);
  return {
    system,
    tasks: n,
    seconds: FIRE_SECONDS,
    runs: got,
    wallMs,
    cpuMs,
    late: [p50 as number, p99 as number, max],
  };
}

const FIRE_SYSTEMS: { system: string; build: (n: number) => () => Promise<void> }[] = [
  {
    system: 'conductor-ts ExactScheduler, real clock',
    build: (n) => {
      const pt = new PeriodicTasks({ logger });
      for (let i = 0; i < n; i++)
        pt.addPeriodicTask(fireTick, { name: `fire-${i}`, cron: FIRE_PATTERN });
      const s = new ExactScheduler(pt, { logger });
      s.start();
      return async () => {
        s.stop();
        await s.wait();
      };
    },
  },
  {
    system: 'croner `new Cron(pattern, fn)`',
    build: (n) => {
      const jobs = Array.from({ length: n }, () => new Cron(FIRE_PATTERN, fireTick));
      return async () => {
        for (const j of jobs) j.stop();
      };
    },
  },
  {
    system: 'node-cron `cron.schedule(pattern, fn)`',
    build: (n) => {
      const tasks = Array.from({ length: n }, () => nodeCron.schedule(FIRE_PATTERN, fireTick));
      return async () => {
        for (const t of tasks) await t.destroy();
      };
    },
  },
];

/** The idle window's CPU (timers and GC of an otherwise idle process), then every system. */
async function allRealFires(): Promise<{ idleCpuMs: number; rows: FireRow[] }> {
  memNow();
  await untilFraction(0.5);
  const cpu0 = process.cpuUsage();
  await sleepMs(FIRE_SECONDS * 1000);
  const cpu = process.cpuUsage(cpu0);
  const idleCpuMs = (cpu.user + cpu.system) / 1000;
  log(`idle window: ${fmt(idleCpuMs, 1)} ms CPU`);
  const rows: FireRow[] = [];
  for (const n of FIRE_TASKS) {
    for (const { system, build } of FIRE_SYSTEMS) {
      if (system.startsWith('node-cron') && n > NODE_CRON_FIRE_MAX) continue;
      rows.push(await realFires(system, n, build));
    }
  }
  return { idleCpuMs, rows };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const startedAt = performance.now();
  const load0 = loadavg();
  const memRows: MemRow[] = [];
  const runRows: RunRow[] = [];
  const nextRows: NextRow[] = [];

  // Warm-up: compile the code paths on a small size, results dropped.
  await conductorVirtual(makeWorkload(5000), 16, []);
  log('warm-up done');

  for (const n of SIZES) {
    runRows.push(await conductorVirtual(makeWorkload(n), minutesFor(n), memRows));
  }
  peerCroner(makeWorkload(CRONER_JOBS), memRows, nextRows);
  await peerNodeCron(makeWorkload(NODE_CRON_TASKS), memRows, nextRows);
  const fires = await allRealFires();
  report(memRows, runRows, nextRows, fires, {
    wallS: (performance.now() - startedAt) / 1000,
    load0,
    load1: loadavg(),
  });
}

function report(
  memRows: MemRow[],
  runRows: RunRow[],
  nextRows: NextRow[],
  fires: { idleCpuMs: number; rows: FireRow[] },
  run: { wallS: number; load0: number[]; load1: number[] },
): void {
  const out: string[] = [];
  const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  out.push(`## Cron tasks${QUICK ? ' (--quick)' : ''}`);
  out.push('');
  out.push(
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, heap limit ` +
      `${bytes(getHeapStatistics().heap_size_limit)}, time zone ${zone}; pattern mix ${MIX} ` +
      `(mulberry32 seed ${SEED}); simulated windows end at 2026-01-01 00:00 UTC; one shared no-op ` +
      `task function; names pre-built before the baseline. Wall time ${fmt(run.wallS)} s; load ` +
      `average ${la(run.load0)} before, ${la(run.load1)} after.`,
  );
  out.push('');
  out.push('### Memory per task (after a full GC)');
  out.push('');
  out.push(memoryTable(memRows));
  out.push('');
  out.push(
    'Typed arrays of more than 64 bytes live outside the JS heap (`process.memoryUsage().arrayBuffers`), ' +
      'so the conductor-ts figures count both. The last conductor-ts row is taken after the window, when ' +
      "every task has run at least once: per-task run state made at a task's first run, and the queue's " +
      'storage after a fire time at which every task is due, are in it. croner and node-cron jobs hold ' +
      'real timers (nothing fires: the build is synchronous) and are stopped right after; their figures ' +
      'include the 8 B array slot per job.',
  );
  out.push('');
  out.push('### conductor-ts: scheduling overhead per run (VirtualClock)');
  out.push('');
  out.push(
    markdownTable(
      [
        ' tasks',
        ' simulated',
        ' fire times',
        ' runs',
        'runs = expected',
        ' wall ms',
        ' ns/run',
        ' first fire ns/run',
        ' later fires ns/run: median (min–max)',
        ' CPU ns/run',
      ],
      runRows.map((r) => [
        shortCount(r.n),
        `${r.simMinutes} min`,
        fmt(r.fires),
        fmt(r.runs),
        r.runs === r.expected ? 'yes' : `no (${fmt(r.expected)})`,
        fmt(r.wallMs),
        fmt((r.wallMs * 1e6) / r.runs),
        fmt(r.firstNs),
        r.laterNs.length
          ? `${fmt(median(r.laterNs))} (${fmt(Math.min(...r.laterNs))}–${fmt(Math.max(...r.laterNs))})`
          : '',
        fmt((r.cpuMs * 1e6) / r.runs),
      ]),
    ),
  );
  out.push('');
  out.push(
    'ns/run = wall time of the clock advances ÷ task runs; the task is a no-op counter, so this is all ' +
      'scheduling overhead. Each fire time (a minute boundary) is one `VirtualClock.advanceTo()`, which ' +
      'wakes the scheduler once and lets it run every task due then (40 % of them at a plain minute, up ' +
      "to all at 00:00). The first fire time is shown apart: it also makes each task's run state. " +
      'Runs are checked against the fire times croner gives for each pattern. The target verdict uses ' +
      'the median of the later fire times and the mean over all runs.',
  );
  out.push('');
  out.push('### Peers: next-fire computation per job per fire');
  out.push('');
  out.push(
    markdownTable(
      ['system', ' jobs', ' calls', ' ns/call', 'note'],
      nextRows.map((r) => [r.system, shortCount(r.jobs), fmt(r.calls), fmt(r.nsPerCall), r.note]),
    ),
  );
  out.push('');
  out.push(`### Real fires: \`${FIRE_PATTERN}\`, ${FIRE_SECONDS} s per system`);
  out.push('');
  out.push(
    markdownTable(
      [
        'system',
        ' tasks',
        ' runs',
        ' expected',
        ' window ms',
        ' CPU ms',
        ' CPU ns/run',
        ' net of idle ns/run',
        ' late p50 ms',
        ' late p99 ms',
        ' late max ms',
      ],
      fires.rows.map((r) => [
        r.system,
        shortCount(r.tasks),
        fmt(r.runs),
        fmt(r.tasks * r.seconds),
        fmt(r.wallMs),
        fmt(r.cpuMs),
        fmt((r.cpuMs * 1e6) / r.runs),
        fmt(((r.cpuMs - fires.idleCpuMs) * 1e6) / r.runs),
        fmt(r.late[0] as number, 2),
        fmt(r.late[1] as number, 2),
        fmt(r.late[2] as number, 2),
      ]),
    ),
  );
  out.push('');
  out.push(
    `CPU is the whole process's (GC and compiler threads too) over the window; "net of idle" takes ` +
      `off the ${fmt(fires.idleCpuMs, 1)} ms the same process used over an idle window of the same ` +
      `length. Each system's tasks fire once before its window. Lateness: wall-clock ms after the whole second at which a run starts, every 16th run ` +
      `sampled; it grows with the tasks per second because each system runs them one after another. ` +
      `node-cron is left out above ${shortCount(NODE_CRON_FIRE_MAX)} tasks: at 140–165 µs of CPU per run ` +
      `it cannot keep up with 10k runs a second.`,
  );
  out.push('');
  out.push('### Targets (conductor-ts)');
  out.push('');
  const targetRows: string[][] = [];
  for (const r of runRows) {
    const ns = r.laterNs.length ? median(r.laterNs) : (r.wallMs * 1e6) / r.runs;
    const mean = (r.wallMs * 1e6) / r.runs;
    targetRows.push([
      `≤ ${fmt(TARGET_NS)} ns per run, ${shortCount(r.n)} cron tasks (median fire; mean of all)`,
      `${fmt(ns)} ns; ${fmt(mean)} ns`,
      ns <= TARGET_NS && mean <= TARGET_NS ? 'met' : 'NOT met',
    ]);
  }
  for (const r of memRows.filter((x) => x.system.endsWith('every task has run'))) {
    const b = r.heapPerTask + r.abPerTask;
    targetRows.push([
      `≤ ${TARGET_BYTES} B per cron task, ${shortCount(r.n)} tasks (after every task has run)`,
      `${fmt(b, 1)} B`,
      b <= TARGET_BYTES ? 'met' : 'NOT met',
    ]);
  }
  out.push(markdownTable(['target', ' measured', 'verdict'], targetRows));
  console.log(out.join('\n'));
}

await main();
// Real timers of the peers may linger in their libraries; the report is out.
process.exit(0);
