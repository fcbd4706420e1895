import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeAll, probeUrl } from '../../src/conductor/probe.js';
import { InvalidOptionError } from '../../src/core/index.js';

const portOf = (s: { address(): AddressInfo | string | null }): number =>
  (s.address() as AddressInfo).port;

let keystone: Server; // answers 401 like Keystone without a token
let silent: ReturnType<typeof createTcpServer>; // accepts, never answers
let slow: Server; // answers after a short delay, counting connections in flight
let inFlight = 0;
let maxInFlight = 0;
let refusedPort = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  keystone = createHttpServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":{"code":401}}');
  });
  silent = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  slow = createHttpServer((_req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      res.end('ok');
    }, 20);
  });
  const closed = createTcpServer();
  await Promise.all(
    [keystone, silent, slow, closed].map(
      (s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r())),
    ),
  );
  refusedPort = portOf(closed);
  await new Promise<void>((r) => closed.close(() => r()));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(
    [keystone, silent, slow].map((s) => new Promise<void>((r) => s.close(() => r()))),
  );
});

describe('probeUrl', () => {
  it('counts any HTTP response as reachable (a 401 from Keystone included)', async () => {
    const r = await probeUrl(`http://127.0.0.1:${portOf(keystone)}/identity/v3`, { timeout: 5 });
    expect(r).toMatchObject({ reachable: true, detail: 'HTTP 401' });
    expect(r.duration).toBeGreaterThanOrEqual(0);
  });

  it('reports a refused connection as unreachable, with the error code', async () => {
    const r = await probeUrl(`http://127.0.0.1:${refusedPort}/`, { timeout: 5 });
    expect(r).toMatchObject({ reachable: false, detail: 'ECONNREFUSED' });
  });

  it('gives up after the timeout when the server never answers', async () => {
    const r = await probeUrl(`http://127.0.0.1:${portOf(silent)}/`, { timeout: 0.2 });
    expect(r).toMatchObject({ reachable: false, detail: 'timed out after 0.2s' });
  });

  it('probes tcp://host:port by opening a connection', async () => {
    expect(await probeUrl(`tcp://127.0.0.1:${portOf(silent)}`, { timeout: 5 })).toMatchObject({
      reachable: true,
      detail: 'connected',
    });
    expect(await probeUrl(`tcp://127.0.0.1:${refusedPort}`, { timeout: 5 })).toMatchObject({
      reachable: false,
      detail: 'ECONNREFUSED',
    });
    expect(await probeUrl('tcp://127.0.0.1', { timeout: 5 })).toMatchObject({
      reachable: false,
      detail: 'tcp:// needs host:port',
    });
  });

  it('treats bad URLs and other schemes as unreachable, never throwing', async () => {
    expect(await probeUrl('not a url', { timeout: 1 })).toMatchObject({
      reachable: false,
      detail: 'invalid URL',
    });
    expect(await probeUrl('ftp://127.0.0.1/', { timeout: 1 })).toMatchObject({
      reachable: false,
      detail: 'unsupported scheme ftp:',
    });
  });

  it('stops at once when aborted', async () => {
    const abort = new AbortController();
    const p = probeUrl(`http://127.0.0.1:${portOf(silent)}/`, {
      timeout: 30,
      signal: abort.signal,
    });
    abort.abort();
    expect(await p).toMatchObject({ reachable: false, detail: 'aborted' });
  });
});

describe('probeAll', () => {
  it('keeps the input order and never has more than `concurrency` probes in flight', async () => {
    maxInFlight = 0;
    const ok = `http://127.0.0.1:${portOf(slow)}/`;
    const bad = `http://127.0.0.1:${refusedPort}/`;
    const urls = Array.from({ length: 12 }, (_, i) => (i % 2 ? bad : ok));
    const results = await probeAll(urls, { timeout: 5, concurrency: 3 });
    expect(results.map((r) => r.reachable)).toEqual(urls.map((u) => u === ok));
    expect(maxInFlight).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThanOrEqual(3);
  });

  it('handles an empty list and rejects bad options before probing', async () => {
    expect(await probeAll([], { timeout: 1, concurrency: 4 })).toEqual([]);
    await expect(probeAll(['tcp://x:1'], { timeout: 1, concurrency: 0 })).rejects.toThrow(
      InvalidOptionError,
    );
    await expect(probeAll(['tcp://x:1'], { timeout: 0, concurrency: 1 })).rejects.toThrow(
      /timeout must be > 0/,
    );
  });
});
