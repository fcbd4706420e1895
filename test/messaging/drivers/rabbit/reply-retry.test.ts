import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../../src/core/index.js';
import {
  GONE_QUEUES_TTL,
  ReplyRetry,
} from '../../../../src/messaging/drivers/rabbit/reply-retry.js';
import { encodeEnvelope } from '../../../../src/messaging/index.js';
import { captureLogs } from '../../../helpers/log-capture.js';

/** A Basic.Return of a reply (or heartbeat) to `replyQ`. */
const returned = (msgId: string, replyQ: string, ending = true): ConsumeMessage =>
  ({
    fields: { routingKey: replyQ },
    content: Buffer.from(
      encodeEnvelope({ result: 'r', failure: null, ending, _msg_id: msgId, _unique_id: 'u' }),
    ),
  }) as unknown as ConsumeMessage;

/**
 * A ReplyRetry on a virtual clock whose resends the "broker" returns again while `missing` says
 * the queue is missing.
 */
function setUp(retryTimeout: number, missing: (sends: number) => boolean = () => true) {
  const clock = new VirtualClock();
  const logs = captureLogs();
  const sent: { at: number; replyQ: string; body: string }[] = [];
  const retry: ReplyRetry = new ReplyRetry({
    clock,
    logger: logs.logger,
    retryTimeout,
    resend: async (replyQ, body) => {
      sent.push({ at: clock.now(), replyQ, body });
      if (missing(sent.length)) {
        retry.onReturn({
          fields: { routingKey: replyQ },
          content: Buffer.from(body),
        } as unknown as ConsumeMessage);
      }
    },
  });
  return { clock, logs, sent, retry };
}

describe('ReplyRetry (virtual clock)', () => {
  it('sends a returned reply again every 0.25 s, then abandons it and remembers the queue', async () => {
    const { clock, logs, sent, retry } = setUp(1);
    const msg = returned('m1', 'reply_gone');
    retry.onReturn(msg);
    expect(retry.retrying).toBe(1);
    await clock.advance(5);
    expect(sent.map((s) => s.at)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(sent.every((s) => s.replyQ === 'reply_gone' && s.body === msg.content.toString())).toBe(
      true,
    );
    expect(logs.messages()).toContain(
      'The reply m1 failed to send after 1 seconds due to a missing queue (reply_gone). Abandoning...',
    );
    expect(
      logs.messages().filter((m) => /^The reply m1 cannot be sent: .*retrying\.\.\.$/.test(m)),
    ).toHaveLength(4);
    expect(retry.retrying).toBe(0);
    expect(clock.pending).toBe(0);
    // Gone for 60 s from the abandon (at 1 s).
    expect(retry.isGone('reply_gone')).toBe(true);
    await clock.advanceTo(1 + GONE_QUEUES_TTL - 0.001);
    expect(retry.isGone('reply_gone')).toBe(true);
    await clock.advanceTo(1 + GONE_QUEUES_TTL);
    expect(retry.isGone('reply_gone')).toBe(false);
    expect(retry.isGone('reply_other')).toBe(false);
  });

  it('waits only the time left when it is less than 0.25 s', async () => {
    const { clock, sent, retry } = setUp(0.6);
    retry.onReturn(returned('m2', 'reply_x'));
    await clock.advance(5);
    expect(sent.map((x) => x.at)).toEqual([0.25, 0.5, expect.closeTo(0.6, 9)]);
    expect(retry.isGone('reply_x')).toBe(true);
  });

  it('stops once the reply queue is back (a caller reconnecting)', async () => {
    const { clock, logs, sent, retry } = setUp(1, (n) => n < 2);
    retry.onReturn(returned('m3', 'reply_late'));
    await clock.advance(5);
    expect(sent.map((s) => s.at)).toEqual([0.25, 0.5]);
    expect(logs.messages().some((m) => /Abandoning/.test(m))).toBe(false);
    expect(retry.isGone('reply_late')).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('drops returned heartbeats and bodies that are no reply', async () => {
    const { clock, logs, sent, retry } = setUp(1);
    retry.onReturn(returned('h1', 'reply_h', false));
    retry.onReturn({
      fields: { routingKey: 'reply_h' },
      content: Buffer.from('not json'),
    } as unknown as ConsumeMessage);
    expect(clock.pending).toBe(0);
    await clock.advance(5);
    expect(sent).toEqual([]);
    expect(logs.messages()).toContain('The broker returned a message');
  });

  it('close() ends the pending retries without sending, and ignores later returns', async () => {
    const { clock, sent, retry } = setUp(1);
    retry.onReturn(returned('m4', 'reply_c'));
    expect(clock.pending).toBe(1);
    retry.close();
    await clock.advance(5);
    expect(sent).toEqual([]);
    expect(clock.pending).toBe(0);
    retry.onReturn(returned('m5', 'reply_c'));
    expect(clock.pending).toBe(0);
  });
});
