import { createRequire } from 'node:module';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import {
  BrokerNackError,
  BrokerRefusedError,
  ChannelLostError,
} from '../../../../src/core/index.js';
import {
  type ConfirmLane,
  confirmError,
  declareExchange,
  flagNacks,
  type PubChannel,
} from '../../../../src/messaging/drivers/rabbit/publisher-channels.js';

/** amqplib's own ConfirmChannel class: its constructor adds the confirm listeners, no I/O. */
const { ConfirmChannel: AmqplibConfirmChannel } = createRequire(import.meta.url)(
  'amqplib/lib/channel_model.js',
) as { ConfirmChannel: new (connection: unknown) => ConfirmChannel };

/** What amqplib's ConfirmChannel.publish does first: register the confirm callback. */
type WithCallbacks = ConfirmChannel & { pushConfirmCallback(cb: (err: unknown) => void): void };

function confirmLane(): { lane: ConfirmLane; outcomes: (Error | undefined)[]; publish(): void } {
  const connection = { on: () => undefined };
  const ch = new AmqplibConfirmChannel(connection) as WithCallbacks;
  const lane: ConfirmLane = { ch, drain: undefined, nacking: false };
  flagNacks(lane);
  const outcomes: (Error | undefined)[] = [];
  return {
    lane,
    outcomes,
    publish: () => ch.pushConfirmCallback((err) => outcomes.push(confirmError(lane, err))),
  };
}

describe('publisher channels: confirm outcomes', () => {
  it("tells amqplib's nack from a closed channel by the nack event, not by the error text", () => {
    const { lane, outcomes, publish } = confirmLane();
    for (let i = 0; i < 5; i++) publish();
    lane.ch.emit('ack', { deliveryTag: 1, multiple: false });
    lane.ch.emit('nack', { deliveryTag: 2, multiple: false });
    expect(lane.nacking).toBe(false);
    lane.ch.emit('nack', { deliveryTag: 3, multiple: true });
    lane.ch.emit('close');
    expect(outcomes).toHaveLength(5);
    expect(outcomes[0]).toBeUndefined();
    for (const o of outcomes.slice(1, 3)) {
      expect(o).toBeInstanceOf(BrokerNackError);
      expect(o?.message).toBe('the broker nacked the message');
    }
    for (const o of outcomes.slice(3)) {
      expect(o).toBeInstanceOf(ChannelLostError);
      expect(o?.message).toBe('channel closed');
    }
    expect(lane.nacking).toBe(false);
  });

  it('classifies a declaration the broker refuses for good apart from a lost channel', async () => {
    const failing = (err: unknown): PubChannel => ({
      conn: {} as ChannelModel,
      confirm: undefined,
      plain: {
        ch: { assertExchange: () => Promise.reject(err) } as unknown as Channel,
        drain: undefined,
        nacking: false,
      },
      open: true,
      declared: new Map(),
      declaredOk: new Set(),
    });
    const spec = { name: 'x', type: 'topic', durable: false, autoDelete: false } as const;
    for (const code of [406, 403]) {
      const pc = failing(Object.assign(new Error(`refused ${code}`), { code }));
      await expect(declareExchange(pc, spec)).rejects.toBeInstanceOf(BrokerRefusedError);
      expect(pc.declared.size).toBe(0);
    }
    const lost = failing(Object.assign(new Error('Channel closed by server: 404'), { code: 404 }));
    const err = await declareExchange(lost, spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelLostError);
    expect((err as Error).message).toBe('Channel closed by server: 404');
    expect(lost.declaredOk.size).toBe(0);
  });

  it('declares an exchange once per channel pair', async () => {
    let calls = 0;
    const pc: PubChannel = {
      conn: {} as ChannelModel,
      confirm: undefined,
      plain: {
        ch: {
          assertExchange: () => {
            calls++;
            return Promise.resolve({ exchange: 'x' });
          },
        } as unknown as Channel,
        drain: undefined,
        nacking: false,
      },
      open: true,
      declared: new Map(),
      declaredOk: new Set(),
    };
    const spec = { name: 'x', type: 'topic', durable: false, autoDelete: false } as const;
    await Promise.all([declareExchange(pc, spec), declareExchange(pc, spec)]);
    await declareExchange(pc, spec);
    expect(calls).toBe(1);
    expect(pc.declaredOk.has('x')).toBe(true);
  });
});
