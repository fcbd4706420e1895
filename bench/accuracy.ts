/**
 * Accuracy benchmark (real clock): how close to its spacing each run of 20 periodic tasks starts,
 * and how far each task drifts from its grid, for conductor-ts and its peers.
 *
 *   npm run bench:accuracy -- [--duration 60] [--systems a,b,c,d,e]
 *
 * Systems: a = conductor-ts ExactScheduler (real clock, spread 0, runImmediately), b = setInterval,
 * c = toad-scheduler SimpleIntervalJob, d = croner, e = node-cron. Each runs in its own child process
 * (this script forked with `--child X`), one after another, so they never compete for the cores. The
 * child records `performance.now()` at the start of every run and sends the statistics over IPC.
 *
 * Spacings are 0.2 + 0.8·i/19 s (i = 0…19), rounded to whole milliseconds because setInterval and
 * toad-scheduler only take whole milliseconds. croner and node-cron only support whole-second
 * schedules, so they run all 20 tasks every second ('* * * * * *') and are measured against 1 s.
 */
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Cron } from 'croner';
import nodeCron from 'node-cron';
import { SimpleIntervalJob, Task, ToadScheduler } from 'toad-scheduler';
import { ExactScheduler, PeriodicTasks } from '../src/periodic/index.js';
import { fmt, markdownTable, max, mean, percentiles } from './lib/stats.js';

const SYSTEMS = {
  a: 'conductor-ts ExactScheduler',
  b: 'setInterval',
  c: 'toad-scheduler SimpleIntervalJob',
  d: 'croner',
  e: 'node-cron',
} as const;
type SystemId = keyof typeof SYSTEMS;
const isSystem = (s: string): s is SystemId => Object.hasOwn(SYSTEMS, s);

const TASKS = 20;
const TARGET_P99_MS = 1;
const TARGET_DRIFT_MS = 1;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    systems: { type: 'string', default: 'a,b,c,d,e' },
    child: { type: 'string' },
  },
  strict: true,
});

const DURATION_S = Number(args.duration);
if (!(DURATION_S > 0)) throw new Error('--duration must be > 0 seconds');

/** Whole-second cron schedules (croner, node-cron) run every task every second. */
const wholeSecond = (sys: SystemId): boolean => sys === 'd' || sys === 'e';

function spacingsMs(sys: SystemId): number[] {
  return Array.from({ length: TASKS }, (_, i) =>
    wholeSecond(sys) ? 1000 : Math.round((0.2 + (0.8 * i) / (TASKS - 1)) * 1000),
  );
}

interface Result {
  system: SystemId;
  runs: number;
  /** |interval − spacing| over all intervals of all tasks, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Per task |last − (first + k·spacing)|, k = runs − 1, ms. */
  maxDrift: number;
  meanDrift: number;
  /** Max over tasks of the drift measured from the second run on (first run excluded), ms. */
  maxDriftFrom2nd: number;
  /** Mean of (interval − spacing), ms: positive means late on average. */
  meanSigned: number;
}

// ---------------------------------------------------------------------------------------------
// Child: run one system for the duration and report

async function child(sys: SystemId): Promise<void> {
  const spacing = spacingsMs(sys);
  const cap = Math.ceil((DURATION_S * 1000) / Math.min(...spacing)) + 16;
  const starts = spacing.map(() => new Float64Array(cap));
  const counts = new Int32Array(TASKS);
  const fns = spacing.map((_, i) => {
    const buf = starts[i] as Float64Array;
    return (): void => {
      const t = performance.now();
      const k = counts[i] as number;
      if (k < cap) {
        buf[k] = t;
        counts[i] = k + 1;
      }
    };
  });

  let stop: () => Promise<void> | void;
  switch (sys) {
    case 'a': {
      const pt = new PeriodicTasks();
      fns.forEach((fn, i) =>
        pt.addPeriodicTask(fn, {
          spacing: (spacing[i] as number) / 1000,
          runImmediately: true,
          name: `task-${i}`,
        }),
      );
      const sched = new ExactScheduler(pt, { spread: 0 });
      sched.start();
      stop = async () => {
        sched.stop();
        await sched.wait();
      };
      break;
    }
    case 'b': {
      const timers = fns.map((fn, i) => setInterval(fn, spacing[i]));
      stop = () => timers.forEach((t) => clearInterval(t));
      break;
    }
    case 'c': {
      const scheduler = new ToadScheduler();
      fns.forEach((fn, i) =>
        scheduler.addSimpleIntervalJob(
          new SimpleIntervalJob({ milliseconds: spacing[i] as number }, new Task(`task-${i}`, fn)),
        ),
      );
      stop = () => scheduler.stop();
      break;
    }
    case 'd': {
      const jobs = fns.map((fn) => new Cron('* * * * * *', fn));
      stop = () => jobs.forEach((j) => j.stop());
      break;
    }
    case 'e': {
      const tasks = fns.map((fn) => nodeCron.schedule('* * * * * *', fn));
      stop = async () => {
        await Promise.all(tasks.map((t) => t.destroy()));
      };
      break;
    }
  }
  await new Promise((resolve) => setTimeout(resolve, DURATION_S * 1000));
  await stop();

  const errors: number[] = [];
  const signed: number[] = [];
  const drifts: number[] = [];
  const drifts2: number[] = [];
  let runs = 0;
  for (let i = 0; i < TASKS; i++) {
    const n = counts[i] as number;
    const s = starts[i] as Float64Array;
    const sp = spacing[i] as number;
    runs += n;
    for (let k = 1; k < n; k++) {
      const d = (s[k] as number) - (s[k - 1] as number) - sp;
      signed.push(d);
      errors.push(Math.abs(d));
    }
    if (n >= 2) drifts.push(Math.abs((s[n - 1] as number) - ((s[0] as number) + (n - 1) * sp)));
    if (n >= 3) drifts2.push(Math.abs((s[n - 1] as number) - ((s[1] as number) + (n - 2) * sp)));
  }
  const [p50, p99] = percentiles(errors, [50, 99]) as [number, number];
  const result: Result = {
    system: sys,
    runs,
    p50,
    p99,
    max: max(errors),
    maxDrift: max(drifts),
    meanDrift: mean(drifts),
    maxDriftFrom2nd: max(drifts2),
    meanSigned: mean(signed),
  };
  process.send?.(result, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Parent: one child per system, one after another

function runChild(sys: SystemId): Promise<Result> {
  return new Promise((resolve, reject) => {
    const c = fork(
      fileURLToPath(import.meta.url),
      ['--child', sys, '--duration', String(DURATION_S)],
      {
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      },
    );
    // The systems' own logs go to our stderr, never into the markdown on stdout.
    c.stdout?.pipe(process.stderr);
    let result: Result | undefined;
    const timer = setTimeout(() => c.kill('SIGKILL'), (DURATION_S + 60) * 1000);
    c.on('message', (m: Result) => {
      result = m;
    });
    c.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else
        reject(
          new Error(
            `${SYSTEMS[sys]}: child exited (code ${code}, signal ${signal}) without a result`,
          ),
        );
    });
  });
}

/** How often a busy loop on this machine loses the CPU for more than 0.5 ms (VM / OS noise). */
function machineCheck(ms: number): { gaps: number; worst: number } {
  const end = performance.now() + ms;
  let prev = performance.now();
  let gaps = 0;
  let worst = 0;
  for (;;) {
    const t = performance.now();
    if (t > end) break;
    const g = t - prev;
    if (g > 0.5) gaps++;
    if (g > worst) worst = g;
    prev = t;
  }
  return { gaps, worst };
}

async function main(): Promise<void> {
  const chosen = args.systems.split(',').map((s) => s.trim());
  const bad = chosen.filter((s) => !isSystem(s));
  if (bad.length) throw new Error(`--systems: unknown ${bad.join(', ')} (use a,b,c,d,e)`);
  const systems = chosen as SystemId[];
  const load0 = loadavg();
  const results: Result[] = [];
  for (const sys of systems) {
    process.stderr.write(`[accuracy] ${SYSTEMS[sys]}: ${DURATION_S} s…\n`);
    const r = await runChild(sys);
    process.stderr.write(
      `[accuracy] ${SYSTEMS[sys]}: ${r.runs} runs, p99 ${fmt(r.p99, 3)} ms, max drift ${fmt(r.maxDrift, 3)} ms\n`,
    );
    results.push(r);
  }
  const load1 = loadavg();
  const check = machineCheck(2000);

  const ms = (v: number): string => fmt(v, 3);
  const spacingNote = (sys: SystemId): string =>
    wholeSecond(sys) ? "1 s for all ('* * * * * *')" : '0.2–1 s (0.2 + 0.8·i/19, whole ms)';
  const out: string[] = [];
  out.push('## Accuracy (real clock)');
  out.push('');
  out.push(
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; ${TASKS} tasks, ${DURATION_S} s per ` +
      `system, each system in its own process, one after another; load average ${load0
        .map((x) => x.toFixed(2))
        .join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after.`,
  );
  out.push('');
  out.push(
    `Machine noise check (after the runs): a 2 s busy loop lost the CPU for more than 0.5 ms ` +
      `${check.gaps} times, the longest gap ${fmt(check.worst, 2)} ms.`,
  );
  out.push('');
  out.push(
    markdownTable(
      [
        'system',
        'spacing',
        ' runs',
        ' p50 error ms',
        ' p99 error ms',
        ' max error ms',
        ' max drift ms',
        ' mean drift ms',
        ' max drift from 2nd run ms',
        ' mean interval−spacing ms',
      ],
      results.map((r) => [
        SYSTEMS[r.system],
        spacingNote(r.system),
        fmt(r.runs),
        ms(r.p50),
        ms(r.p99),
        ms(r.max),
        ms(r.maxDrift),
        ms(r.meanDrift),
        ms(r.maxDriftFrom2nd),
        ms(r.meanSigned),
      ]),
    ),
  );
  out.push('');
  out.push(
    'error = |interval − spacing|, where interval = start-to-start time of consecutive runs of one task (`performance.now()` at the start of ' +
      'the task function); drift = |last start − (first start + k·spacing)| per task, k = runs − 1, ' +
      'then the max and mean over the 20 tasks; "from 2nd run" is the same measured from each task’s ' +
      'second start, which leaves out a late first run. croner and node-cron only support whole-second ' +
      "schedules, so they run every task every second ('* * * * * *') and are measured against 1 s.",
  );

  const a = results.find((r) => r.system === 'a');
  if (a) {
    const peers = results.filter((r) => r.system !== 'a');
    const rows: string[][] = [
      [
        `conductor-ts p99 ≤ ${TARGET_P99_MS} ms`,
        `${ms(a.p99)} ms`,
        a.p99 <= TARGET_P99_MS ? 'met' : 'NOT met',
      ],
      [
        `conductor-ts drift ≤ ${TARGET_DRIFT_MS} ms after ${DURATION_S} s (max over tasks)`,
        `${ms(a.maxDrift)} ms`,
        a.maxDrift <= TARGET_DRIFT_MS ? 'met' : 'NOT met',
      ],
    ];
    for (const p of peers) {
      const better = a.p99 < p.p99 && a.maxDrift < p.maxDrift;
      rows.push([
        `better than ${SYSTEMS[p.system]} (p99 and max drift)`,
        `${ms(a.p99)} vs ${ms(p.p99)}; ${ms(a.maxDrift)} vs ${ms(p.maxDrift)}`,
        better ? 'met' : 'NOT met',
      ]);
    }
    out.push('');
    out.push('### Targets');
    out.push('');
    out.push(markdownTable(['target', ' measured', 'verdict'], rows));
  }
  console.log(out.join('\n'));
}

if (args.child !== undefined) {
  if (!isSystem(args.child)) throw new Error(`--child: unknown system ${args.child}`);
  await child(args.child);
} else {
  await main();
}
