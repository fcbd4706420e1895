import { describe, it, expect } from 'vitest';
import { InvalidOptionError } from '../../src/core/index.js';
import {
  BackOffLoopingCall,
  LoopingCallDone,
  LoopingCallTimeOut,
  gauss,
} from '../../src/looping/index.js';
import { LEVEL } from '../helpers/log-capture.js';
import { setup } from './util.js';

// Uniform draws for gauss(): (angle 0, radius 0) gives exactly mu; these give mu ± sigma.
const Z_PLUS_ONE = [0, 1 - Math.exp(-0.5)];
const Z_MINUS_ONE = [0.5, 1 - Math.exp(-0.5)];

/** A random source that repeats `draws` forever. */
function cycle(draws: number[]): () => number {
  let i = 0;
  return () => draws[i++ % draws.length]!;
}

/** A function that records call times and returns the scripted results (then `last`). */
function scripted(clock: { now(): number }, calls: number[], results: unknown[], last = false) {
  return function backoffFn(): unknown {
    calls.push(clock.now());
    const value = calls.length <= results.length ? results[calls.length - 1] : last;
    if (value instanceof Error) throw value;
    return value;
  };
}

describe('gauss', () => {
  it('draws angle then radius (Box–Muller)', () => {
    expect(gauss(() => 0, 0.75, 0.1)).toBe(0.75);
    expect(gauss(cycle(Z_PLUS_ONE), 0.75, 0.1)).toBeCloseTo(0.85, 12);
    expect(gauss(cycle(Z_MINUS_ONE), 0.75, 0.1)).toBeCloseTo(0.65, 12);
  });
});

describe('BackOffLoopingCall', () => {
  it('backs off by 2·jitter per failure with the defaults', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, []), {
      clock,
      logger,
      random: () => 0,
    });
    lc.start();
    await clock.advance(12.1875);
    // Idles 1.5, 2.25, 3.375, 5.0625 (r = jitter exactly).
    expect(calls).toEqual([0, 1.5, 3.75, 7.125, 12.1875]);
    lc.stop();
  });

  it('fails with LoopingCallTimeOut once error time + idle would pass the timeout', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, []), {
      clock,
      logger,
      random: () => 0,
    });
    const done = lc.start({ timeout: 10 });
    await clock.advance(100);
    expect(calls).toEqual([0, 1.5, 3.75, 7.125]);
    // errorTime 7.125 + idle 5.0625 (later oslo versions' figure; Pike would say 7.13).
    await expect(done).rejects.toBeInstanceOf(LoopingCallTimeOut);
    await expect(done).rejects.toThrow('Looping call timed out after 12.19 seconds');
    expect(logs.messages(LEVEL.error)).toEqual([
      "Dynamic backoff interval looping call 'backoffFn' failed",
    ]);
  });

  it('allows error time + idle equal to the timeout', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, []), {
      clock,
      logger,
      random: () => 0,
    });
    const done = lc.start({ timeout: 3.75 });
    await clock.advance(100);
    expect(calls).toEqual([0, 1.5, 3.75]);
    await expect(done).rejects.toBeInstanceOf(LoopingCallTimeOut);
  });

  it('never times out with timeout 0, and caps idles at maxInterval', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, []), {
      clock,
      logger,
      random: () => 0,
    });
    lc.start({ timeout: 0, maxInterval: 4 });
    await clock.advance(1000);
    expect(calls.slice(0, 6)).toEqual([0, 1.5, 3.75, 7.125, 11.125, 15.125]);
    // 0, 1.5, 3.75, then every 4 s from 7.125 up to 1000.
    expect(calls).toHaveLength(3 + Math.floor((1000 - 7.125) / 4) + 1);
    lc.stop();
  });

  it('keeps idles at or above minInterval', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, []), {
      clock,
      logger,
      random: () => 0,
    });
    lc.start({ startingInterval: 0, minInterval: 0.5 });
    await clock.advance(1.25);
    // idle max(0, 0.5) = 0.5, interval -> 0.5; then max(0.5·1.5, 0.5) = 0.75.
    expect(calls).toEqual([0, 0.5, 1.25]);
    lc.stop();
  });

  it('sleeps startingInterval·r after a success', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, [], true), {
      clock,
      logger,
      random: () => 0,
    });
    lc.start({ startingInterval: 2 });
    await clock.advance(4.5);
    expect(calls).toEqual([0, 1.5, 3, 4.5]);
    lc.stop();
  });

  it('resets the interval and the error time after a success', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, [false, false, true, false, false]), {
      clock,
      logger,
      random: () => 0,
    });
    // Without the reset, 3.75 s of errors + 1.5 would pass the 4 s timeout.
    const done = lc.start({ timeout: 4 });
    await clock.advance(100);
    // Errors after the success: 1.5 + 2.25 = 3.75 fits; + 3.375 does not.
    expect(calls).toEqual([0, 1.5, 3.75, 4.5, 6, 8.25]);
    await expect(done).rejects.toBeInstanceOf(LoopingCallTimeOut);
  });

  it('scales the idle by the random draw but grows the interval by the mean', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, []), {
      clock,
      logger,
      random: cycle(Z_PLUS_ONE),
    });
    lc.start();
    await clock.advance(5);
    // r = 0.85: idle 1·2·0.85 = 1.7, interval -> 1.5; idle 1.5·2·0.85 = 2.55.
    expect(calls).toHaveLength(3);
    expect(calls[1]).toBeCloseTo(1.7, 9);
    expect(calls[2]).toBeCloseTo(4.25, 9);
    lc.stop();
  });

  it('takes the absolute value of the draw', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, [], true), {
      clock,
      logger,
      random: cycle(Z_MINUS_ONE),
    });
    lc.start({ jitter: 0.05 });
    await clock.advance(0.1);
    // gauss = 0.05 - 0.1 = -0.05, so each success sleeps 1·0.05.
    expect(calls).toHaveLength(3);
    expect(calls[1]).toBeCloseTo(0.05, 9);
    expect(calls[2]).toBeCloseTo(0.1, 9);
    lc.stop();
  });

  it("uses JavaScript's truthiness for success", async () => {
    const results = [1, 'x', {}, [], 0, '', null, undefined, Number.NaN];
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, results), {
      clock,
      logger,
      random: () => 0,
    });
    lc.start({ startingInterval: 4, timeout: 0 });
    await clock.advance(3 * 4);
    expect(calls).toEqual([0, 3, 6, 9, 12]); // four successes, 3 s each
    await clock.advance(6 + 9 + 13.5 + 20.25 + 30.375);
    // Then five failures: 6, 9, 13.5, 20.25, 30.375.
    expect(calls.slice(4)).toEqual([12, 18, 27, 40.5, 60.75, 91.125]);
    lc.stop();
  });

  it('waits the initial delay first', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, []), {
      clock,
      logger,
      random: () => 0,
    });
    lc.start({ initialDelay: 10 });
    await clock.advance(11.5);
    expect(calls).toEqual([10, 11.5]);
    lc.stop();
  });

  it('always stops on an error', async () => {
    const { clock, calls, logs, logger } = setup();
    const lc = new BackOffLoopingCall(scripted(clock, calls, [false, new Error('down')]), {
      clock,
      logger,
      random: () => 0,
    });
    const done = lc.start();
    await clock.advance(10);
    await expect(done).rejects.toThrow('down');
    expect(calls).toEqual([0, 1.5]);
    expect(logs.messages(LEVEL.error)).toEqual([
      "Dynamic backoff interval looping call 'backoffFn' failed",
    ]);
  });

  it('ends with the LoopingCallDone value and starts afresh on the next start()', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(
      scripted(clock, calls, [false, false, new LoopingCallDone('up')]),
      { clock, logger, random: () => 0 },
    );
    const first = lc.start();
    await clock.advance(3.75);
    await expect(first).resolves.toBe('up');
    calls.length = 0;
    const origin = clock.now();
    lc.start({ timeout: 2 });
    await clock.advance(10);
    // Fresh interval (idle 1.5 again) and fresh error time (1.5 + 2.25 > 2).
    expect(calls.map((t) => t - origin)).toEqual([0, 1.5]);
    await expect(lc.wait()).rejects.toThrow('after 3.75 seconds');
  });

  it('uses Math.random by default', async () => {
    const { clock, calls, logger } = setup();
    const lc = new BackOffLoopingCall(
      scripted(clock, calls, [false, false, new LoopingCallDone(7)]),
      { clock, logger },
    );
    const done = lc.start();
    await clock.advance(300);
    await expect(done).resolves.toBe(7);
    expect(calls).toHaveLength(3);
  });

  it.each([
    [{ jitter: -0.1 }, /jitter must be a finite number >= 0/],
    [{ startingInterval: Infinity }, /startingInterval must be a finite number >= 0/],
    [{ timeout: '300' }, /timeout must be a finite number >= 0, got "300"/],
    [{ maxInterval: -1 }, /maxInterval must be a finite number >= 0/],
    [{ minInterval: Number.NaN }, /minInterval must be a finite number >= 0/],
    [{ initialDelay: -1 }, /initialDelay must be a finite number >= 0/],
    [{ minInterval: 5, maxInterval: 1 }, /minInterval \(5\) must not exceed maxInterval \(1\)/],
    [{ stopOnException: false }, /unknown option 'stopOnException'/],
  ])('rejects bad options %j', (options, message) => {
    const { clock, logger } = setup();
    const lc = new BackOffLoopingCall(() => true, { clock, logger });
    expect(() => lc.start(options as never)).toThrow(InvalidOptionError);
    expect(() => lc.start(options as never)).toThrow(message);
    expect(lc.running).toBe(false);
  });

  it('rejects a random source that is not a function', () => {
    expect(() => new BackOffLoopingCall(() => true, { random: 0.5 as never })).toThrow(
      InvalidOptionError,
    );
  });
});
