import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** A temp dir per test, removed afterwards; `write(name, text)` returns the absolute path. */
export function useTmpDir(): {
  dir: () => string;
  write: (name: string, text: string) => Promise<string>;
  mkdir: (name: string) => Promise<string>;
} {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  const current = async (): Promise<string> => {
    if (dirs.length === 0) dirs.push(await mkdtemp(join(tmpdir(), 'conductor-config-')));
    return dirs[dirs.length - 1] as string;
  };
  return {
    dir: () => {
      const d = dirs[dirs.length - 1];
      if (d === undefined) throw new Error('no temp dir yet: write() first');
      return d;
    },
    write: async (name, text) => {
      const path = join(await current(), name);
      await writeFile(path, text);
      return path;
    },
    mkdir: async (name) => {
      const path = join(await current(), name);
      await mkdir(path, { recursive: true });
      return path;
    },
  };
}
