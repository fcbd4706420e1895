import { type Command, Option } from 'commander';
import { VirtualClock } from '../../core/index.js';
import { CronSchedule, type PeriodicTaskInfo, type TaskState } from '../../periodic/index.js';
import { json, table } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { UsageError } from '../io.js';
import { DEFAULT_MANAGER, DEFAULT_TOPIC } from '../manager.js';
import { withStore } from '../store.js';

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
        'list the periodic tasks of a manager class: name, spacing (seconds), run immediately, external process ok, placement',
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
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .addHelpText(
      'after',
      `
Nothing is started: the class is imported and a throwaway instance built on a virtual clock.

Examples:
  $ conductor tasks --manager ./dist/my-manager.js#MyManager
  $ conductor tasks --manager my-package/managers#VimMonitor --format json
  $ conductor tasks --state --config-file /etc/conductor/conductor.conf`,
    )
    .action(
      async (
        opts: { manager?: string; format: 'table' | 'json'; state?: boolean; topic: string },
        cmd: Command,
      ) => {
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
          const states = await withStore(conf, ctx.io.cwd, (store) =>
            store.taskStates.list({ service: opts.topic }),
          );
          const now = Date.now() / 1000;
          const out = states
            .filter((st) => st.task.startsWith(`${clsName}.`))
            .map((st) => stateRow(st, rows, clsName, now));
          if (opts.format === 'json') {
            ctx.io.stdout.write(json(out));
          } else if (out.length === 0) {
            ctx.io.stdout.write(`no stored task states for ${clsName} on topic ${opts.topic}\n`);
          } else {
            ctx.io.stdout.write(
              table(
                [
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
                out.map((r) => [
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
                ]),
              ),
            );
          }
          return;
        }
        if (opts.format === 'json') {
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
      },
    );
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
