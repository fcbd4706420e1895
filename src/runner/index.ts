/**
 * `conductor-ts/runner`: the composition root of a service process — the options it reads
 * (`runnerOptions`, `runnerConfig`) and `runService`, which wires a manager into a `Service`, an
 * ops endpoint and a launcher. `conductor run` calls it; so can an embedder. Imports ops, service,
 * messaging, config and core; nothing below imports it.
 * @packageDocumentation
 */
export { runService, type RunServiceOptions } from './run.js';
export { runnerOptions, runnerConfig, type RunnerConfigOptions } from './options.js';
