import { describe, it, expect } from 'vitest';
import { InvalidOptionError } from '../../src/core/index.js';
import {
  FixedIntervalLoopingCall,
  FixedIntervalWithTimeoutLoopingCall,
  LoopingCallDone,
  LoopingCallTimeOut,
} from '../../src/looping/index.js';
import { LEVEL } from '../helpers/log-capture.js';
import { peek, setup, slow } from './util.js';

describe('FixedIntervalLoopingCall', () => {
  it('spaces runs start to start, so a slow async function does not drift', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalLoopingCall(slow(clock, 3, calls), { clock, logger });
    lc.start({ interval: 10 });
    await clock.advance(40);
    expect(calls).toEqual([0, 10, 20, 30, 40]);
    expect(logs.messages(LEVEL.warn)).toEqual([]);
    expect(logs.messages(LEVEL.trace)[0]).toBe(
      "Fixed interval looping call 'slowFn' sleeping for 7.00 seconds",
    );
    lc.stop();
  });

  it('ignores the result of the function', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalLoopingCall(() => calls.push(clock.now()) * 1000, {
      clock,
      logger,
    });
    lc.start({ interval: 5 });
    await clock.advance(10);
    expect(calls).toEqual([0, 5, 10]);
    lc.stop();
  });

  it('warns when a run outlasts the interval and starts the next run at once', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalLoopingCall(slow(clock, 3, calls), { clock, logger });
    lc.start({ interval: 2 });
    await clock.advance(9);
    expect(calls).toEqual([0, 3, 6, 9]);
    expect(logs.messages(LEVEL.warn)).toEqual([
      "Function 'slowFn' run outlasted interval by 1.00 sec",
      "Function 'slowFn' run outlasted interval by 1.00 sec",
      "Function 'slowFn' run outlasted interval by 1.00 sec",
    ]);
    expect(logs.messages(LEVEL.trace)[0]).toBe(
      "Fixed interval looping call 'slowFn' sleeping for 0.00 seconds",
    );
    lc.stop();
  });

  it('formats the overrun with two decimals', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalLoopingCall(slow(clock, 2.456, calls), { clock, logger });
    lc.start({ interval: 1 });
    await clock.advance(2.456);
    expect(logs.messages(LEVEL.warn)).toEqual([
      "Function 'slowFn' run outlasted interval by 1.46 sec",
    ]);
    lc.stop();
  });

  it('does not warn for an overrun that rounds to 0.00, nor for a run of exactly the interval', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalLoopingCall(slow(clock, 2.004, calls), { clock, logger });
    lc.start({ interval: 2 });
    await clock.advance(2.004 * 2);
    expect(calls).toEqual([0, 2.004, 4.008]);
    lc.stop();

    const fresh = setup();
    const lc2 = new FixedIntervalLoopingCall(slow(fresh.clock, 2, fresh.calls), {
      clock: fresh.clock,
      logger: fresh.logger,
    });
    lc2.start({ interval: 2 });
    await fresh.clock.advance(4);
    expect(fresh.calls).toEqual([0, 2, 4]);
    lc2.stop();
    expect(logs.messages(LEVEL.warn)).toEqual([]);
    expect(fresh.logs.messages(LEVEL.warn)).toEqual([]);
  });

  it('waits the initial delay before the first run', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalLoopingCall(() => calls.push(clock.now()), { clock, logger });
    lc.start({ interval: 10, initialDelay: 7 });
    await clock.advance(6.9);
    expect(calls).toEqual([]);
    await clock.advance(20.1);
    expect(calls).toEqual([7, 17, 27]);
    lc.stop();
  });

  it('treats an initial delay of 0 or null as none', async () => {
    for (const initialDelay of [0, null, undefined]) {
      const { clock, calls, logger } = setup();
      const lc = new FixedIntervalLoopingCall(() => calls.push(clock.now()), { clock, logger });
      lc.start({ interval: 10, initialDelay });
      await clock.advance(0);
      expect(calls).toEqual([0]);
      lc.stop();
    }
  });

  it('stops on the first error by default', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalLoopingCall(
      function flaky() {
        calls.push(clock.now());
        if (calls.length === 2) throw new TypeError('bad state');
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 5 });
    await clock.advance(20);
    await expect(done).rejects.toThrow(TypeError);
    expect(calls).toEqual([0, 5]);
    expect(logs.messages(LEVEL.error)).toEqual(["Fixed interval looping call 'flaky' failed"]);
  });

  it('with stopOnException: false logs each error and keeps the schedule', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalLoopingCall(
      function flaky() {
        calls.push(clock.now());
        if (calls.length % 2 === 0) throw new Error(`failure ${calls.length}`);
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 5, stopOnException: false });
    await clock.advance(20);
    expect(calls).toEqual([0, 5, 10, 15, 20]);
    const errors = logs.lines.filter((l) => l.level === LEVEL.error);
    expect(errors.map((l) => l.msg)).toEqual([
      "Fixed interval looping call 'flaky' failed",
      "Fixed interval looping call 'flaky' failed",
    ]);
    expect(errors.map((l) => l.err?.message)).toEqual(['failure 2', 'failure 4']);
    lc.stop();
    expect(await peek(done)).toEqual({ state: 'fulfilled', value: true });
  });

  it('with stopOnException: false still ends on LoopingCallDone', async () => {
    const { clock, logger } = setup();
    const lc = new FixedIntervalLoopingCall(
      () => {
        throw new LoopingCallDone('finished');
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 5, stopOnException: false });
    await clock.advance(0);
    await expect(done).resolves.toBe('finished');
  });

  it.each([
    [{ interval: -1 }, /interval must be a finite number >= 0, got -1/],
    [{ interval: Number.NaN }, /interval must be a finite number >= 0, got NaN/],
    [{ interval: Infinity }, /interval must be a finite number >= 0/],
    [{ interval: '5' }, /interval must be a finite number >= 0, got "5"/],
    [{}, /interval must be a finite number >= 0, got undefined/],
    [{ interval: 1, initialDelay: -2 }, /initialDelay must be a finite number >= 0/],
    [{ interval: 1, stopOnException: 'no' }, /stopOnException must be a boolean/],
    [{ interval: 1, initial_delay: 3 }, /unknown option 'initial_delay'/],
    [{ interval: 1, timeout: 3 }, /unknown option 'timeout'/],
    [null, /options must be an object/],
  ])('rejects bad options %j before starting', (options, message) => {
    const { clock, logger } = setup();
    const lc = new FixedIntervalLoopingCall(() => undefined, { clock, logger });
    expect(() => lc.start(options as never)).toThrow(InvalidOptionError);
    expect(() => lc.start(options as never)).toThrow(message);
    expect(lc.running).toBe(false);
    expect(() => lc.start({ interval: 1 })).not.toThrow();
    lc.stop();
  });
});

describe('FixedIntervalWithTimeoutLoopingCall', () => {
  it('fails with LoopingCallTimeOut after the first run past the timeout', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(
      function probe() {
        calls.push(clock.now());
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 10, timeout: 25 });
    await clock.advance(100);
    await expect(done).rejects.toBeInstanceOf(LoopingCallTimeOut);
    await expect(lc.wait()).rejects.toThrow('Looping call timed out after 30.00 seconds');
    expect(calls).toEqual([0, 10, 20, 30]);
    const errors = logs.lines.filter((l) => l.level === LEVEL.error);
    expect(errors.map((l) => l.msg)).toEqual([
      "Fixed interval looping call with timeout checking. 'probe' failed",
    ]);
    expect(errors[0]?.err?.type).toBe('LoopingCallTimeOut');
  });

  it('counts the initial delay in the timeout', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(() => calls.push(clock.now()), {
      clock,
      logger,
    });
    const done = lc.start({ interval: 10, timeout: 25, initialDelay: 20 });
    await clock.advance(100);
    // Without the delay counted, the run at 30 would be only 10 s into the loop.
    expect(calls).toEqual([20, 30]);
    await expect(done).rejects.toThrow('Looping call timed out after 30.00 seconds');
  });

  it('times out only when strictly more than the timeout has passed', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(() => calls.push(clock.now()), {
      clock,
      logger,
    });
    const done = lc.start({ interval: 10, timeout: 20 });
    await clock.advance(100);
    expect(calls).toEqual([0, 10, 20, 30]);
    await expect(done).rejects.toThrow('after 30.00 seconds');
  });

  it('measures the timeout after the run, and warns about the overrun first', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(slow(clock, 30.5, calls), {
      clock,
      logger,
    });
    const done = lc.start({ interval: 10, timeout: 25 });
    await clock.advance(100);
    expect(calls).toEqual([0]);
    await expect(done).rejects.toThrow('Looping call timed out after 30.50 seconds');
    expect(logs.lines.filter((l) => l.level >= LEVEL.warn).map((l) => l.msg)).toEqual([
      "Function 'slowFn' run outlasted interval by 20.50 sec",
      "Fixed interval looping call with timeout checking. 'slowFn' failed",
    ]);
  });

  it('never times out with the default timeout of 0', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(() => calls.push(clock.now()), {
      clock,
      logger,
    });
    const done = lc.start({ interval: 60 });
    await clock.advance(6000);
    expect(calls).toHaveLength(101);
    lc.stop();
    expect(await peek(done)).toEqual({ state: 'fulfilled', value: true });
  });

  it('is not caught by stopOnException: false', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(() => calls.push(clock.now()), {
      clock,
      logger,
    });
    const done = lc.start({ interval: 1, timeout: 2.5, stopOnException: false });
    await clock.advance(10);
    expect(calls).toEqual([0, 1, 2, 3]);
    await expect(done).rejects.toBeInstanceOf(LoopingCallTimeOut);
  });

  it('ends cleanly when stopped during a run that passes the timeout', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(slow(clock, 50, calls), { clock, logger });
    const done = lc.start({ interval: 10, timeout: 25 });
    await clock.advance(1);
    lc.stop();
    await clock.advance(49);
    await expect(done).resolves.toBe(true);
  });

  it('restarts the timeout at every start()', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(() => calls.push(clock.now()), {
      clock,
      logger,
    });
    const first = lc.start({ interval: 10, timeout: 15 });
    await clock.advance(30);
    await expect(first).rejects.toThrow('after 20.00 seconds');
    const second = lc.start({ interval: 10, timeout: 15 });
    await clock.advance(30);
    await expect(second).rejects.toThrow('after 20.00 seconds');
    expect(calls).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('applies the fixed-interval option checks plus timeout', () => {
    const { clock, logger } = setup();
    const lc = new FixedIntervalWithTimeoutLoopingCall(() => undefined, { clock, logger });
    expect(() => lc.start({ interval: 1, timeout: -1 })).toThrow(
      /timeout must be a finite number >= 0, got -1/,
    );
    expect(() => lc.start({ interval: -1 })).toThrow(InvalidOptionError);
    expect(lc.running).toBe(false);
  });
});
