import { describe, it, expect } from 'vitest';
import { DynamicIntervalMissingError, InvalidOptionError } from '../../src/core/index.js';
import { DynamicLoopingCall, LoopingCallDone } from '../../src/looping/index.js';
import { LEVEL } from '../helpers/log-capture.js';
import { peek, setup } from './util.js';

/** A function that records call times and returns the scripted values in turn. */
function scripted(clock: { now(): number }, calls: number[], values: unknown[]) {
  return function scriptedFn(): unknown {
    calls.push(clock.now());
    const value = values[calls.length - 1];
    if (value instanceof Error) throw value;
    return value;
  };
}

describe('DynamicLoopingCall', () => {
  it('sleeps whatever the function returns', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(
      scripted(clock, calls, [5, 2, 7, new LoopingCallDone('ok')]),
      { clock, logger },
    );
    const done = lc.start();
    await clock.advance(100);
    expect(calls).toEqual([0, 5, 7, 14]);
    await expect(done).resolves.toBe('ok');
  });

  it('sleeps after the run (no start-to-start spacing) and never warns about overruns', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new DynamicLoopingCall(
      async () => {
        calls.push(clock.now());
        await clock.sleep(10);
        return 1;
      },
      { clock, logger },
    );
    lc.start();
    await clock.advance(22);
    expect(calls).toEqual([0, 11, 22]);
    expect(logs.messages(LEVEL.warn)).toEqual([]);
    lc.stop();
  });

  it('caps the sleep at periodicIntervalMax', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [100, 3, 100]), { clock, logger });
    lc.start({ periodicIntervalMax: 30 });
    await clock.advance(63);
    expect(calls).toEqual([0, 30, 33, 63]);
    lc.stop();
  });

  it('sleeps periodicIntervalMax when the function returns undefined or null', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [undefined, null, 1]), {
      clock,
      logger,
    });
    lc.start({ periodicIntervalMax: 20 });
    await clock.advance(41);
    expect(calls).toEqual([0, 20, 40, 41]);
    lc.stop();
  });

  it('fails with DynamicIntervalMissingError on undefined without periodicIntervalMax', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [3, undefined]), { clock, logger });
    const done = lc.start();
    await clock.advance(10);
    await expect(done).rejects.toBeInstanceOf(DynamicIntervalMissingError);
    await expect(done).rejects.toThrow(
      'A dynamic interval looping call should supply either an interval or periodic_interval_max',
    );
    expect(calls).toEqual([0, 3]);
    expect(logs.messages(LEVEL.error)).toEqual([
      "Dynamic interval looping call 'scriptedFn' failed",
    ]);
  });

  it('treats periodicIntervalMax null as unset', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [null]), { clock, logger });
    const done = lc.start({ periodicIntervalMax: null });
    await clock.advance(0);
    await expect(done).rejects.toBeInstanceOf(DynamicIntervalMissingError);
  });

  it.each([['5'], [true], [Number.NaN], [{ seconds: 5 }]])(
    'fails with a TypeError when the function returns %j',
    async (value) => {
      const { clock, calls, logs, logger } = setup();
      const lc = new DynamicLoopingCall(scripted(clock, calls, [value]), { clock, logger });
      const done = lc.start({ periodicIntervalMax: 10 });
      await clock.advance(0);
      await expect(done).rejects.toThrow(TypeError);
      await expect(done).rejects.toThrow(
        /Dynamic interval looping call 'scriptedFn' must return a number of seconds/,
      );
      expect(logs.messages(LEVEL.error)).toHaveLength(1);
    },
  );

  it('runs again at once after a negative or zero result', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [-5, 0, 4, new LoopingCallDone()]), {
      clock,
      logger,
    });
    const done = lc.start();
    await clock.advance(4);
    expect(calls).toEqual([0, 0, 0, 4]);
    await expect(done).resolves.toBe(true);
  });

  it('uses the resolved value of an async function', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(
      async () => {
        calls.push(clock.now());
        return Promise.resolve(6);
      },
      { clock, logger },
    );
    lc.start();
    await clock.advance(12);
    expect(calls).toEqual([0, 6, 12]);
    lc.stop();
  });

  it('waits the initial delay first', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [2, 2, 2]), { clock, logger });
    lc.start({ initialDelay: 5 });
    await clock.advance(9);
    expect(calls).toEqual([5, 7, 9]);
    lc.stop();
  });

  it('with stopOnException: false turns an error into a 0 s sleep and continues', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new DynamicLoopingCall(
      scripted(clock, calls, [new Error('flap'), 5, new LoopingCallDone('back')]),
      { clock, logger },
    );
    const done = lc.start({ stopOnException: false, periodicIntervalMax: 60 });
    await clock.advance(5);
    expect(calls).toEqual([0, 0, 5]);
    await expect(done).resolves.toBe('back');
    expect(logs.messages(LEVEL.error)).toEqual([
      "Dynamic interval looping call 'scriptedFn' failed",
    ]);
  });

  it('stops on the first error by default', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [1, new RangeError('no')]), {
      clock,
      logger,
    });
    const done = lc.start();
    await clock.advance(5);
    await expect(done).rejects.toBeInstanceOf(RangeError);
    expect(calls).toEqual([0, 1]);
  });

  it('stop() interrupts a long dynamic sleep', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(scripted(clock, calls, [1e6]), { clock, logger });
    const done = lc.start();
    await clock.advance(1);
    lc.stop();
    expect(await peek(done)).toEqual({ state: 'fulfilled', value: true });
    expect(clock.pending).toBe(0);
  });

  it.each([
    [{ periodicIntervalMax: -1 }, /periodicIntervalMax must be a finite number >= 0/],
    [{ initialDelay: Number.NaN }, /initialDelay must be a finite number >= 0, got NaN/],
    [{ stopOnException: 1 }, /stopOnException must be a boolean/],
    [{ interval: 5 }, /unknown option 'interval'/],
  ])('rejects bad options %j', (options, message) => {
    const { clock, logger } = setup();
    const lc = new DynamicLoopingCall(() => 1, { clock, logger });
    expect(() => lc.start(options as never)).toThrow(InvalidOptionError);
    expect(() => lc.start(options as never)).toThrow(message);
    expect(lc.running).toBe(false);
  });
});
