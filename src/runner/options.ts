import {
  type ConfigOpts,
  createConfig,
  type DefaultOverride,
  type OptionSource,
} from '../config/index.js';
import type { Logger } from '../core/index.js';
import { opsOptions } from '../ops/index.js';
import { type ManagerClass, serviceProcessOptions } from '../service/index.js';

/**
 * Every option a runner process reads, in registration order (oslo's `list_opts()`): the service
 * process's (service, periodic tasks, messaging, the RabbitMQ driver), the ops endpoint's, then
 * the manager's own (`static configOptions`) and `extra`.
 */
export function runnerOptions(
  manager?: Pick<ManagerClass, 'configOptions'>,
  extra: OptionSource = [],
): OptionSource[] {
  return [...serviceProcessOptions, opsOptions, manager?.configOptions ?? [], extra];
}

/** Options of {@link runnerConfig}. */
export interface RunnerConfigOptions {
  /** Options to register beside {@link runnerOptions}. */
  readonly extra?: OptionSource;
  /** Defaults the application sets for framework options. */
  readonly defaults?: readonly DefaultOverride[];
  /** Receives the configuration's warnings. */
  readonly logger?: Logger;
}

/**
 * A configuration (not loaded yet) with every option of a runner for `manager` registered and the
 * application's defaults applied: `await conf.load({ configFiles })`, then {@link runService}.
 */
export function runnerConfig(
  manager?: Pick<ManagerClass, 'configOptions'>,
  options: RunnerConfigOptions = {},
): ConfigOpts {
  const conf = createConfig({
    ...(options.logger ? { logger: options.logger } : {}),
    options: runnerOptions(manager, options.extra),
  });
  for (const d of options.defaults ?? []) conf.setDefault(d.section, d.name, d.value);
  return conf;
}
