import { describe, expect, it } from 'vitest';
import { OperationTimedOut, VirtualClock } from '../../../../src/core/index.js';
import {
  closeQuietly,
  pause,
  uuidHex,
  withTimeout,
} from '../../../../src/messaging/drivers/rabbit/util.js';
import { captureLogs } from '../../../helpers/log-capture.js';

describe('rabbit driver utilities (virtual clock)', () => {
  it('withTimeout rejects with OperationTimedOut once the clock reaches the timeout', async () => {
    const clock = new VirtualClock();
    const never = new Promise<never>(() => undefined);
    const verdict = withTimeout(never, 5, clock, 'Closing the AMQP connection').catch(
      (e: unknown) => e,
    );
    await clock.advanceTo(4.999);
    await clock.advanceTo(5);
    const err = await verdict;
    expect(err).toBeInstanceOf(OperationTimedOut);
    expect((err as Error).message).toBe('Closing the AMQP connection timed out after 5 s');
  });

  it('withTimeout settles with its promise and leaves no sleeper behind', async () => {
    const clock = new VirtualClock();
    await expect(withTimeout(Promise.resolve(7), 5, clock, 'x')).resolves.toBe(7);
    expect(clock.pending).toBe(0);
    await expect(withTimeout(Promise.reject(new Error('no')), 5, clock, 'x')).rejects.toThrow('no');
    expect(clock.pending).toBe(0);
    // A non-Error rejection comes out as an Error.
    const err = await withTimeout(Promise.reject('text'), 5, clock, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('text');
  });

  it('pause ends at its time, or at once (resolving) when its signal aborts', async () => {
    const clock = new VirtualClock();
    let done = false;
    void pause(clock, 2).then(() => (done = true));
    await clock.advanceTo(1.999);
    expect(done).toBe(false);
    await clock.advanceTo(2);
    expect(done).toBe(true);
    const stop = new AbortController();
    const stopped = pause(clock, 10, stop.signal);
    stop.abort(new Error('stopping'));
    await expect(stopped).resolves.toBeUndefined();
    expect(clock.pending).toBe(0);
    await expect(pause(clock, 1, stop.signal)).resolves.toBeUndefined();
  });

  it('closeQuietly logs a failed close at debug instead of rejecting', async () => {
    const logs = captureLogs();
    await closeQuietly(
      { close: () => Promise.reject(new Error('Channel closed')) },
      logs.logger,
      'Could not close the test channel (already closed)',
    );
    expect(logs.lines).toMatchObject([
      {
        level: 20,
        msg: 'Could not close the test channel (already closed)',
        err: 'Channel closed',
      },
    ]);
  });

  it('writes uuids as 32 hex digits', () => {
    expect(uuidHex()).toMatch(/^[0-9a-f]{32}$/);
  });
});
