import { Conductor } from '../conductor/index.js';
import { type AnyClass, importClass } from '../service/index.js';

/** The manager `conductor run` and `conductor tasks` use without `--manager`: the Tacker conductor. */
export const DEFAULT_MANAGER = 'conductor-ts/conductor#Conductor';

/** The default topic of `conductor run` (Tacker's `topics.TOPIC_CONDUCTOR`). */
export const DEFAULT_TOPIC = 'TACKER_CONDUCTOR';

/**
 * Loads the manager class named by `--manager` (`module#Class`, a file path relative to `cwd` or a
 * package specifier), or the {@link Conductor} ({@link DEFAULT_MANAGER}) when none was given. A path
 * that cannot be imported throws `ImportClassError` naming what is missing.
 */
export async function loadManagerClass(path: string | undefined, cwd: string): Promise<AnyClass> {
  return path === undefined ? Conductor : importClass(path, cwd);
}
