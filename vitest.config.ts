import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = fileURLToPath(new URL('./src/', import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^conductor-ts$/, replacement: `${src}index.ts` },
      { find: /^conductor-ts\/(.*)$/, replacement: `${src}$1/index.ts` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Log lines go to memory and are printed only for a failing test (see the file).
    setupFiles: ['test/setup/quiet-logs.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 20_000,
    reporters: ['default'],
  },
});
