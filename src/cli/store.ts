import { type ConductorStore, openStore } from '../conductor/index.js';
import type { ConfigOpts } from '../config/index.js';

/** Opens `[database] connection` (applying migrations), runs `work`, closes the store. */
export async function withStore<T>(
  conf: ConfigOpts,
  cwd: string,
  work: (store: ConductorStore) => Promise<T>,
): Promise<T> {
  const store = await openStore(conf.get<string>('database', 'connection'), { cwd });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
