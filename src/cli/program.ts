import { type AddHelpTextContext, Command, CommanderError } from 'commander';
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
  // commander answers a command that needs a sub-command (`conductor rpc`, bare `conductor`) with
  // the whole help on stderr; a one-line usage error instead (`--help` is not an error: unchanged).
  program.on('beforeAllHelp', (context: AddHelpTextContext) => {
    if (context.error && context.command.commands.length > 0) {
      throw missingCommand(context.command);
    }
  });
  return program;
}

/** `a, b or c`. */
function orList(names: readonly string[]): string {
  return names.length <= 1
    ? names.join('')
    : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1] ?? ''}`;
}

/**
 * The usage error for `cmd` given without a sub-command (`rpc needs a command: call or cast (see
 * conductor rpc --help)`), or with an unknown one after `help` (`conductor help frob`).
 */
function missingCommand(cmd: Command): UsageError {
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  const see = `(see ${path.join(' ')} --help)`;
  const [first, second] = cmd.args;
  if (first === 'help' && second !== undefined) {
    return new UsageError(`unknown command '${second}' ${see}`);
  }
  const names = cmd
    .createHelp()
    .visibleCommands(cmd)
    .map((c) => c.name())
    .filter((name) => name !== 'help');
  const what = cmd.parent ? `${path.slice(1).join(' ')} needs a command` : 'missing command';
  return new UsageError(`${what}: ${orList(names)} ${see}`);
}

/** The location every value from the command line (`--set`, `--host`, ...) is reported with. */
const COMMAND_LINE = 'command-line option';

/**
 * True when a ConfigValidationError problem is the command line's doing: a range or choice problem
 * located at a command-line option, or a cross-field rule whose values (`(from ...)`) all come from
 * the command line or the defaults, at least one from the command line.
 */
function problemFromCommandLine(problem: string): boolean {
  if (problem.startsWith(COMMAND_LINE)) return true;
  const sources = [...problem.matchAll(/\(from ([^)]*)\)/g)].map((m) => m[1] ?? '');
  return (
    sources.some((s) => s.startsWith(COMMAND_LINE)) &&
    sources.every((s) => s.startsWith(COMMAND_LINE) || s === 'default')
  );
}

/** A configuration error caused by the command line itself (`--set`, `--host`, ...). */
function fromCommandLine(err: unknown): boolean {
  const cli = (where: string): boolean => where.startsWith(COMMAND_LINE);
  if (err instanceof ConfigValueError) return cli(err.location);
  if (err instanceof NoSuchOptError) return cli(err.message);
  if (err instanceof ConfigValidationError) return err.problems.every(problemFromCommandLine);
  return false;
}

/**
 * The one-line form of an error: a ConfigValidationError's problems joined with `; ` (its own
 * message has one `  - ...` line per problem), any other message with its newlines folded.
 */
function errorLine(err: Error): string {
  if (err instanceof ConfigValidationError) {
    const n = err.problems.length;
    return oneLine(
      `Invalid configuration (${String(n)} problem${n === 1 ? '' : 's'}): ${err.problems.join('; ')}`,
    );
  }
  return oneLine(err.message);
}

/**
 * Prints `err` as one line `conductor: ...` on stderr (with `--debug`, the stack of an error that
 * is not a usage error follows) and gives its status: 2 for a usage error (including a bad value
 * given on the command line), 1 otherwise.
 */
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
    stderr.write(`conductor: ${errorLine(err as Error)}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof ConductorError) {
    stderr.write(`conductor: ${errorLine(err)}\n`);
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
    stdin: io.stdin,
    clock: io.clock,
    now: io.now,
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
