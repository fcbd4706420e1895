import { type Command, InvalidArgumentError } from 'commander';
import { type ConfigOpts, createConfig } from '../config/index.js';
import { getLogger, type Logger } from '../core/index.js';
import type { CliIo } from './io.js';
import type { AnyClass, ManagerClass } from '../service/index.js';
import { setupLogging } from './logging.js';
import { loadManagerClass } from './manager.js';
import { COMMAND_DEFAULTS, commandOptions } from './options.js';

/** The options every command takes (on the program before the command, or on the command). */
export interface GlobalOptions {
  /** `--config-file`, in order. */
  readonly configFiles: readonly string[];
  /** `--config-dir`. */
  readonly configDir: string | undefined;
  /** `--debug`. */
  readonly debug: boolean;
  /** `--set section.option=value`, in order (a later one wins). */
  readonly set: readonly (readonly [string, string])[];
}

/** State shared by the program and its commands during one run. */
export interface CliContext {
  readonly io: CliIo;
  /** Set once the options are parsed: print stack traces of unexpected errors. */
  debug: boolean;
  /** The exit status the command's action chose (default 0). */
  exitCode: number;
}

const collect = (value: string, previous: readonly string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** Parses one `--set section.option=value`. */
export function parseSet(
  value: string,
  previous: readonly (readonly [string, string])[] | undefined = [],
): [string, string][] {
  const eq = value.indexOf('=');
  const key = eq < 0 ? '' : value.slice(0, eq).trim();
  if (eq < 0 || key === '') {
    throw new InvalidArgumentError(
      "expected section.option=value (or option=value for [DEFAULT]), e.g. 'DEFAULT.report_interval=5'",
    );
  }
  return [...previous.map((p) => [p[0], p[1]] as [string, string]), [key, value.slice(eq + 1)]];
}

/** Adds the global options to `cmd`. */
export function addGlobalOptions(cmd: Command): Command {
  return cmd
    .option(
      '--config-file <file>',
      'an INI config file to read (repeatable; later files win)',
      collect,
    )
    .option(
      '--config-dir <dir>',
      'a directory whose *.conf files are read, sorted by name, after the config files',
    )
    .option('--debug', 'log at debug level; print stack traces of unexpected errors')
    .option(
      '--set <section.option=value>',
      'set a config option (repeatable); wins over files and CONDUCTOR_<SECTION>__<OPTION> variables',
      parseSet,
    );
}

/** The global options given to `cmd` and its parents, merged (lists concatenated, later wins). */
export function globalOptions(cmd: Command): GlobalOptions {
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
  const configFiles: string[] = [];
  const set: (readonly [string, string])[] = [];
  let configDir: string | undefined;
  let debug = false;
  for (const c of chain) {
    const o = c.opts<{
      configFile?: string[];
      configDir?: string;
      debug?: boolean;
      set?: [string, string][];
    }>();
    if (Array.isArray(o.configFile)) configFiles.push(...o.configFile);
    if (Array.isArray(o.set)) set.push(...o.set);
    if (typeof o.configDir === 'string') configDir = o.configDir;
    if (o.debug === true) debug = true;
  }
  return { configFiles, configDir, debug, set };
}

/** Options of {@link prepare}. */
export interface PrepareOptions {
  /** Where log lines go when `io.logStream` is not set: 1 (stdout) or 2 (stderr). */
  readonly logFd: 1 | 2;
  /** Level without `--debug` / `CONDUCTOR_LOG_LEVEL`. */
  readonly defaultLevel: string;
  /** Command-line config values from the command's own options; `--set` wins over them. */
  readonly cli?: Readonly<Record<string, string>>;
  /**
   * Import the manager named by `--manager` (`path`; the conductor when undefined) once logging is
   * set up, and register its own options beside the command's (`run`, `tasks`).
   */
  readonly manager?: { readonly path: string | undefined };
}

/** What a command works with. */
export interface Session {
  readonly conf: ConfigOpts;
  readonly logger: Logger;
  readonly globals: GlobalOptions;
  /** The class `--manager` named, when {@link PrepareOptions.manager} asked for it. */
  readonly manager: AnyClass | undefined;
}

/**
 * Sets up logging (the root logger) and loads the configuration: defaults < config files < config
 * dir < environment < command line (the command's own options, then `--set`).
 */
export async function prepare(
  cmd: Command,
  ctx: CliContext,
  options: PrepareOptions,
): Promise<Session> {
  const globals = globalOptions(cmd);
  ctx.debug = globals.debug;
  const logger = await setupLogging({
    debug: globals.debug,
    defaultLevel: options.defaultLevel,
    env: ctx.io.env,
    destination: ctx.io.logStream ?? options.logFd,
  });
  const cli: Record<string, string> = { ...options.cli };
  for (const [key, value] of globals.set) cli[key] = value;
  const manager = options.manager
    ? await loadManagerClass(options.manager.path, ctx.io.cwd)
    : undefined;
  const conf = createConfig({
    logger: getLogger('config'),
    options: commandOptions(manager as Pick<ManagerClass, 'configOptions'> | undefined),
  });
  for (const d of COMMAND_DEFAULTS) conf.setDefault(d.section, d.name, d.value);
  await conf.load({
    configFiles: globals.configFiles,
    ...(globals.configDir !== undefined ? { configDir: globals.configDir } : {}),
    env: ctx.io.env,
    cli,
  });
  // `[DEFAULT] debug = true` in the configuration raises the level too (never lowers it).
  if (
    conf.getDefault<boolean>('debug') &&
    logger.levelVal > (logger.levels.values['debug'] ?? 20)
  ) {
    logger.level = 'debug';
    ctx.debug = true;
  }
  return { conf, logger, globals, manager };
}
