import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageDeliveryFailure, realClock } from '../../../../src/core/index.js';
import {
  type ConnectionConfig,
  ManagedConnection,
} from '../../../../src/messaging/drivers/rabbit/connection.js';
import { DEFAULT_RABBIT_OPTIONS } from '../../../../src/messaging/drivers/rabbit/options.js';
import {
  type ExchangeSpec,
  Publisher,
} from '../../../../src/messaging/drivers/rabbit/publisher.js';
import { quietLogger, rabbitAvailable, rawConnection, unique } from './helpers.js';

const available = await rabbitAvailable();

const config: ConnectionConfig = {
  endpoints: [{ hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' }],
  virtualHost: '/',
  options: DEFAULT_RABBIT_OPTIONS,
  tls: undefined,
  logger: quietLogger(),
  clock: realClock,
};

describe('Publisher: refusals before anything is sent', () => {
  const mc = new ManagedConnection('unused', config, async () => undefined);
  const replies = new Publisher(config, { name: 'replies', confirms: false, connection: mc });
  const deadline = realClock.now() + 1;

  it('refuses names longer than an AMQP short string', async () => {
    await expect(
      replies.publish({ exchange: 'é'.repeat(200), routingKey: 'k', body: '{}', deadline }),
    ).rejects.toThrow('Exchange names and routing keys are limited to 255 bytes');
  });

  it('refuses a confirmed publish on a publisher without confirms', async () => {
    await expect(
      replies.publish({ exchange: 'x', routingKey: 'k', body: '{}', deadline }),
    ).rejects.toThrow('The replies publisher sends no confirmed messages');
  });
});

describe.skipIf(!available)('Publisher: broker nacks (rabbit)', () => {
  const X = unique('nack');
  const Q = unique('nackq');
  const spec: ExchangeSpec = { name: X, type: 'topic', durable: false, autoDelete: false };
  let raw: ChannelModel;
  let publisher: Publisher;
  let mc: ManagedConnection;

  beforeAll(async () => {
    raw = await rawConnection();
    const ch = await raw.createChannel();
    await ch.assertExchange(X, 'topic', { durable: false, autoDelete: false });
    // A queue that takes nothing: the broker nacks every message routed to it.
    await ch.assertQueue(Q, {
      durable: false,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await ch.bindQueue(Q, X, 'full');
    await ch.close();
    mc = new ManagedConnection('publisher-test', config, (conn) => publisher.attach(conn));
    publisher = new Publisher(config, { name: 'publisher-test', connection: mc });
    await mc.waitReady(realClock.now() + 5);
  });

  afterAll(async () => {
    await publisher?.close();
    await mc?.close();
    const ch = await raw.createChannel();
    await ch.deleteQueue(Q);
    await ch.deleteExchange(X);
    await raw.close();
  });

  const publish = (routingKey: string) =>
    publisher.publish({
      exchange: X,
      declare: spec,
      routingKey,
      body: '{}',
      deadline: realClock.now() + 5,
    });

  it('fails a nacked publish with MessageDeliveryFailure, on the slow and the fast path', async () => {
    const message = `The broker refused the message to exchange '${X}': the broker nacked the message`;
    // The first publish declares the exchange (slow path); the next ones go straight out.
    for (let i = 0; i < 3; i++) {
      const err = await publish('full').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MessageDeliveryFailure);
      expect((err as Error).message).toBe(message);
    }
    // A nack is not a lost channel: the channel stays open, other publishes are confirmed.
    await expect(publish('elsewhere')).resolves.toBeUndefined();
    const many = await Promise.allSettled([publish('full'), publish('elsewhere'), publish('full')]);
    expect(many.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect(publisher.ready).toBe(true);
  });
});
