import { getLogger } from '../core/index.js';
import { type AnyClass, importClass } from '../service/index.js';
import { UsageError } from './io.js';

/**
 * The manager `conductor run` and `conductor tasks` use without `--manager`: the Tacker conductor.
 * It does not exist yet; while importing it fails, those commands ask for `--manager`.
 */
export const DEFAULT_MANAGER = 'conductor-ts/conductor#Conductor';

/** The default topic of `conductor run` (Tacker's `topics.TOPIC_CONDUCTOR`). */
export const DEFAULT_TOPIC = 'TACKER_CONDUCTOR';

/**
 * Loads the manager class named by `--manager` (`module#Class`, a file path relative to `cwd` or a
 * package specifier), or the {@link DEFAULT_MANAGER} when none was given. A default that cannot be
 * imported is a {@link UsageError} asking for `--manager`; an explicit path that cannot be imported
 * throws `ImportClassError` naming what is missing.
 */
export async function loadManagerClass(path: string | undefined, cwd: string): Promise<AnyClass> {
  if (path !== undefined) return importClass(path, cwd);
  try {
    return await importClass(DEFAULT_MANAGER, cwd);
  } catch (err) {
    getLogger('cli').debug({ err }, `Cannot import the default manager ${DEFAULT_MANAGER}`);
    throw new UsageError(
      `the default manager ${DEFAULT_MANAGER} is not available in this version; pass --manager module#Class (e.g. --manager ./dist/my-manager.js#MyManager)`,
    );
  }
}
