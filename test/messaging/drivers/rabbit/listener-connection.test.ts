/**
 * The servers of one transport share one listener connection: one channel each, one for their
 * replies. A server whose channel goes (its queue deleted) or whose set-up is refused fails or
 * recovers alone; the last one to stop closes the connection.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageDeliveryFailure } from '../../../../src/core/index.js';
import type { RpcServer, Transport } from '../../../../src/messaging/index.js';
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

/** This process's AMQP connections as the broker sees them, with their channel counts. */
async function ourConnections(): Promise<number[]> {
  const { stdout } = await run(
    'rabbitmqctl',
    ['list_connections', '-q', '--no-table-headers', 'channels', 'client_properties'],
    { timeout: 20_000 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.includes(`:${process.pid}:`))
    .map((l) => Number(l.split('\t')[0]));
}

describe.skipIf(!available)('rabbit driver: servers share one listener connection', () => {
  const exchange = unique('shared');
  const topics = [unique('shared-a'), unique('shared-b'), unique('shared-c')];
  let serverT: Transport;
  let clientT: Transport;
  const servers: RpcServer[] = [];
  const calcs = topics.map(() => new Calc());

  beforeAll(async () => {
    serverT = await transport(exchange);
    clientT = await transport(exchange);
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await serverT?.close();
    await clientT?.close();
    await cleanup(
      [exchange, ...topics.map((t) => `${t}_fanout`), `conductor-lean.${exchange}`],
      [...topics.flatMap((t) => [t, `${t}.host-a`]), replyQueueOf(clientT), replyQueueOf(serverT)],
    );
  });

  it('puts every server of a transport on one connection, a channel each', async () => {
    const before = (await ourConnections()).length;
    for (const [i, topic] of topics.entries()) {
      servers.push(await startServer(serverT, topic, 'host-a', [calcs[i] as Calc]));
    }
    const after = await ourConnections();
    expect(after.length).toBe(before + 1);
    // 3 consumer channels and the replies channel on the new one.
    expect(after).toContain(4);
    for (const topic of topics) {
      const client = new RpcClient(clientT, { topic }, { timeout: 5 });
      expect(await client.call(ctx(), 'echo', { value: topic })).toBe(topic);
    }
  });

  it('sets up again, alone and on the same connection, a server whose queue was deleted', async () => {
    const count = (await ourConnections()).length;
    const victim = topics[0] as string;
    const c = await rawConnection();
    try {
      const ch = await c.createChannel();
      await ch.deleteQueue(victim);
    } finally {
      await c.close().catch(() => undefined);
    }
    const client = new RpcClient(clientT, { topic: victim }, { timeout: 1 });
    await waitFor(
      async () => (await client.call(ctx(), 'echo', { value: 1 }).catch(() => undefined)) === 1,
      10_000,
      'the server of the deleted queue to serve again',
    );
    // The others were not touched, and no connection was opened or reset for it.
    for (const topic of topics.slice(1)) {
      expect(await new RpcClient(clientT, { topic }, { timeout: 5 }).call(ctx(), 'whoami')).toEqual(
        { user: 'user-1', project: 'project-1', admin: true },
      );
    }
    expect((await ourConnections()).length).toBe(count);
  });

  it('fails the start of a server the broker refuses, and the others go on serving', async () => {
    const refused = unique('shared-refused');
    const c = await rawConnection();
    try {
      // Declared durable beforehand: the server's non-durable declaration is refused (406).
      const ch = await c.createChannel();
      await ch.assertQueue(refused, { durable: true });
      await expect(startServer(serverT, refused, 'host-a', [new Calc()])).rejects.toBeInstanceOf(
        MessageDeliveryFailure,
      );
      const topic = topics[1] as string;
      expect(
        await new RpcClient(clientT, { topic }, { timeout: 5 }).call(ctx(), 'echo', { value: 2 }),
      ).toBe(2);
      await (await c.createChannel()).deleteQueue(refused);
    } finally {
      await c.close().catch(() => undefined);
    }
    await cleanup([`${refused}_fanout`], [`${refused}.host-a`]);
  });

  it('closes the shared connection with the last server', async () => {
    const count = (await ourConnections()).length;
    for (const s of servers.splice(0)) {
      await s.stop();
      await s.wait();
    }
    await waitFor(
      async () => (await ourConnections()).length === count - 1,
      10_000,
      'the listener connection to close',
    );
  });
});
