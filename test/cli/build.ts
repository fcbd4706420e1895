import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const BUILT = join(ROOT, 'dist/src/cli/main.js');
/** Held (a directory: mkdir is atomic) while one test file builds; the others wait. */
const LOCK = join(ROOT, 'dist/.cli-test-build.lock');

/** The newest mtime of the .ts files under `dir`. */
function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) max = Math.max(max, newest(path));
    else if (entry.name.endsWith('.ts')) max = Math.max(max, statSync(path).mtimeMs);
  }
  return max;
}

function stale(): boolean {
  return (
    !existsSync(BUILT) ||
    !existsSync(join(ROOT, 'dist/src/service/index.js')) ||
    statSync(BUILT).mtimeMs < newest(join(ROOT, 'src'))
  );
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds dist/ (`npm run build`) when the built CLI is missing or older than its sources
 * (src). Test files running in parallel build once: the others wait for the lock.
 */
export function ensureBuilt(): void {
  if (!stale()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than the longest build was left by a killed run: take it over.
      const age = existsSync(LOCK) ? Date.now() - statSync(LOCK).mtimeMs : 0;
      if (age > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
      sleepSync(100);
    }
  }
  try {
    if (stale()) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
