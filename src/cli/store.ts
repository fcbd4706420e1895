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

/**
 * `[database] connection` opened on first use and kept (a live view refreshing every few seconds
 * would otherwise connect and check the migrations each time); a failed open is retried next use.
 */
export function lazyStore(
  conf: ConfigOpts,
  cwd: string,
): { get(): Promise<ConductorStore>; close(): Promise<void> } {
  let store: ConductorStore | undefined;
  return {
    async get() {
      store ??= await openStore(conf.get<string>('database', 'connection'), { cwd });
      return store;
    },
    async close() {
      await store?.close();
      store = undefined;
    },
  };
}
