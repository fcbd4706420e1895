/**
 * Helpers shared by the coordination benchmark and its child processes: a wall clock with
 * sub-millisecond resolution that agrees across processes, child processes over IPC, a private
 * `redis-server`, Redis counters (`INFO`), and cleanup of a run's keys and tables.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, reachable } from '../lib/ports.js';
import { mulberry32 } from '../lib/random.js';

/** Milliseconds since the Unix epoch, fractional: comparable between processes of one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export const progress = (msg: string): void =>
  void process.stderr.write(`[bench:coordination] ${msg}\n`);

const HERE = dirname(fileURLToPath(import.meta.url));

/** A message a child sends over IPC: `type` plus anything. */
export interface ChildMessage {
  readonly type: string;
  readonly [key: string]: unknown;
}

interface Waiter {
  readonly match: (m: ChildMessage) => boolean;
  readonly resolve: (m: ChildMessage) => void;
}

/** A child process of this folder (its built `.js`), with its messages queued. */
export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly #waiters: Waiter[] = [];
  readonly exited: Promise<number | null>;
  #onMessage: ((m: ChildMessage) => void) | undefined;

  constructor(name: string, script: string, env: Record<string, string>) {
    this.name = name;
    this.proc = fork(join(HERE, script), [], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: [],
    });
    live.add(this.proc);
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code) => {
        live.delete(this.proc);
        resolve(code);
      }),
    );
    this.proc.on('message', (raw) => {
      const m = raw as ChildMessage;
      this.#onMessage?.(m);
      for (let i = 0; i < this.#waiters.length; i++) {
        const w = this.#waiters[i] as Waiter;
        if (w.match(m)) {
          this.#waiters.splice(i, 1);
          w.resolve(m);
          break;
        }
      }
    });
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Every message, as it arrives (one listener). */
  onMessage(fn: (m: ChildMessage) => void): void {
    this.#onMessage = fn;
  }

  /** The next message of `type` (and matching `match`), or a rejection after `timeoutMs`. */
  next(type: string, timeoutMs = 30_000, match: (m: ChildMessage) => boolean = () => true) {
    return new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${String(code)}) while waiting for '${type}'`));
      };
      this.proc.once('exit', onExit);
      this.#waiters.push({
        match: (m) => m.type === type && match(m),
        resolve: (m) => {
          clearTimeout(timer);
          this.proc.off('exit', onExit);
          resolve(m);
        },
      });
    });
  }

  send(message: Record<string, unknown>): void {
    this.proc.send(message);
  }

  /** SIGKILL (a crash: nothing released, no goodbye) and wait for the exit. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Asks the child to stop (`{cmd: 'stop'}`), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    this.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Every child still running, killed when this process exits. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** In a child: sends `message` to the parent (dropped when the channel is gone). */
export function tell(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

/** In a child: sends `message`, then exits once it is on its way. */
export function tellAndExit(message: ChildMessage, code = 0): void {
  if (process.connected && process.send) process.send(message, () => process.exit(code));
  else process.exit(code);
}

/** In a child: calls `handler` for every command of the parent; exits when the parent goes. */
export function onCommand(handler: (m: { cmd: string; [k: string]: unknown }) => unknown): void {
  process.on('message', (m) => void handler(m as { cmd: string }));
  process.on('disconnect', () => process.exit(0));
}

/** Reads an environment variable a child needs. */
export function env(name: string): string {
  const v = process.env[name];
  if (v === undefined) throw new Error(`missing environment variable ${name}`);
  return v;
}

// ---- Redis -------------------------------------------------------------------------------------

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A `redis-server` of this run on a free port, no persistence; `stop()` ends it (by its pid). */
export async function startPrivateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  live.add(proc);
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      live.delete(proc);
      resolve();
    }),
  );
  const until = Date.now() + 5000;
  while (!(await reachable(port, '127.0.0.1', 200))) {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited at start`);
    if (Date.now() > until) throw new Error(`redis-server on port ${port} did not start`);
    await sleep(20);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** What `INFO` counts, at one moment. */
export interface RedisCounters {
  /** Commands processed, those run inside scripts included. */
  readonly commands: number;
  /** Calls per command (`INFO commandstats`), inside scripts included. */
  readonly calls: Readonly<Record<string, number>>;
  /** CPU seconds of the server process (user + sys). */
  readonly cpu: number;
  readonly connections: number;
}

export async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const text = await redis.info('all');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const calls: Record<string, number> = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    calls[m[1] as string] = Number(m[2]);
  return {
    commands: field('total_commands_processed'),
    calls,
    cpu: field('used_cpu_user') + field('used_cpu_sys'),
    connections: field('total_connections_received'),
  };
}

/** `after − before`, without the `INFO` calls this benchmark made itself (`ownInfo` of them). */
export function counterDelta(before: RedisCounters, after: RedisCounters, ownInfo: number) {
  const calls: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.calls)) {
    const d = v - (before.calls[k] ?? 0);
    if (k === 'info') {
      if (d - ownInfo > 0) calls[k] = d - ownInfo;
    } else if (d > 0) calls[k] = d;
  }
  return {
    commands: after.commands - before.commands - ownInfo,
    calls,
    cpu: after.cpu - before.cpu,
    connections: after.connections - before.connections,
  };
}

/** Deletes every key under `prefix` (SCAN, never KEYS); the number deleted. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Drops the PostgreSQL tables and sequence of coordination namespace `ns`. */
export async function dropPgNamespace(url: string, ns: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const t of ['leases', 'slots', 'members'])
      await client.query(`DROP TABLE IF EXISTS ${ns}_coordination_${t}`);
    await client.query(`DROP SEQUENCE IF EXISTS ${ns}_coordination_fence`);
  } finally {
    await client.end();
  }
}

/** Deterministic UUID v4-shaped keys (the same in every process for one seed). */
export function uuidKeys(n: number, seed: number): string[] {
  const random = mulberry32(seed);
  const words = new Uint32Array(n * 4);
  for (let i = 0; i < words.length; i++) words[i] = (random() * 2 ** 32) >>> 0;
  const hex = Buffer.from(words.buffer).toString('hex');
  const variant = '89ab';
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const o = i * 32;
    out[i] =
      `${hex.slice(o, o + 8)}-${hex.slice(o + 8, o + 12)}-4${hex.slice(o + 13, o + 16)}-` +
      `${variant[(words[i * 4] as number) & 3] as string}${hex.slice(o + 17, o + 20)}-${hex.slice(o + 20, o + 32)}`;
  }
  return out;
}
