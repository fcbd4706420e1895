import type { Channel, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { ChannelAcks } from '../../../../src/messaging/drivers/rabbit/acks.js';

/** A channel that records the acks and nacks sent on it. */
function fakeChannel(): { ch: Channel; sent: string[] } {
  const sent: string[] = [];
  const tag = (m: Message): number => m.fields.deliveryTag;
  const ch = {
    ack: (m: Message, allUpTo = false) => sent.push(`ack ${tag(m)}${allUpTo ? ' multiple' : ''}`),
    nack: (m: Message, allUpTo = false, requeue = true) =>
      sent.push(`nack ${tag(m)}${allUpTo ? ' multiple' : ''}${requeue ? ' requeue' : ''}`),
  } as unknown as Channel;
  return { ch, sent };
}

const msg = (deliveryTag: number): Message => ({ fields: { deliveryTag } }) as unknown as Message;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ChannelAcks', () => {
  it("sends one multiple ack for a turn's acks, after the turn", async () => {
    const { ch, sent } = fakeChannel();
    const acks = new ChannelAcks(ch, () => undefined);
    const ds = [1, 2, 3].map((t) => acks.track(msg(t)));
    for (const d of ds) acks.ack(d);
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual(['ack 3 multiple']);
    // Acking again is a no-op.
    acks.ack(ds[0]!);
    await nextTurn();
    expect(sent).toEqual(['ack 3 multiple']);
  });

  it('never covers a delivery still held: acks behind it go singly', async () => {
    const { ch, sent } = fakeChannel();
    const acks = new ChannelAcks(ch, () => undefined);
    const [d1, d2, d3, d4] = [1, 2, 3, 4].map((t) => acks.track(msg(t)));
    acks.ack(d1!);
    acks.ack(d3!);
    acks.ack(d4!);
    await nextTurn();
    expect(sent).toEqual(['ack 1 multiple', 'ack 3', 'ack 4']);
    // Once the held one is settled, later acks may be multiple again.
    const d5 = acks.track(msg(5));
    acks.nack(d2!, true);
    expect(sent.at(-1)).toBe('nack 2 requeue');
    acks.ack(d5);
    await nextTurn();
    expect(sent.at(-1)).toBe('ack 5 multiple');
  });

  it('sends nacks at once and flushes on demand (before a stop)', () => {
    const { ch, sent } = fakeChannel();
    const acks = new ChannelAcks(ch, () => undefined);
    const [d1, d2] = [1, 2].map((t) => acks.track(msg(t)));
    acks.nack(d2!, false);
    acks.ack(d1!);
    expect(sent).toEqual(['nack 2']);
    acks.flush();
    expect(sent).toEqual(['nack 2', 'ack 1 multiple']);
  });

  it("flushes a cast's ack on the next tick", async () => {
    const { ch, sent } = fakeChannel();
    const acks = new ChannelAcks(ch, () => undefined);
    acks.ack(acks.track(msg(1)), true);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(sent).toEqual(['ack 1 multiple']);
  });

  it('forgets everything when its channel closes', async () => {
    const { ch, sent } = fakeChannel();
    const acks = new ChannelAcks(ch, () => undefined);
    const d = acks.track(msg(1));
    acks.ack(d);
    acks.close();
    await nextTurn();
    acks.nack(acks.track(msg(2)), true);
    expect(sent).toEqual([]);
  });

  it('reports a channel that refuses an ack instead of throwing', async () => {
    const errors: unknown[] = [];
    const ch = {
      ack: () => {
        throw new Error('Channel closed');
      },
    } as unknown as Channel;
    const acks = new ChannelAcks(ch, (err) => errors.push(err));
    acks.ack(acks.track(msg(1)));
    await nextTurn();
    expect(errors).toHaveLength(1);
  });
});
