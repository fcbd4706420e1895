/**
 * `conductor-ts/cli`: the `conductor` command, buildable and runnable in-process (tests, embedding).
 * The executable is `main.ts`.
 * @packageDocumentation
 */
export { buildProgram, runCli } from './program.js';
export { type CliIo, type OutputStream, EXIT, UsageError } from './io.js';
export { type CliContext, type GlobalOptions, parseSet } from './globals.js';
export { setupLogging, logLevel, type CliLoggingOptions } from './logging.js';
export { DEFAULT_MANAGER, DEFAULT_TOPIC, loadManagerClass } from './manager.js';
export { parseParams, parseValue, describeRpcError } from './commands/rpc.js';
export { listTasks, type TaskRow } from './commands/tasks.js';
export { serviceOptionsFromConfig } from '../service/index.js';
export { commandOptions, COMMAND_DEFAULTS } from './options.js';
