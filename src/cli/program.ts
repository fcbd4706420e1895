import { Command, CommanderError } from 'commander';
import {
  ConductorError,
  ConfigValidationError,
  ConfigValueError,
  ImportClassError,
  NoSuchOptError,
  NotAManagerError,
  toError,
} from '../core/index.js';
import { addConfigCommand } from './commands/config.js';
import { addMembersCommand } from './commands/members.js';
import { addRpcCommand } from './commands/rpc.js';
import { addRunCommand } from './commands/run.js';
import { addServicesCommand } from './commands/services.js';
import { addTasksCommand } from './commands/tasks.js';
import { addVimCommand } from './commands/vim.js';
import { oneLine } from './format.js';
import { addGlobalOptions, type CliContext } from './globals.js';
import { type CliIo, EXIT, UsageError } from './io.js';
import { packageVersion } from './version.js';

/**
 * Builds the `conductor` program. Global options are accepted before the command
 * (`conductor --debug run`) and after it (`conductor run --debug`); the program's own options are
 * positional, so that `rpc call --version 1.2` is the RPC version, not the program's `--version`.
 * Every exit goes through {@link CommanderError} (exitOverride) and all output through `ctx.io`.
 */
export function buildProgram(ctx: CliContext): Command {
  const { io } = ctx;
  const program = new Command('conductor');
  program
    .description(
      'Run and talk to oslo.messaging-compatible services: the TypeScript tacker-conductor.',
    )
    .version(packageVersion(), '--version', 'print the version and exit')
    .helpOption('-h, --help', 'print help and exit')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: (s, write) => write(`conductor: ${oneLine(s.replace(/^error: /, ''))}\n`),
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Exit status: 0 ok, 1 runtime failure (remote error, failed start, shutdown overrun), 2 usage error.

Examples:
  $ conductor run --config-file /etc/conductor/conductor.conf
  $ conductor vim register --name site-a --auth-url http://keystone.site-a:5000/v3
  $ conductor vim list
  $ conductor services
  $ conductor members --set coordination.backend_url=redis://127.0.0.1:6379
  $ conductor config show --config-file /etc/tacker/tacker.conf --set DEFAULT.debug=true
  $ conductor rpc call --topic TACKER_CONDUCTOR update_vim vim_id=6261579e status=REACHABLE
  $ conductor tasks --manager ./dist/my-manager.js#MyManager --format json`,
    );
  addGlobalOptions(program);
  addRunCommand(program, ctx);
  addConfigCommand(program, ctx);
  addRpcCommand(program, ctx);
  addTasksCommand(program, ctx);
  addVimCommand(program, ctx);
  addServicesCommand(program, ctx);
  addMembersCommand(program, ctx);
  return program;
}

/** A configuration error caused by the command line itself (`--set`, `--host`, ...). */
function fromCommandLine(err: unknown): boolean {
  const cli = (where: string): boolean => where.startsWith('command-line option');
  if (err instanceof ConfigValueError) return cli(err.location);
  if (err instanceof NoSuchOptError) return cli(err.message);
  if (err instanceof ConfigValidationError) return err.problems.every(cli);
  return false;
}

/** Prints `err` (one line unless it is a multi-line ConductorError message) and gives its status. */
function report(err: unknown, ctx: CliContext): number {
  const { stderr } = ctx.io;
  if (err instanceof CommanderError) {
    // commander has printed its message (outputError) or the help/version already.
    return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (err instanceof UsageError) {
    stderr.write(`conductor: ${oneLine(err.message)}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof ImportClassError || err instanceof NotAManagerError || fromCommandLine(err)) {
    stderr.write(`conductor: ${oneLine((err as Error).message)}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof ConductorError) {
    stderr.write(`conductor: ${err.message}\n`);
    if (ctx.debug && err.stack) stderr.write(`${err.stack}\n`);
    return EXIT.FAILURE;
  }
  const e = toError(err);
  stderr.write(
    `conductor: ${e.name}: ${oneLine(e.message)}${ctx.debug ? '' : ' (run with --debug for the stack trace)'}\n`,
  );
  if (ctx.debug && e.stack) stderr.write(`${e.stack}\n`);
  return EXIT.FAILURE;
}

/**
 * Runs the `conductor` command with `argv` (without the node and script paths), then calls
 * `io.exit(status)` and returns the status. Anything not given in `io` is the process's own.
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    exit: io.exit ?? ((code: number) => process.exit(code)),
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    logStream: io.logStream,
    signalTarget: io.signalTarget,
  };
  const ctx: CliContext = { io: full, debug: false, exitCode: EXIT.OK };
  let status: number;
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    status = ctx.exitCode;
  } catch (err) {
    status = report(err, ctx);
  }
  full.exit(status);
  return status;
}
