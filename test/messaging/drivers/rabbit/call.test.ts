import { describe, expect, it } from 'vitest';
import {
  MessageDeliveryFailure,
  MessagingTimeout,
  VirtualClock,
} from '../../../../src/core/index.js';
import { Call, expirationOf } from '../../../../src/messaging/drivers/rabbit/call.js';
import type { ReplyConsumer } from '../../../../src/messaging/drivers/rabbit/reply.js';
import { DeadlineQueue } from '../../../../src/messaging/deadlines.js';

function call(monitor: number | undefined, timeout: number) {
  const clock = new VirtualClock();
  const deadlines = new DeadlineQueue(clock);
  const unregistered: string[] = [];
  const replies = { unregister: (id: string) => unregistered.push(id) } as unknown as ReplyConsumer;
  const outcome: { value?: unknown; err?: Error; at?: number } = {};
  const c = new Call(
    'm1',
    'x',
    monitor,
    replies,
    deadlines,
    (value) => Object.assign(outcome, { value, at: clock.now() }),
    (err) => Object.assign(outcome, { err, at: clock.now() }),
  );
  c.cancelTimeout = deadlines.add(timeout, c.expire);
  return { clock, c, outcome, unregistered, deadlines };
}

describe('Call (virtual clock)', () => {
  it('times out with MessagingTimeout once written, MessageDeliveryFailure if never written', async () => {
    const sent = call(undefined, 3);
    sent.c.published(undefined);
    await sent.clock.advance(3);
    expect(sent.outcome.err).toBeInstanceOf(MessagingTimeout);
    expect(sent.outcome.err?.message).toBe('Timed out waiting for a reply to message ID m1');
    expect(sent.outcome.at).toBe(3);
    expect(sent.unregistered).toEqual(['m1']);

    const unsent = call(undefined, 3);
    await unsent.clock.advance(3);
    expect(unsent.outcome.err).toBeInstanceOf(MessageDeliveryFailure);
    expect(unsent.outcome.err?.message).toBe(
      "Could not send the request to exchange 'x' in time: no connection to the AMQP server",
    );
  });

  it('ends early without heartbeats; each heartbeat re-arms the call monitor', async () => {
    const { clock, c, outcome } = call(2, 60);
    c.published(undefined);
    await clock.advanceTo(1.5);
    c.heartbeat();
    await clock.advanceTo(3);
    c.heartbeat();
    await clock.advanceTo(4.999);
    expect(outcome.err).toBeUndefined();
    await clock.advanceTo(5);
    expect(outcome.err).toBeInstanceOf(MessagingTimeout);
    expect(outcome.at).toBe(5);
  });

  it('settles once, with the result or the remote failure, and cancels its timers', async () => {
    const ok = call(2, 60);
    ok.c.published(undefined);
    ok.c.settle({ msgId: 'm1', ending: true, result: 42, failure: null });
    ok.c.fail(new MessageDeliveryFailure('too late'));
    expect(ok.outcome).toMatchObject({ value: 42 });
    expect(ok.outcome.err).toBeUndefined();
    expect(ok.deadlines.size).toBe(0);

    const failed = call(undefined, 60);
    failed.c.settle({
      msgId: 'm1',
      ending: true,
      result: null,
      failure: JSON.stringify({ class: 'ValueError', module: 'builtins', message: 'bad', tb: [] }),
    });
    expect(failed.outcome.err?.message).toMatch(/bad/);
  });

  it('writes the per-message TTL in ms', () => {
    expect(expirationOf(60)).toBe('60000');
    expect(expirationOf(0.5)).toBe('500');
  });
});
