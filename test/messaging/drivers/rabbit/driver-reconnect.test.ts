import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MessagingTimeout,
  type RpcServer,
  type Transport,
} from '../../../../src/messaging/index.js';
import { captureLogs } from '../../../helpers/log-capture.js';
import {
  hasRabbitServer,
  type RabbitNode,
  startRabbitNode,
  stopRabbitNodes,
} from '../../../helpers/rabbit-node.js';
import { requireService } from '../../../helpers/services.js';
import {
  Calc,
  cleanup,
  ctx,
  cutConnections,
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

/** Fast reconnection for the tests (defaults: 1 s, then 1, 3, 5 ... 30 s). */
const FAST = { kombu_reconnect_delay: 0.1, rabbit_retry_interval: 0.2, rabbit_retry_backoff: 0.2 };

describe.skipIf(!available)('rabbit driver: connection loss', () => {
  const E = unique('cut');
  const T = unique('t');
  const logs = captureLogs();
  const calc = new Calc();
  let serverT: Transport;
  let clientT: Transport;
  let server: RpcServer;
  let raw: ChannelModel;
  let ch: Channel;

  beforeAll(async () => {
    serverT = await transport(E, FAST, { logger: logs.logger });
    clientT = await transport(E, FAST);
    server = await startServer(serverT, T, 'host-a', [calc]);
    raw = await rawConnection();
    ch = await raw.createChannel();
  });

  afterAll(async () => {
    await server?.stop();
    await server?.wait();
    await serverT?.close();
    await clientT?.close();
    await raw?.close();
    await cleanup([E, `${T}_fanout`], [T, `${T}.host-a`, replyQueueOf(clientT)]);
  });

  it('resumes every consumer after the broker closes the connections', async () => {
    const client = new RpcClient(clientT, { topic: T }, { timeout: 8 });
    expect(await client.call(ctx(), 'echo', { value: 'before' })).toBe('before');

    // A call in flight while every connection of this process is cut.
    const t0 = Date.now();
    const inFlight = client
      .call(ctx(), 'sleep', { seconds: 1 })
      .then((v) => ({ v, ms: Date.now() - t0 }))
      .catch((e: unknown) => ({ e, ms: Date.now() - t0 }));
    await waitFor(() => server.inFlight === 1, 3000, 'the call to be running');
    const cut = await cutConnections();
    expect(cut).toBeGreaterThanOrEqual(3); // server listener + publisher, client publisher (+ replies)
    // A call made while disconnected waits for the reconnection.
    const during = client.call(ctx(), 'echo', { value: 'during' });

    const r = await inFlight;
    expect(r.ms).toBeLessThan(8000 + 500);
    if ('e' in r) expect(r.e).toBeInstanceOf(MessagingTimeout);
    else expect(r.v).toBe(1);
    expect(await during).toBe('during');

    await waitFor(
      () => serverT.connected && clientT.connected,
      5000,
      'both transports to reconnect',
    );
    expect(await client.call(ctx(), 'echo', { value: 'after' })).toBe('after');
    expect(
      await client.prepare({ server: 'host-a' }).call(ctx(), 'echo', { value: 'direct' }),
    ).toBe('direct');
    await client.prepare({ fanout: true }).cast(ctx(), 'echo', { value: 'fanout-after' });
    await waitFor(() => calc.seen.includes('fanout-after'), 5000, 'the fanout cast');
    // No zombie or duplicate consumers.
    expect((await ch.checkQueue(T)).consumerCount).toBe(1);
    expect((await ch.checkQueue(`${T}.host-a`)).consumerCount).toBe(1);
    expect((await ch.checkQueue(replyQueueOf(clientT) as string)).consumerCount).toBe(1);
    expect(logs.lines.some((l) => /Connection to AMQP server on .* lost/.test(l.msg))).toBe(true);
    // Passwords never reach the logs.
    expect(JSON.stringify(logs.lines)).not.toMatch(/guest:guest/);
  });

  it('sends the casts in flight at a cut again on the new connection, not at their deadline', async () => {
    // A publish waiting for a channel woke when the channels reopened, during the connection's
    // set-up, found the connection not yet ready, and slept until its deadline (60 s by default).
    const castT = await transport(E, { ...FAST, rabbit_publish_timeout: 6 });
    const client = new RpcClient(castT, { topic: T });
    try {
      await client.cast(ctx(), 'echo', { value: 'cast-warm-up' });
      let n = 0;
      let stop = false;
      const confirmed: string[] = [];
      const failed: string[] = [];
      let slowest = 0;
      const lane = async (): Promise<void> => {
        while (!stop) {
          const value = `cast-${n++}`;
          const t0 = Date.now();
          try {
            await client.cast(ctx(), 'echo', { value });
            confirmed.push(value);
          } catch (err) {
            failed.push(`${value}: ${String(err)}`);
          }
          slowest = Math.max(slowest, Date.now() - t0);
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      const lanes = [lane(), lane(), lane(), lane()];
      await waitFor(() => confirmed.length >= 20, 5000, 'casts to flow');
      expect(await cutConnections()).toBeGreaterThanOrEqual(1);
      const cutAt = confirmed.length;
      await waitFor(() => confirmed.length >= cutAt + 50, 5000, 'casts after the cut');
      stop = true;
      await Promise.all(lanes);
      expect(failed).toEqual([]);
      // Reconnection takes kombu_reconnect_delay (0.1 s here); nothing waits for the 6 s deadline.
      expect(slowest).toBeLessThan(4000);
      await waitFor(
        () => confirmed.every((v) => calc.seen.includes(v)),
        10_000,
        'every confirmed cast to arrive',
      );
    } finally {
      await castT.close();
    }
  });

  it('tries the hosts of the URL round-robin and uses the virtual host of its path', async () => {
    const multi = await transport(E, FAST, {
      transportUrl: 'rabbit://guest:guest@127.0.0.1:1,guest:guest@127.0.0.1:5672/',
    });
    try {
      await waitFor(() => multi.connected, 5000, 'the second host');
      expect(
        await new RpcClient(multi, { topic: T }, { timeout: 5 }).call(ctx(), 'echo', {
          value: 'rr',
        }),
      ).toBe('rr');
    } finally {
      await multi.close();
    }
    const vlogs = captureLogs();
    const vhost = await transport(E, FAST, {
      transportUrl: 'rabbit://guest:guest@127.0.0.1:5672/no-such-vhost',
      logger: vlogs.logger,
    });
    try {
      expect(vhost.connected).toBe(false);
      expect(vlogs.lines.some((l) => l.level === 50 && l['vhost'] === 'no-such-vhost')).toBe(true);
    } finally {
      await vhost.close();
    }
  });

  it('fails a cast with MessageDeliveryFailure when no broker comes back in time', async () => {
    const t = await transport(
      E,
      { ...FAST, rabbit_publish_timeout: 0.5 },
      {
        transportUrl: 'rabbit://guest:guest@127.0.0.1:1/',
      },
    );
    expect(t.connected).toBe(false);
    const t0 = Date.now();
    await expect(new RpcClient(t, { topic: T }).cast(ctx(), 'echo')).rejects.toMatchObject({
      code: 'CONDUCTOR_RPC_DELIVERY_FAILURE',
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    const call = new RpcClient(t, { topic: T }, { timeout: 0.5 }).call(ctx(), 'echo');
    await expect(call).rejects.toMatchObject({ code: 'CONDUCTOR_RPC_DELIVERY_FAILURE' });
    await t.close();
  });
});

/**
 * A real broker restart (stop_app / start_app): queues are gone and must be declared again. It runs
 * on a private node of its own (test/helpers/rabbit-node.ts), so no other test sees the restart.
 */
const nodeReady =
  available &&
  (await requireService('rabbitmq-server (a private node for the restart)', hasRabbitServer()));
describe.skipIf(!nodeReady)('rabbit driver: broker restart', () => {
  let node: RabbitNode;
  beforeAll(async () => {
    node = await startRabbitNode();
  }, 60_000);
  afterAll(stopRabbitNodes, 60_000);

  it('re-declares the topology and resumes consumers after a broker restart', async () => {
    const E = unique('restart');
    const T = unique('t');
    const calc = new Calc();
    const on = { transportUrl: node.url };
    const serverT = await transport(E, FAST, on);
    const clientT = await transport(E, FAST, on);
    const server = await startServer(serverT, T, 'host-a', [calc]);
    try {
      const client = new RpcClient(clientT, { topic: T }, { timeout: 30 });
      expect(await client.call(ctx(), 'echo', { value: 1 })).toBe(1);
      const before = await node.listConsumers();
      await node.stopApp();
      try {
        await waitFor(() => !serverT.connected && !clientT.connected, 10_000, 'disconnection');
      } finally {
        await node.startApp();
      }
      await waitFor(() => serverT.connected && clientT.connected, 30_000, 'reconnection');
      expect(await client.call(ctx(), 'echo', { value: 2 })).toBe(2);
      await client.prepare({ fanout: true }).cast(ctx(), 'echo', { value: 'fan' });
      await waitFor(() => calc.seen.includes('fan'), 5000, 'the fanout cast');
      // The same consumers on the same queues (tags are new): none lost, none doubled.
      const queues = (l: string[]): string[] => l.map((c) => c.split('\t')[0] ?? '').sort();
      expect(queues(await node.listConsumers())).toEqual(queues(before));
    } finally {
      await server.stop();
      await server.wait();
      await serverT.close();
      await clientT.close();
    }
  }, 120_000);
});
