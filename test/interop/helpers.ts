/**
 * What the interop tests share: the Python scripts of ../shared/interop (spawned against an
 * exchange, topic and server of the test's own), unique names, and the clean-up of what a test's
 * servers declared.
 */
import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { leanExchangeOf } from '../../src/messaging/drivers/rabbit/lean.js';
import { hasPython, PYTHON, RABBIT_URL } from '../helpers/services.js';

export type Child = ChildProcessByStdio<null, Readable, Readable>;

/** A test's exchange, topic and server. */
export interface Names {
  exchange: string;
  topic: string;
  server: string;
}

const INTEROP = fileURLToPath(new URL('../../../shared/interop/', import.meta.url));

/** True when Debian's python3-oslo.messaging can be imported. */
export function hasOslo(): boolean {
  if (!hasPython()) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import oslo_messaging'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Names no other test uses: `<exchange>-<id>`, `<topic>-<id>`, server `host-a`. */
export function names(exchange: string, topic: string): Names {
  const id = randomUUID().slice(0, 8);
  return { exchange: `${exchange}-${id}`, topic: `${topic}-${id}`, server: 'host-a' };
}

/** The test broker for amqplib (first host only, no driver query). */
export const AMQP_URL = (RABBIT_URL.split('?')[0] ?? RABBIT_URL)
  .replace(/^rabbit:/, 'amqp:')
  .replace(/,[^/]*/, '');

/**
 * Runs a Python script against the given exchange, topic and server: one of the interop scripts of
 * ../shared/interop by name, or a path of the tests' own; `extra` arguments follow.
 */
export const python = (script: string, n: Names, extra: readonly string[] = []): Child =>
  spawn(
    PYTHON,
    [
      script.includes('/') ? script : `${INTEROP}${script}`,
      '--url',
      RABBIT_URL,
      '--exchange',
      n.exchange,
      '--topic',
      n.topic,
      '--server',
      n.server,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );

/** Runs a Python client (default rpc_client.py) to its end: its exit code and all it printed. */
export async function pythonClient(
  n: Names,
  child: Child = python('rpc_client.py', n),
): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out };
}

/** Starts a Python server (default rpc_server.py); resolves once it printed READY. */
export async function pythonServer(
  n: Names,
  child: Child = python('rpc_server.py', n),
): Promise<Child> {
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('READY')) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (buf += d.toString()));
    child.on('exit', (code) =>
      reject(new Error(`${String(child.spawnargs[1])} exited ${String(code)}: ${buf}`)),
    );
  });
  return child;
}

/** SIGTERM, and waits for the exit. */
export async function stopChild(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Runs `work` on a connection of its own (a failed check or delete closes only its channel). */
export async function withBroker<T>(work: (conn: ChannelModel) => Promise<T>): Promise<T> {
  const conn = await connect(AMQP_URL);
  try {
    return await work(conn);
  } finally {
    await conn.close();
  }
}

/** Deletes what a test's servers declared (and any extra queues), ignoring what is not there. */
export async function deleteTopology(n: Names, extraQueues: readonly string[] = []): Promise<void> {
  await withBroker(async (conn) => {
    const run = async (op: (ch: Channel) => Promise<unknown>): Promise<void> => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      try {
        await op(ch);
        await ch.close();
      } catch {
        // not there (or already gone): nothing to delete
      }
    };
    for (const q of [n.topic, `${n.topic}.${n.server}`, ...extraQueues])
      await run((ch) => ch.deleteQueue(q));
    for (const x of [n.exchange, `${n.topic}_fanout`, leanExchangeOf(n.exchange)])
      await run((ch) => ch.deleteExchange(x));
  });
}
