import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MessagingTimeout,
  NoSuchMethod,
  RemoteError,
  type RpcServer,
  type Transport,
  UnsupportedVersion,
} from '../../../../src/messaging/index.js';
import { captureLogs } from '../../../helpers/log-capture.js';
import {
  Calc,
  cleanup,
  ctx,
  rabbitAvailable,
  rawConnection,
  replyQueueOf,
  RpcClient,
  startServer,
  transport,
  unique,
  waitFor,
} from './helpers.js';

const available = await rabbitAvailable();
const run = promisify(execFile);

/** `[ready, unacknowledged]` messages of each queue, from the broker. */
async function queueCounts(names: readonly string[]): Promise<Record<string, [number, number]>> {
  const { stdout } = await run(
    'rabbitmqctl',
    [
      'list_queues',
      '-q',
      '--no-table-headers',
      'name',
      'messages_ready',
      'messages_unacknowledged',
    ],
    { timeout: 20_000 },
  );
  const out: Record<string, [number, number]> = {};
  for (const [name, ready, unacked] of stdout.split('\n').map((l) => l.split('\t'))) {
    if (name !== undefined && names.includes(name)) out[name] = [Number(ready), Number(unacked)];
  }
  return out;
}

describe.skipIf(!available)('rabbit driver: RPC round trips', () => {
  const exchange = unique('rpc');
  const topic = unique('topic');
  const logs = captureLogs();
  let serverT: Transport;
  let clientT: Transport;
  let a: RpcServer;
  let b: RpcServer;
  const calcA = new Calc();
  const calcB = new Calc();

  beforeAll(async () => {
    serverT = await transport(exchange);
    clientT = await transport(exchange, {}, { logger: logs.logger });
    a = await startServer(serverT, topic, 'host-a', [calcA]);
    b = await startServer(serverT, topic, 'host-b', [calcB]);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await a?.wait();
    await b?.wait();
    await serverT?.close();
    await clientT?.close();
    await cleanup(
      [exchange, `${topic}_fanout`],
      [topic, `${topic}.host-a`, `${topic}.host-b`, replyQueueOf(clientT), replyQueueOf(serverT)],
    );
  });

  it('is connected', () => {
    expect(serverT.connected).toBe(true);
    expect(clientT.connected).toBe(true);
  });

  it('calls and gets the result, with the context', async () => {
    const client = new RpcClient(clientT, { topic }, { timeout: 5 });
    expect(await client.call(ctx(), 'echo', { value: { a: [1, 'é', null] } })).toEqual({
      a: [1, 'é', null],
    });
    expect(await client.call(ctx(), 'whoami')).toEqual({
      user: 'user-1',
      project: 'project-1',
      admin: true,
    });
  });

  it('shares the topic queue between servers and targets one server', async () => {
    const client = new RpcClient(clientT, { topic }, { timeout: 5 });
    const before = [calcA.calls, calcB.calls];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.call(ctx(), 'echo', { value: i })),
    );
    expect(calcA.calls - (before[0] as number)).toBeGreaterThan(0);
    expect(calcB.calls - (before[1] as number)).toBeGreaterThan(0);
    const toB = client.prepare({ server: 'host-b' });
    const bBefore = calcB.calls;
    const aBefore = calcA.calls;
    for (let i = 0; i < 5; i++) await toB.call(ctx(), 'echo', { value: `b${i}` });
    expect(calcB.calls - bBefore).toBe(5);
    expect(calcA.calls).toBe(aBefore);
  });

  it('casts to the topic, to one server and to all (fanout)', async () => {
    const client = new RpcClient(clientT, { topic });
    await client.cast(ctx(), 'echo', { value: 'cast-1' });
    await client.prepare({ server: 'host-a' }).cast(ctx(), 'echo', { value: 'cast-a' });
    await client.prepare({ fanout: true }).cast(ctx(), 'echo', { value: 'cast-all' });
    await waitFor(
      () =>
        [...calcA.seen, ...calcB.seen].includes('cast-1') &&
        calcA.seen.includes('cast-a') &&
        calcA.seen.includes('cast-all') &&
        calcB.seen.includes('cast-all'),
      5000,
      'casts',
    );
    expect(calcB.seen).not.toContain('cast-a');
  });

  it('rebuilds dispatcher errors and reports others as RemoteError', async () => {
    const client = new RpcClient(clientT, { topic }, { timeout: 5 });
    await expect(client.call(ctx(), 'nope')).rejects.toBeInstanceOf(NoSuchMethod);
    await expect(client.prepare({ version: '2.0' }).call(ctx(), 'echo')).rejects.toBeInstanceOf(
      UnsupportedVersion,
    );
    const err = await client.call(ctx(), 'fail', { message: 'boom' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).excType).toBe('ValueError');
    expect((err as RemoteError).value).toBe('boom');
    expect((err as RemoteError).traceback.length).toBeGreaterThan(0);
  });

  it('times out without a server, and drops the late reply of a slow method', async () => {
    const nobody = new RpcClient(clientT, { topic: unique('nobody') }, { timeout: 0.3 });
    const t0 = Date.now();
    const err = await nobody.call(ctx(), 'echo', { value: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessagingTimeout);
    expect((err as Error).message).toMatch(
      /^Timed out waiting for a reply to message ID [0-9a-f]{32}$/,
    );
    expect(Date.now() - t0).toBeLessThan(2000);

    const slow = new RpcClient(clientT, { topic }, { timeout: 0.3 });
    const late = await slow.call(ctx(), 'sleep', { seconds: 0.6 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(MessagingTimeout);
    const id = /message ID ([0-9a-f]{32})/.exec((late as Error).message)?.[1] as string;
    await waitFor(
      () => logs.lines.some((l) => l.msg === `No calling threads waiting for msg_id : ${id}`),
      5000,
      'the late reply to be dropped',
    );
    // The transport still works afterwards.
    expect(
      await new RpcClient(clientT, { topic }, { timeout: 5 }).call(ctx(), 'echo', { value: 2 }),
    ).toBe(2);
  });

  it('keeps a slow call alive with call-monitor heartbeats', async () => {
    const client = new RpcClient(clientT, { topic }, { timeout: 10, callMonitorTimeout: 2 });
    const t0 = Date.now();
    expect(await client.call(ctx(), 'sleep', { seconds: 3.5 })).toBe(3.5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3400);
  });

  it('fails a call early when the server sends no heartbeat', async () => {
    // A raw consumer takes the call and never answers: the monitor fires long before the timeout.
    const raw = await rawConnection();
    try {
      const ch = await raw.createChannel();
      const silent = unique('silent');
      await ch.assertExchange(exchange, 'topic', { durable: false });
      await ch.assertQueue(silent, { durable: false, autoDelete: true });
      await ch.bindQueue(silent, exchange, silent);
      await ch.consume(silent, () => undefined, { noAck: true });
      const client = new RpcClient(
        clientT,
        { topic: silent },
        { timeout: 10, callMonitorTimeout: 2 },
      );
      const t0 = Date.now();
      await expect(client.call(ctx(), 'echo', { value: 1 })).rejects.toBeInstanceOf(
        MessagingTimeout,
      );
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(4000);
    } finally {
      await raw.close();
    }
  });

  it('acknowledges every request and reply (acks are batched, none is left behind)', async () => {
    const client = new RpcClient(clientT, { topic }, { timeout: 10 });
    const before = calcA.calls + calcB.calls;
    const values = Array.from({ length: 200 }, (_, i) => i);
    expect(await Promise.all(values.map((value) => client.call(ctx(), 'echo', { value })))).toEqual(
      values,
    );
    await Promise.all(values.map((value) => client.cast(ctx(), 'echo', { value })));
    await waitFor(() => calcA.calls + calcB.calls >= before + 400, 5000, 'the casts');
    // Reply acks wait for a batch of 64 or 25 ms; request acks leave within the turn.
    await new Promise((r) => setTimeout(r, 100));
    const names = [topic, `${topic}.host-a`, `${topic}.host-b`, replyQueueOf(clientT) as string];
    const counts = await queueCounts(names);
    for (const name of names) expect([name, counts[name]]).toEqual([name, [0, 0]]);
  });

  it('fails pending calls with MessageDeliveryFailure on close', async () => {
    const t = await transport(exchange);
    const client = new RpcClient(t, { topic }, { timeout: 10 });
    const pending = client.call(ctx(), 'sleep', { seconds: 1 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await t.close();
    expect(await pending).toMatchObject({ code: 'CONDUCTOR_RPC_DELIVERY_FAILURE' });
    expect(t.connected).toBe(false);
    await expect(client.call(ctx(), 'echo', { value: 1 })).rejects.toMatchObject({
      code: 'CONDUCTOR_RPC_DELIVERY_FAILURE',
    });
  });
});
