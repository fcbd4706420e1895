/**
 * Launchers in real child processes: signals, exit statuses, worker respawn and parent death.
 * The fixture (test/fixtures/launcher/service.mjs) imports the BUILT launcher from dist/.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/launcher/service.mjs');
const BUILT = join(ROOT, 'dist/src/service/launcher.js');

/** Builds dist/ when the launcher's build output is missing or older than its sources. */
function ensureBuilt(): void {
  const srcDir = join(ROOT, 'src/service');
  const sources = readdirSync(srcDir)
    .filter((f) => f.startsWith('launcher') && f.endsWith('.ts'))
    .map((f) => statSync(join(srcDir, f)).mtimeMs);
  const stale = !existsSync(BUILT) || statSync(BUILT).mtimeMs < Math.max(...sources);
  if (stale) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

interface Child {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the first match of `re` in the output (bounded by `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves once `re` has matched `count` times. */
  waitForCount(re: RegExp, count: number, timeoutMs?: number): Promise<RegExpMatchArray[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: Child[] = [];
const tempDirs: string[] = [];

function spawnFixture(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
    for (const w of [...waiters]) w();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForCount = (re: RegExp, count: number, timeoutMs = 8000) =>
    new Promise<RegExpMatchArray[]>((resolve, reject) => {
      const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
      const check = (): void => {
        const matches = [...out.matchAll(global)];
        if (matches.length >= count) {
          cleanup();
          resolve(matches);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${count}× ${re} in:\n${out}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const child: Child = {
    proc,
    output: () => out,
    waitForCount,
    waitFor: async (re, timeoutMs) => (await waitForCount(re, 1, timeoutMs))[0] as RegExpMatchArray,
    exited,
  };
  children.push(child);
  return child;
}

function tempConf(values: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'launcher-test-'));
  tempDirs.push(dir);
  const file = join(dir, 'conf.json');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/** True once `pid` no longer runs (gone, or a zombie nobody reaps). */
function gone(pid: number): boolean {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      return true;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((p) => !gone(p))) {
    if (Date.now() > deadline) throw new Error(`still running: ${pids.filter((p) => !gone(p))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every pid that printed a line, so afterEach can kill orphans too. */
function pidsOf(child: Child): number[] {
  return [...new Set([...child.output().matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

function kill(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const startedPid = (m: RegExpMatchArray): number => Number(m[1]);
const STARTED = /STARTED pid=(\d+) worker=(\S+) value=(\S+)/;

beforeAll(() => ensureBuilt(), 120_000);

afterEach(() => {
  for (const child of children.splice(0)) {
    for (const pid of pidsOf(child)) kill(pid);
    child.proc.kill('SIGKILL');
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('ServiceLauncher in a real process', () => {
  it('SIGTERM: graceful stop, exit status 0', async () => {
    const child = spawnFixture({});
    await child.waitFor(/STARTED/);
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(child.output()).toMatch(/STOPPING[^]*STOPPED[^]*EXIT status=0/);
    expect(child.output()).toContain('Caught SIGTERM, stopping gracefully');
  });

  it('SIGTERM with a stop longer than graceful_shutdown_timeout (1 s, from the config): exits 1 after ~1 s', async () => {
    const conf = tempConf({ value: 'one', graceful_shutdown_timeout: 1 });
    const child = spawnFixture({ FIXTURE_CONF: conf, FIXTURE_STOP_MS: '20000' });
    await child.waitFor(/STARTED/);
    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    const elapsed = Date.now() - t0;
    expect(code).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);
    expect(child.output()).toContain('Graceful shutdown timeout exceeded, instantaneous exiting');
    expect(child.output()).not.toContain('STOPPED');
    expect(child.output()).toContain('KILLED');
  });

  it('a failed start exits non-zero', async () => {
    const child = spawnFixture({ FIXTURE_FAIL_START: '1' });
    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(child.output()).toContain('Error starting service');
    expect(child.output()).toContain('fixture start failure');
  });

  it('SIGINT: graceful stop, exit status 0', async () => {
    const child = spawnFixture({});
    await child.waitFor(/STARTED/);
    child.proc.kill('SIGINT');
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(child.output()).toContain('STOPPED');
  });

  it('a second SIGINT during the shutdown exits at once with 130', async () => {
    const child = spawnFixture({ FIXTURE_STOP_MS: '20000', FIXTURE_TIMEOUT: '30' });
    await child.waitFor(/STARTED/);
    child.proc.kill('SIGINT');
    await child.waitFor(/STOPPING/);
    const t0 = Date.now();
    child.proc.kill('SIGINT');
    const { code } = await child.exited;
    expect(code).toBe(130);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(child.output()).toContain('KILLED');
    expect(child.output()).toContain('Caught SIGINT again, instantaneous exiting');
    expect(child.output()).not.toContain('STOPPED');
  });

  it('SIGHUP reloads the changed config file and restarts the service; the process keeps running', async () => {
    const conf = tempConf({ value: 'one' });
    const child = spawnFixture({ FIXTURE_CONF: conf });
    const first = await child.waitFor(STARTED);
    expect(first[3]).toBe('one');
    writeFileSync(conf, JSON.stringify({ value: 'two' }));
    child.proc.kill('SIGHUP');
    await child.waitFor(/STARTED pid=\d+ worker=- value=two/);
    const out = child.output();
    expect(out).toMatch(
      /RELOADED[^\n]*value=two[^]*STOPPING[^]*STOPPED[^]*RESET[^]*STARTED[^\n]*value=two/,
    );
    expect(child.proc.exitCode).toBeNull();
    expect(child.proc.signalCode).toBeNull();
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });
});

describe('ProcessLauncher (workers=2) in real processes', () => {
  it('forks two workers, respawns one killed with SIGKILL, and SIGTERM stops all with status 0', async () => {
    const child = spawnFixture({ FIXTURE_WORKERS: '2', FIXTURE_TIMEOUT: '5' });
    const started = await child.waitForCount(STARTED, 2);
    const workers = started.map(startedPid);
    expect(new Set(workers).size).toBe(2);
    expect(workers).not.toContain(child.proc.pid);
    expect(started.map((m) => m[2]).sort()).toEqual(['0', '1']);

    const victim = workers[0] as number;
    kill(victim, 'SIGKILL');
    await child.waitFor(new RegExp(`Child ${victim} killed by signal SIGKILL`));
    const all = await child.waitForCount(STARTED, 3);
    const replacement = startedPid(all[2] as RegExpMatchArray);
    expect(workers).not.toContain(replacement);
    expect(child.output()).toContain(`Started child ${replacement}`);

    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(child.output()).toContain(`EXIT status=0 pid=${child.proc.pid} worker=-`);
    await waitGone([workers[1] as number, replacement], 3000);
  });

  it('SIGHUP reloads in the primary and restarts the workers, which read the new config', async () => {
    const conf = tempConf({ value: 'one' });
    const child = spawnFixture({ FIXTURE_WORKERS: '2', FIXTURE_CONF: conf, FIXTURE_TIMEOUT: '5' });
    const before = (await child.waitForCount(STARTED, 2)).map(startedPid);
    writeFileSync(conf, JSON.stringify({ value: 'two' }));
    child.proc.kill('SIGHUP');
    const fresh = await child.waitForCount(/STARTED pid=(\d+) worker=\S+ value=two/, 2);
    for (const m of fresh) expect(before).not.toContain(startedPid(m));
    expect(child.output()).toMatch(new RegExp(`RELOADED pid=${child.proc.pid} worker=-`));
    await waitGone(before, 3000);
    expect(child.proc.exitCode).toBeNull();
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });

  it('workers that die at once are throttled ("Forking too fast, sleeping")', async () => {
    const child = spawnFixture({ FIXTURE_WORKERS: '2', FIXTURE_FAIL_START: '1' });
    await child.waitFor(/Forking too fast, sleeping/, 10_000);
    expect(child.output()).toMatch(/Child \d+ exited with status 1/);
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).not.toBeNull();
  });

  it('workers exit by themselves when the primary is killed with SIGKILL', async () => {
    const child = spawnFixture({ FIXTURE_WORKERS: '2', FIXTURE_TIMEOUT: '5' });
    const workers = (await child.waitForCount(STARTED, 2)).map(startedPid);
    child.proc.kill('SIGKILL');
    await child.exited;
    await child.waitForCount(/Parent process has died unexpectedly, exiting/, 2, 5000);
    await waitGone(workers, 5000);
    for (const pid of workers) {
      expect(child.output()).toMatch(new RegExp(`STOPPED pid=${pid}`));
      expect(child.output()).toMatch(new RegExp(`EXIT status=1 pid=${pid}`));
    }
  });
});
