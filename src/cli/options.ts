import { Conductor, conductorOptionSets, TACKER_DEFAULTS } from '../conductor/index.js';
import type { DefaultOverride, OptionSource } from '../config/index.js';
import { runnerOptions } from '../runner/index.js';
import type { ManagerClass } from '../service/index.js';

/**
 * What the `conductor` command's configuration knows, for every command and every manager: the
 * framework's options (`runnerOptions`), the conductor's (one `conductor.conf` serves the conductor
 * and whatever `--manager` runs beside it, and `vim`, `services` read its `[database]`) and the
 * manager's own.
 */
export function commandOptions(
  manager: Pick<ManagerClass, 'configOptions'> = Conductor,
): OptionSource {
  return runnerOptions(manager, conductorOptionSets);
}

/** The `conductor` command is Tacker's conductor: Tacker's defaults for framework options. */
export const COMMAND_DEFAULTS: readonly DefaultOverride[] = TACKER_DEFAULTS;
