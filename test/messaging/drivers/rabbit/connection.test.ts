/**
 * ManagedConnection's reconnection schedule on a VirtualClock: every pause (the back-off after a
 * failed attempt, `kombu_reconnect_delay` after a loss) is a clock sleep, so the tests move time
 * and check when each attempt happened, in virtual seconds. Real time only bounds how long a test
 * waits for the I/O of an attempt (port 1 refuses at once; the broker answers within milliseconds).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  MessageDeliveryFailure,
  VirtualClock,
  type Logger,
} from '../../../../src/core/index.js';
import {
  type BrokerEndpoint,
  type ConnectionConfig,
  ManagedConnection,
  retryDelay,
  type SetupFn,
} from '../../../../src/messaging/drivers/rabbit/connection.js';
import {
  DEFAULT_RABBIT_OPTIONS,
  type RabbitOptions,
} from '../../../../src/messaging/drivers/rabbit/options.js';
import { rabbitAvailable, waitFor } from './helpers.js';

const available = await rabbitAvailable();

/** 127.0.0.1:1 refuses connections at once. */
const UNREACHABLE: BrokerEndpoint = {
  hostname: '127.0.0.1',
  port: 1,
  username: 'guest',
  password: 'guest',
};
const BROKER: BrokerEndpoint = { ...UNREACHABLE, port: 5672 };

/** A log line with the virtual time it was written at. */
interface TimedLine {
  at: number;
  level: number;
  msg: string;
}

/** A trace logger whose lines are kept with `clock.now()` at the time of writing. */
function timedLogs(clock: VirtualClock): { logger: Logger; lines: TimedLine[] } {
  const lines: TimedLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim()) lines.push({ ...(JSON.parse(text) as TimedLine), at: clock.now() });
      }
      cb();
    },
  });
  return { logger: createLogger({ level: 'trace' }, stream), lines };
}

function setUp(
  endpoint: BrokerEndpoint,
  options: Partial<RabbitOptions>,
  setup: (clock: VirtualClock) => SetupFn = () => async () => undefined,
): { clock: VirtualClock; lines: TimedLine[]; mc: ManagedConnection } {
  const clock = new VirtualClock();
  const { logger, lines } = timedLogs(clock);
  const config: ConnectionConfig = {
    endpoints: [endpoint],
    virtualHost: '/',
    options: { ...DEFAULT_RABBIT_OPTIONS, ...options },
    tls: undefined,
    logger,
    clock,
  };
  return { clock, lines, mc: new ManagedConnection('test', config, setup(clock)) };
}

/** Waits (for the attempt's I/O) until the loop's only sleeper is the pause ending at `at`. */
async function pausedUntil(clock: VirtualClock, at: number): Promise<void> {
  await waitFor(
    () => clock.pending === 1 && clock.nextWakeup() === at,
    5000,
    `a single pause ending at ${at} (pending ${clock.pending}, next ${clock.nextWakeup()})`,
  );
}

const times = (lines: TimedLine[], pattern: RegExp): number[] =>
  lines.filter((l) => pattern.test(l.msg)).map((l) => l.at);

describe('ManagedConnection back-off (virtual clock)', () => {
  it('backs off like kombu: 1, 3, 5 ... capped at 30 s', () => {
    const o = DEFAULT_RABBIT_OPTIONS;
    expect([1, 2, 3, 4, 15, 16, 100].map((n) => retryDelay(o, n))).toEqual([
      1, 3, 5, 7, 29, 30, 30,
    ]);
  });

  it('tries an unreachable host again after 1, 3, 5 ... s, capped at rabbit_interval_max', async () => {
    const { clock, lines, mc } = setUp(UNREACHABLE, {
      rabbit_retry_interval: 1,
      rabbit_retry_backoff: 2,
      rabbit_interval_max: 6,
    });
    const unreachable = /^AMQP server on 127\.0\.0\.1:1 is unreachable: .*\. Trying again in/;
    try {
      await mc.start(); // resolves after the first attempt
      expect(times(lines, unreachable)).toEqual([0]);
      const attempts = [1, 4, 9, 15, 21, 27];
      for (const at of attempts) {
        await pausedUntil(clock, at);
        // Just before the pause ends, nothing happens.
        await clock.advanceTo(at - 0.001);
        expect(times(lines, unreachable)).toHaveLength(attempts.indexOf(at) + 1);
        await clock.advanceTo(at);
      }
      await pausedUntil(clock, 33);
      expect(times(lines, unreachable)).toEqual([0, ...attempts]);
      expect(
        lines
          .filter((l) => unreachable.test(l.msg))
          .map((l) => /in (\d+) seconds/.exec(l.msg)?.[1]),
      ).toEqual(['1', '3', '5', '6', '6', '6', '6']);
      expect(mc.ready).toBe(false);
    } finally {
      await mc.close();
    }
    expect(clock.pending).toBe(0);
  });

  it('close() ends a back-off pause at once; no attempt follows', async () => {
    const { clock, lines, mc } = setUp(UNREACHABLE, {});
    await mc.start();
    await pausedUntil(clock, 1);
    await mc.close();
    expect(clock.pending).toBe(0);
    await clock.advance(100);
    expect(times(lines, /is unreachable/)).toEqual([0]);
    expect(mc.closed).toBe(true);
    await expect(mc.waitReady()).rejects.toThrow(/Transport is closed/);
  });

  it('waitReady gives up at its deadline, on the clock', async () => {
    const { clock, mc } = setUp(UNREACHABLE, { rabbit_retry_interval: 10 });
    try {
      const ready = mc.waitReady(2.5, 'publish');
      const verdict = ready.then(
        () => 'ready',
        (err: unknown) => err,
      );
      await mc.start();
      await clock.advanceTo(2.499);
      await clock.advanceTo(2.5);
      const err = await verdict;
      expect(err).toBeInstanceOf(MessageDeliveryFailure);
      // With why the last attempt failed (the connection error is in the log line too).
      expect((err as Error).message).toMatch(
        /^Could not publish: no connection to the AMQP server \(127\.0\.0\.1:1\) in time; last attempt: 127\.0\.0\.1:1 is unreachable: .*ECONNREFUSED/,
      );
    } finally {
      await mc.close();
    }
  });

  it.skipIf(!available)(
    'after a loss, waits kombu_reconnect_delay, then backs off on failing set-ups and starts over once ready',
    async () => {
      let failing = false;
      const setups: number[] = [];
      const { clock, lines, mc } = setUp(
        BROKER,
        { kombu_reconnect_delay: 2, rabbit_retry_interval: 1, rabbit_retry_backoff: 2 },
        (c) => async () => {
          setups.push(c.now());
          if (failing) throw new MessageDeliveryFailure('set-up refused by the test');
        },
      );
      try {
        await mc.waitReady();
        expect(setups).toEqual([0]);

        failing = true;
        mc.reset('cut by the test');
        await pausedUntil(clock, 2); // kombu_reconnect_delay after the loss
        await clock.advanceTo(2); // set-up fails: 1 s
        await pausedUntil(clock, 3);
        await clock.advanceTo(3); // fails again: 3 s
        await pausedUntil(clock, 6);
        failing = false;
        await clock.advanceTo(6);
        await waitFor(() => mc.ready, 5000, 'the connection to be ready again');
        expect(setups).toEqual([0, 2, 3, 6]);

        // Ready again: the next loss starts the schedule over.
        failing = true;
        mc.reset('cut by the test again');
        await pausedUntil(clock, 8);
        await clock.advanceTo(8);
        await pausedUntil(clock, 9);
        expect(setups).toEqual([0, 2, 3, 6, 8]);

        expect(
          times(lines, /^Connection to AMQP server on .* lost.*Reconnecting in 2 seconds/),
        ).toEqual([0, 6]);
        expect(
          lines
            .filter((l) => /^Setting up the AMQP connection/.test(l.msg))
            .map((l) => [l.at, /in (\d+) seconds/.exec(l.msg)?.[1]]),
        ).toEqual([
          [2, '1'],
          [3, '3'],
          [8, '1'],
        ]);
      } finally {
        await mc.close();
      }
      expect(clock.pending).toBe(0);
    },
  );
});
