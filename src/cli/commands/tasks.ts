import { type Command, Option } from 'commander';
import { VirtualClock } from '../../core/index.js';
import type { PeriodicTaskInfo } from '../../periodic/index.js';
import { json, table } from '../format.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { UsageError } from '../io.js';
import { DEFAULT_MANAGER } from '../manager.js';

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
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .addHelpText(
      'after',
      `
Nothing is started: the class is imported and a throwaway instance built on a virtual clock.

Examples:
  $ conductor tasks --manager ./dist/my-manager.js#MyManager
  $ conductor tasks --manager my-package/managers#VimMonitor --format json`,
    )
    .action(async (opts: { manager?: string; format: 'table' | 'json' }, cmd: Command) => {
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
    });
}
