import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Channel, connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { runConformance, CASE_ORDER } from '../../interop/conformance-client.js';
import { startReferenceServer } from '../../interop/reference-server.js';
import { hasPython, PYTHON, RABBIT_URL, reachable, requireService } from '../helpers/services.js';

const INTEROP = fileURLToPath(new URL('../../../shared/interop/', import.meta.url));
const hasOslo = (): boolean => {
  if (!hasPython()) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import oslo_messaging'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const ready = await requireService(
  'RabbitMQ on 127.0.0.1:5672 and python3-oslo.messaging',
  (await reachable(5672)) && hasOslo(),
);
/** Runs one of the Python interop scripts against the given exchange, topic and server. */
const python = (script: string, n: { exchange: string; topic: string; server: string }) =>
  spawn(
    PYTHON,
    [
      `${INTEROP}${script}`,
      '--url',
      RABBIT_URL,
      '--exchange',
      n.exchange,
      '--topic',
      n.topic,
      '--server',
      n.server,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );

const names = () => {
  const id = randomUUID().slice(0, 8);
  return { exchange: `tacker-it-${id}`, topic: `conductor-it-${id}`, server: 'host-a' };
};

/** Deletes what a test's servers declared (topic and server queues, exchanges), if there. */
async function deleteTopology(n: { exchange: string; topic: string; server: string }) {
  const conn = await connect(RABBIT_URL.replace(/^rabbit:/, 'amqp:').replace(/\/$/, ''));
  try {
    const drop = async (op: (ch: Channel) => Promise<unknown>): Promise<void> => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await op(ch).then(
        () => ch.close(),
        () => undefined, // not there: the channel closed with the error
      );
    };
    for (const q of [n.topic, `${n.topic}.${n.server}`]) await drop((ch) => ch.deleteQueue(q));
    for (const x of [n.exchange, `${n.topic}_fanout`, `conductor-lean.${n.exchange}`])
      await drop((ch) => ch.deleteExchange(x));
  } finally {
    await conn.close();
  }
}

describe.skipIf(!ready)('interop with Python oslo.messaging over RabbitMQ', () => {
  it('the TypeScript reference server passes every case of rpc_client.py', async () => {
    const n = names();
    const server = await startReferenceServer({ url: RABBIT_URL, ...n });
    try {
      const child = python('rpc_client.py', n);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(out, out).toContain(`${CASE_ORDER.length} passed, 0 failed`);
      expect(code).toBe(0);
    } finally {
      await server.stop();
      await deleteTopology(n);
    }
  }, 90_000);

  it('the TypeScript conformance client passes every case against rpc_server.py', async () => {
    const n = names();
    const child = python('rpc_server.py', n);
    try {
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('READY')) resolve();
        });
        child.stderr.on('data', (d: Buffer) => (buf += d.toString()));
        child.on('exit', (code) =>
          reject(new Error(`rpc_server.py exited ${String(code)}: ${buf}`)),
        );
      });
      const lines: string[] = [];
      const { passed, failed } = await runConformance({ url: RABBIT_URL, ...n, timeout: 10 }, (l) =>
        lines.push(l),
      );
      expect(
        lines.filter((l) => l.startsWith('FAIL')),
        lines.join('\n'),
      ).toEqual([]);
      expect([passed, failed]).toEqual([CASE_ORDER.length, 0]);
      expect(lines.at(-1)).toBe(`${CASE_ORDER.length} passed, 0 failed`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
      await deleteTopology(n);
    }
  }, 90_000);
});
