/**
 * Throw-away `redis-server` processes for fault tests (kill one mid-run, start it again on the same
 * port), and free TCP ports. Every server started here is killed by {@link stopRedisServers}.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, reachable } from './services.js';

export { freePort };

/** True when a `redis-server` binary is on PATH. */
export function hasRedisServer(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every live server started here. */
const children = new Set<ChildProcess>();

/** A redis-server process on 127.0.0.1 without persistence (a restart starts empty). */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** True while the process runs. */
  readonly alive: boolean;
  /** Kills the process (SIGKILL by default: no goodbye to the clients) and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new process on the same port (after {@link kill}) and waits until it answers. */
  restart(): Promise<void>;
  /** Sends `signal` without waiting (SIGSTOP / SIGCONT: a server that stops answering). */
  signal(signal: NodeJS.Signals): void;
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  const until = Date.now() + 5000;
  while (!(await reachable(port, '127.0.0.1', 200))) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited at start`);
    if (Date.now() > until) throw new Error(`redis-server on port ${port} did not start`);
    await sleep(20);
  }
  return child;
}

async function killChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

/** Starts redis-server on `port` (default a free one) and waits until it accepts connections. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const at = port ?? (await freePort());
  let child = await spawnRedis(at);
  return {
    port: at,
    url: `redis://127.0.0.1:${at}`,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    kill: (signal: NodeJS.Signals = 'SIGKILL') => killChild(child, signal),
    signal: (signal: NodeJS.Signals) => void child.kill(signal),
    async restart() {
      await killChild(child, 'SIGKILL');
      child = await spawnRedis(at);
    },
  };
}

/** Kills every server started here that still runs. */
export async function stopRedisServers(): Promise<void> {
  await Promise.all([...children].map((c) => killChild(c, 'SIGKILL')));
}

/** Deletes every key of the Redis at `url` matching `match` (SCAN, then DEL in batches). */
export async function dropRedisKeys(url: string, match: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
