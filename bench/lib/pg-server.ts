/**
 * Throw-away PostgreSQL clusters for fault tests and benches: `initdb` into a temporary directory and
 * a `postgres` process of its own on a free port of 127.0.0.1 (its Unix socket in the same
 * directory), so that stopping, killing or restarting it never touches the machine's server that
 * other test files use at the same time. Run as root, the cluster belongs to the `postgres` user
 * (initdb and postgres refuse root). Trust authentication, user `postgres`, database `postgres`;
 * `fsync` off (a restart loses nothing that reached the kernel; only an OS crash would). Creating one
 * takes about 1–2 s. Every cluster made here is removed by {@link stopPgServers}, and killed when
 * the process exits.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

/** Where Debian's PostgreSQL binaries are; `CONDUCTOR_TEST_PG_BIN` overrides it. */
export const PG_BIN = process.env['CONDUCTOR_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** True when `initdb` and `postgres` are installed in {@link PG_BIN}. */
export function hasPgServer(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'postgres'));
}

/** How a running server is stopped: `pg_ctl stop -m <mode>` (the signal the postmaster gets). */
export type PgStopMode = 'smart' | 'fast' | 'immediate';

const STOP_SIGNAL: Record<PgStopMode, NodeJS.Signals> = {
  smart: 'SIGTERM',
  fast: 'SIGINT',
  immediate: 'SIGQUIT',
};

/** A private PostgreSQL cluster on 127.0.0.1. */
export interface PgServer {
  readonly port: number;
  /** `postgresql://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** The data directory (the server's log is `<dir>/server.log`). */
  readonly dir: string;
  /** True while the postmaster runs. */
  readonly running: boolean;
  /** The postmaster's process id while it runs. */
  readonly pid: number | undefined;
  /** Starts the postmaster (when stopped) and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops the postmaster the way `pg_ctl stop -m <mode>` does (default `fast`) and waits for its exit. */
  stop(mode?: PgStopMode): Promise<void>;
  /** {@link stop}, then {@link start}. */
  restart(mode?: PgStopMode): Promise<void>;
  /**
   * SIGKILL of the postmaster alone (its backends notice and exit on their own) and waits for its
   * exit. The next {@link start} recovers from the WAL, as after a crash.
   */
  kill(): Promise<void>;
  /** The last `bytes` of the server's log. */
  logTail(bytes?: number): string;
  /** Stops the server (immediate) and deletes its directory. */
  destroy(): Promise<void>;
}

/** Options of {@link startPgServer}. */
export interface PgServerOptions {
  /** More `-c name=value` settings for the postmaster. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** How long {@link PgServer.start} waits for the server to accept connections; default 30 s. */
  readonly startTimeoutMs?: number;
}

const servers = new Set<PgServer>();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The `postgres` user's ids when running as root (initdb and postgres refuse root), else none. */
function pgOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0)
    throw new Error('running as root, but there is no postgres user to run PostgreSQL as');
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** True when a connection to `url` answers `select 1` now. */
async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined); // a server going away under the probe is an answer too
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Stops every cluster still running (immediately) and removes their directories. */
export async function stopPgServers(): Promise<void> {
  await Promise.all([...servers].map((s) => s.destroy()));
}

// A cluster outliving this process would hold its port and directory: kill what is left at exit.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Creates a cluster (`initdb`) in a new temporary directory and starts it on a free port; resolves
 * once it accepts connections.
 */
export async function startPgServer(options: PgServerOptions = {}): Promise<PgServer> {
  const owner = pgOwner();
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const dir = mkdtempSync(join(tmpdir(), `pg-server-${process.pid}-`));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };
  const init = spawnSync(
    join(PG_BIN, 'initdb'),
    [
      '-D',
      dir,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ],
    { ...ids, env, encoding: 'utf8', cwd: dir, timeout: 60_000 },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (status ${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const logPath = join(dir, 'server.log');
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: dir,
    fsync: 'off',
    full_page_writes: 'off',
    shared_buffers: '16MB',
    max_connections: 40,
    max_wal_senders: 0,
    wal_level: 'minimal',
    ...options.settings,
  };
  const args = ['-D', dir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const spawnPostmaster = (): ChildProcess => {
    const log = openSync(logPath, 'a');
    const c = spawn(join(PG_BIN, 'postgres'), args, {
      ...ids,
      env,
      cwd: dir,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    live.add(c);
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.once('exit', () => live.delete(c));
    return c;
  };
  const isRunning = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null;
  const logTail = (bytes = 2000): string => {
    try {
      return readFileSync(logPath, 'utf8').slice(-bytes);
    } catch {
      return '(no log)';
    }
  };

  const start = async (): Promise<void> => {
    if (isRunning(child)) return;
    const until = Date.now() + startTimeoutMs;
    // After a SIGKILL of the postmaster its backends may still hold the shared memory for a moment:
    // the new postmaster then refuses to start, and is started again.
    for (;;) {
      const c = spawnPostmaster();
      child = c;
      while (isRunning(c)) {
        if (await answers(url)) return;
        if (Date.now() > until) break;
        await sleep(25);
      }
      if (Date.now() > until) {
        c.kill('SIGKILL');
        throw new Error(`PostgreSQL on port ${port} did not start:\n${logTail()}`);
      }
      await sleep(50);
    }
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (!isRunning(child)) return;
    const done = exited;
    child.kill(signal);
    await done;
  };

  let destroyed = false;
  const server: PgServer = {
    port,
    url,
    dir,
    get running() {
      return isRunning(child);
    },
    get pid() {
      return isRunning(child) ? child.pid : undefined;
    },
    start,
    stop: (mode: PgStopMode = 'fast') => stopWith(STOP_SIGNAL[mode]),
    async restart(mode: PgStopMode = 'fast') {
      await stopWith(STOP_SIGNAL[mode]);
      await start();
    },
    kill: () => stopWith('SIGKILL'),
    logTail,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      servers.delete(server);
      await stopWith('SIGQUIT');
      // Backends orphaned by a SIGKILL exit by themselves; wait a little for them before removing.
      for (let i = 0; i < 40 && existsSync(join(dir, 'postmaster.pid')); i++) await sleep(25);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  servers.add(server);
  try {
    await start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}
