import { type Command, Option } from 'commander';
import type { ConductorStore } from '../../conductor/index.js';
import { maskUrlPassword, VirtualClock } from '../../core/index.js';
import { CronSchedule, type PeriodicTaskInfo, type TaskState } from '../../periodic/index.js';
import { json, table } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { type CliIo, UsageError } from '../io.js';
import { DEFAULT_MANAGER, DEFAULT_TOPIC } from '../manager.js';
import { lazyStore, withStore } from '../store.js';
import { intervalSeconds, watch, type WatchFrame } from '../watch.js';
import { fetchOpsTasks, opsBaseUrl, opsTasksFrame } from './ops-tasks.js';

/** The options of `conductor tasks`. */
interface TasksOptions {
  manager?: string;
  format: 'table' | 'json';
  json?: boolean;
  state?: boolean;
  topic: string;
  url?: string;
  watch?: boolean;
  interval: number;
}

interface TasksClass {
  new (options: Record<string, unknown>): { periodicTaskInfo(): PeriodicTaskInfo[] };
  periodicTaskNames(): string[];
  readonly name: string;
}

function isTasksClass(cls: unknown): cls is TasksClass {
  if (typeof cls !== 'function') return false;
  const c = cls as { periodicTaskNames?: unknown; prototype?: { periodicTaskInfo?: unknown } };
  return (
    typeof c.periodicTaskNames === 'function' && typeof c.prototype?.periodicTaskInfo === 'function'
  );
}

/** One task as `conductor tasks` prints it. */
export interface TaskRow {
  readonly name: string;
  readonly spacing: number;
  readonly runImmediately: boolean;
  readonly externalProcessOk: boolean;
  /** Where it runs when the service has replicas. */
  readonly placement: string;
  /** The cron pattern, or null. */
  readonly cron: string | null;
  /** The cron pattern's time zone, or null (the process's). */
  readonly timezone: string | null;
  /** Seconds a run may take, or null. */
  readonly timeout: number | null;
  /** Declared on the class with `@periodicTask` (false: added by the constructor). */
  readonly declared: boolean;
}

/**
 * The periodic tasks of a manager class: the class's registry (`periodicTaskNames()`) and the
 * options of a throwaway instance built on a virtual clock, so that nothing runs or starts.
 */
export function listTasks(cls: unknown, managerOptions: Record<string, unknown> = {}): TaskRow[] {
  if (!isTasksClass(cls)) {
    const name = typeof cls === 'function' ? (cls as { name: string }).name : String(cls);
    throw new UsageError(
      `${name} is not a Manager or PeriodicTasks class (it has no static periodicTaskNames())`,
    );
  }
  const declared = new Set(cls.periodicTaskNames());
  const instance = new cls({ ...managerOptions, clock: new VirtualClock() });
  return instance.periodicTaskInfo().map((t) => ({
    name: t.name,
    spacing: t.spacing,
    runImmediately: t.runImmediately,
    externalProcessOk: t.externalProcessOk,
    placement: t.placement,
    cron: t.cron,
    timezone: t.timezone,
    timeout: t.timeout,
    declared: declared.has(t.name),
  }));
}

/** `conductor tasks`: list the periodic tasks of a manager class. */
export function addTasksCommand(program: Command, ctx: CliContext): Command {
  return addGlobalOptions(
    program
      .command('tasks')
      .description(
        'list the periodic tasks of a manager class: name, spacing (seconds), run immediately, external process ok, placement; or, with --url / --watch, those of a running service (live)',
      ),
  )
    .option(
      '--manager <module#Class>',
      `the manager class: a file path (relative to the working directory) or a package specifier, then # and the exported class (default ${DEFAULT_MANAGER})`,
    )
    .option(
      '--state',
      "also show what the [database] remembers of each task (per host, or 'cluster'): last run, next due, lateness, outcome, runs, missed, skipped, timeouts",
    )
    .option('--topic <topic>', 'with --state: the service (RPC topic) whose tasks', DEFAULT_TOPIC)
    .option(
      '--url <url>',
      'read the tasks of a running service from its ops endpoint (GET /tasks): runs, outcomes, lateness; http://host:port (with --watch the default is [ops] listen)',
    )
    .option(
      '--watch',
      'a live view, redrawn every --interval seconds with the changes since the last refresh marked (q or Ctrl-C quits): of the ops endpoint, or with --state of the database',
    )
    .option(
      '--interval <seconds>',
      'with --watch: seconds between two refreshes',
      intervalSeconds,
      2,
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option('--json', 'same as --format json (with --watch: one JSON line per refresh)')
    .addHelpText(
      'after',
      `
Nothing is started: the class is imported and a throwaway instance built on a virtual clock.
With --url or --watch the tasks are those of a running service, read from its ops endpoint.
The live view redraws in place on a terminal (colours unless NO_COLOR is set; FORCE_COLOR forces
them); piped, it appends one table per refresh; with --json it prints one JSON line per refresh.

Examples:
  $ conductor tasks --manager ./dist/my-manager.js#MyManager
  $ conductor tasks --manager my-package/managers#VimMonitor --format json
  $ conductor tasks --state --config-file /etc/conductor/conductor.conf
  $ conductor tasks --url http://127.0.0.1:9410 --json
  $ conductor tasks --watch --url http://127.0.0.1:9410 --interval 1
  $ conductor tasks --watch --state --config-file /etc/conductor/conductor.conf`,
    )
    .action(async (opts: TasksOptions, cmd: Command) => {
      const format = opts.json ? 'json' : opts.format;
      const live = opts.watch === true || opts.url !== undefined;
      if (live && !opts.state) {
        if (opts.manager !== undefined)
          throw new UsageError(
            '--manager lists the tasks of a class; --url and --watch read those of a running service: give one or the other',
          );
        const { conf } = await prepare(cmd, ctx, { logFd: 2, defaultLevel: 'warn' });
        const base = opsBaseUrl(opts.url, conf);
        if (opts.watch) {
          const now = ctx.io.now ?? (() => new Date());
          await watch({
            io: ctx.io,
            title: 'conductor tasks',
            source: `${base}/tasks`,
            interval: opts.interval,
            format,
            fetch: async () => opsTasksFrame(await fetchOpsTasks(base), now()),
          });
          return;
        }
        const rows = await fetchOpsTasks(base);
        if (format === 'json') ctx.io.stdout.write(json(rows));
        else if (rows.length === 0) ctx.io.stdout.write('the service has no periodic tasks\n');
        else {
          const frame = opsTasksFrame(rows, ctx.io.now?.() ?? new Date());
          ctx.io.stdout.write(
            table(
              [...frame.headers],
              frame.rows.map((r) => [...r.cells]),
            ),
          );
        }
        return;
      }
      if (opts.url !== undefined)
        throw new UsageError('--state reads the database, not an ops endpoint: leave out --url');
      const { conf, manager: cls } = await prepare(cmd, ctx, {
        logFd: 2,
        defaultLevel: 'warn',
        manager: { path: opts.manager },
      });
      const rows = listTasks(cls, {
        host: conf.getDefault<string>('host'),
        runExternalPeriodicTasks: conf.getDefault<boolean>('run_external_periodic_tasks'),
        conf,
      });
      if (opts.state) {
        const clsName = (cls as { name: string }).name;
        const load = async (store: ConductorStore, now: number): Promise<TaskStateRow[]> => {
          const states = await store.taskStates.list({ service: opts.topic });
          return states
            .filter((st) => st.task.startsWith(`${clsName}.`))
            .map((st) => stateRow(st, rows, clsName, now));
        };
        if (opts.watch) {
          // One store for the whole view: opening one connects and checks the migrations.
          const store = lazyStore(conf, ctx.io.cwd);
          try {
            await watch({
              io: ctx.io,
              title: 'conductor tasks --state',
              source: `${maskUrlPassword(conf.get<string>('database', 'connection'))} (topic ${opts.topic})`,
              interval: opts.interval,
              format,
              fetch: async () =>
                stateFrame(await load(await store.get(), wallSeconds(ctx.io)), clsName, opts.topic),
            });
          } finally {
            await store.close();
          }
          return;
        }
        const out = await withStore(conf, ctx.io.cwd, (store) => load(store, wallSeconds(ctx.io)));
        if (format === 'json') {
          ctx.io.stdout.write(json(out));
        } else if (out.length === 0) {
          ctx.io.stdout.write(`no stored task states for ${clsName} on topic ${opts.topic}\n`);
        } else {
          const frame = stateFrame(out, clsName, opts.topic);
          ctx.io.stdout.write(
            table(
              [...frame.headers],
              frame.rows.map((r) => [...r.cells]),
            ),
          );
        }
        return;
      }
      if (format === 'json') {
        ctx.io.stdout.write(json(rows));
      } else if (rows.length === 0) {
        ctx.io.stdout.write(`${(cls as { name: string }).name} has no periodic tasks\n`);
      } else {
        ctx.io.stdout.write(
          table(
            ['name', 'spacing', 'run immediately', 'external ok', 'placement'],
            rows.map((r) => [
              r.declared ? r.name : `${r.name} (added by the constructor)`,
              String(r.spacing),
              r.runImmediately ? 'yes' : 'no',
              r.externalProcessOk ? 'yes' : 'no',
              r.placement,
            ]),
          ),
        );
      }
    });
}

/** Unix seconds now, from the injected wall clock. */
function wallSeconds(io: CliIo): number {
  return (io.now?.() ?? new Date()).getTime() / 1000;
}

/** The stored task states as a table (and a refresh of `tasks --watch --state`). */
function stateFrame(out: readonly TaskStateRow[], clsName: string, topic: string): WatchFrame {
  return {
    summary: `${out.length} stored state${out.length === 1 ? '' : 's'}`,
    headers: [
      'task',
      'scope',
      'last run',
      'next due',
      'lateness',
      'outcome',
      'runs',
      'missed',
      'skipped',
      'timeouts',
    ],
    rows: out.map((r) => ({
      key: `${r.task}\u0000${r.scope}`,
      cells: [
        r.task,
        r.scope,
        r.lastRun ?? '-',
        r.nextDue ?? '-',
        r.lateness === null ? '-' : `${r.lateness.toFixed(3)} s`,
        r.outcome ?? '-',
        String(r.runs),
        String(r.missed),
        String(r.skipped),
        String(r.timeouts),
      ],
      styles: [
        undefined,
        undefined,
        undefined,
        r.overdue > 0 ? 'yellow' : undefined,
        undefined,
        r.outcome === 'ok' ? 'green' : r.outcome ? 'red' : undefined,
      ],
    })),
    empty: `no stored task states for ${clsName} on topic ${topic}`,
    json: { states: out },
  };
}

/** A stored task state as `conductor tasks --state` shows it; times ISO-8601, lateness seconds. */
export interface TaskStateRow {
  readonly task: string;
  readonly scope: string;
  readonly lastRun: string | null;
  /** The stored last slot plus the task's spacing (cron: its next fire time), or null. */
  readonly nextDue: string | null;
  /** Last start minus last scheduled time. */
  readonly lateness: number | null;
  /** Seconds the next due time is behind now (0 when not overdue). */
  readonly overdue: number;
  readonly outcome: string | null;
  readonly error: string | null;
  readonly runs: number;
  readonly missed: number;
  readonly skipped: number;
  readonly timeouts: number;
}

function stateRow(st: TaskState, rows: readonly TaskRow[], cls: string, now: number): TaskStateRow {
  const name = st.task.slice(cls.length + 1);
  const spec = rows.find((r) => r.name === name);
  const iso = (t: number | null) => (t === null ? null : new Date(t * 1000).toISOString());
  let next: number | null = null;
  if (st.lastScheduled !== null && spec) {
    next = spec.cron === null ? st.lastScheduled + spec.spacing : null;
    if (spec.cron !== null) {
      next = CronSchedule.of(spec.cron, spec.timezone ?? undefined, 'conductor tasks').next(
        st.lastScheduled,
      );
    }
  }
  return {
    task: st.task,
    scope: st.scope,
    lastRun: iso(st.lastStart),
    nextDue: iso(next),
    lateness:
      st.lastStart !== null && st.lastScheduled !== null
        ? Math.max(0, st.lastStart - st.lastScheduled)
        : null,
    overdue: next === null ? 0 : Math.max(0, now - next),
    outcome: st.outcome,
    error: st.error,
    runs: st.runCount,
    missed: st.missedCount,
    skipped: st.skippedCount,
    timeouts: st.timeoutCount,
  };
}
