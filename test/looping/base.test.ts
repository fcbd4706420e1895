import { describe, it, expect } from 'vitest';
import {
  AlreadyRunningError,
  DynamicIntervalMissingError,
  InvalidOptionError,
  NotStartedError,
  VirtualClock,
  hasErrorCode,
  rootLogger,
  setRootLogger,
} from '../../src/core/index.js';
import {
  BackOffLoopingCall,
  DynamicLoopingCall,
  FixedIntervalLoopingCall,
  FixedIntervalWithTimeoutLoopingCall,
  LoopingCallDone,
  LoopingCallTimeOut,
} from '../../src/looping/index.js';
import { LEVEL, captureLogs } from '../helpers/log-capture.js';
import { peek, setup, slow } from './util.js';

describe('LoopingCallDone', () => {
  it('defaults its return value to true', () => {
    const done = new LoopingCallDone();
    expect(done.returnValue).toBe(true);
    expect(done).toBeInstanceOf(Error);
    expect(done.name).toBe('LoopingCallDone');
  });

  it('keeps any value, an explicit undefined included', () => {
    expect(new LoopingCallDone(42).returnValue).toBe(42);
    expect(new LoopingCallDone(null).returnValue).toBe(null);
    expect(new LoopingCallDone(undefined).returnValue).toBeUndefined();
  });

  it('is re-exported with LoopingCallTimeOut from the looping face', () => {
    const err = new LoopingCallTimeOut('x');
    expect(hasErrorCode(err, 'CONDUCTOR_LOOPING_TIMEOUT')).toBe(true);
  });
});

describe('looping call lifecycle', () => {
  it('wait() before any start is a promise rejected with NotStartedError', async () => {
    const lc = new FixedIntervalLoopingCall(() => undefined);
    await expect(lc.wait()).rejects.toBeInstanceOf(NotStartedError);
    await expect(lc.wait()).rejects.toThrow(/never started/);
  });

  it('does not call the function inside start(), only once the caller yields', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalLoopingCall(() => calls.push(clock.now()), { clock, logger });
    lc.start({ interval: 1 });
    expect(calls).toEqual([]);
    expect(lc.running).toBe(true);
    await clock.advance(0);
    expect(calls).toEqual([0]);
    lc.stop();
  });

  it('ends with the LoopingCallDone value; start() and wait() give the same promise', async () => {
    const { clock, logger } = setup();
    let n = 0;
    const lc = new FixedIntervalLoopingCall(
      () => {
        if (++n === 3) throw new LoopingCallDone({ rounds: n });
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 5 });
    expect(lc.wait()).toBe(done);
    await clock.advance(10);
    await expect(done).resolves.toEqual({ rounds: 3 });
    expect(clock.now()).toBe(10);
    expect(lc.running).toBe(false);
  });

  it('a failure is logged with the error and rejects both start() and wait()', async () => {
    const { clock, logs, logger } = setup();
    const boom = new Error('boom');
    const lc = new FixedIntervalLoopingCall(
      function tick() {
        throw boom;
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 5 });
    await clock.advance(0);
    await expect(done).rejects.toBe(boom);
    await expect(lc.wait()).rejects.toBe(boom);
    const errors = logs.lines.filter((l) => l.level === LEVEL.error);
    expect(errors.map((l) => l.msg)).toEqual(["Fixed interval looping call 'tick' failed"]);
    expect(errors[0]?.err?.message).toBe('boom');
    expect(lc.running).toBe(false);
  });

  it('an unobserved failure creates no unhandled rejection', async () => {
    const { clock, logger } = setup();
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const lc = new DynamicLoopingCall(
        () => {
          throw new Error('nobody listens');
        },
        { clock, logger },
      );
      lc.start(); // promise dropped on purpose
      await clock.advance(0);
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      await expect(lc.wait()).rejects.toThrow('nobody listens');
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('accepts sync and async functions and awaits the async one', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(
      async () => {
        calls.push(clock.now());
        await clock.sleep(1);
        return 4; // resolved value is the next sleep
      },
      { clock, logger },
    );
    lc.start();
    await clock.advance(11);
    expect(calls).toEqual([0, 5, 10]);
    lc.stop();
  });

  it('can be started again once finished, and wait() follows the latest run', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalLoopingCall(
      () => {
        calls.push(clock.now());
        if (calls.length % 2 === 0) throw new LoopingCallDone(calls.length);
      },
      { clock, logger },
    );
    const first = lc.start({ interval: 1 });
    await clock.advance(1);
    await expect(first).resolves.toBe(2);
    const second = lc.start({ interval: 3 });
    expect(lc.wait()).toBe(second);
    await clock.advance(3);
    await expect(second).resolves.toBe(4);
    expect(calls).toEqual([0, 1, 1, 4]);
  });

  it('can be restarted straight after awaiting the done promise', async () => {
    const { clock, logger } = setup();
    const lc = new FixedIntervalLoopingCall(
      () => {
        throw new LoopingCallDone();
      },
      { clock, logger },
    );
    await clock.advance(0);
    const first = lc.start({ interval: 1 });
    await clock.advance(0);
    await first;
    expect(() => lc.start({ interval: 1 })).not.toThrow();
    await clock.advance(0);
    await expect(lc.wait()).resolves.toBe(true);
  });

  it('reports running from start() until stop() or the end', async () => {
    const { clock, logger } = setup();
    const lc = new FixedIntervalLoopingCall(() => undefined, { clock, logger });
    expect(lc.running).toBe(false);
    lc.start({ interval: 1 });
    expect(lc.running).toBe(true);
    await clock.advance(2);
    expect(lc.running).toBe(true);
    lc.stop();
    expect(lc.running).toBe(false);
    expect(await peek(lc.wait())).toEqual({ state: 'fulfilled', value: true });
  });

  it('uses fn.name, then "anonymous", unless a name is given', async () => {
    const { clock, logs, logger } = setup();
    const named = new DynamicLoopingCall(function pollVim() {}, { clock, logger });
    const anon = new DynamicLoopingCall(
      (
        () => () =>
          undefined
      )(), // an arrow with no inferred name
      { clock, logger },
    );
    const renamed = new DynamicLoopingCall(function x() {}, { clock, logger, name: 'vim-poller' });
    expect([named.name, anon.name, renamed.name]).toEqual(['pollVim', 'anonymous', 'vim-poller']);
    named.start();
    anon.start();
    renamed.start();
    await clock.advance(0);
    await Promise.allSettled([named.wait(), anon.wait(), renamed.wait()]);
    expect(logs.messages(LEVEL.error)).toEqual([
      "Dynamic interval looping call 'pollVim' failed",
      "Dynamic interval looping call 'anonymous' failed",
      "Dynamic interval looping call 'vim-poller' failed",
    ]);
  });

  it('defaults to the real clock (no sleep needed when the loop ends at once)', async () => {
    const lc = new FixedIntervalLoopingCall(() => {
      throw new LoopingCallDone('real');
    });
    await expect(lc.start({ interval: 60 })).resolves.toBe('real');
  });

  it('logs through getLogger("looping") by default', async () => {
    const { clock } = setup();
    const capture = captureLogs();
    const previous = rootLogger();
    setRootLogger(capture.logger);
    let lc: DynamicLoopingCall;
    try {
      lc = new DynamicLoopingCall(function broken() {}, { clock });
    } finally {
      setRootLogger(previous);
    }
    lc.start();
    await clock.advance(0);
    await expect(lc.wait()).rejects.toBeInstanceOf(DynamicIntervalMissingError);
    expect(capture.lines.map((l) => [l.level, l.module, l.msg])).toEqual([
      [LEVEL.error, 'looping', "Dynamic interval looping call 'broken' failed"],
    ]);
  });

  it('logs each sleep at trace level', async () => {
    const { clock, logs, logger } = setup();
    const lc = new FixedIntervalLoopingCall(function tick() {}, { clock, logger });
    lc.start({ interval: 2.5 });
    await clock.advance(0);
    lc.stop();
    expect(logs.messages(LEVEL.trace)).toEqual([
      "Fixed interval looping call 'tick' sleeping for 2.50 seconds",
    ]);
  });

  it('rejects a non-function', () => {
    expect(() => new FixedIntervalLoopingCall(42 as never)).toThrow(InvalidOptionError);
  });
});

describe('stop()', () => {
  it('during the initial delay ends the loop at once without calling the function', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalLoopingCall(() => calls.push(clock.now()), { clock, logger });
    const done = lc.start({ interval: 1, initialDelay: 100 });
    await clock.advance(10);
    lc.stop();
    expect(await peek(done)).toEqual({ state: 'fulfilled', value: true });
    expect(clock.now()).toBe(10);
    expect(clock.pending).toBe(0);
    await clock.advance(200);
    expect(calls).toEqual([]);
  });

  it('interrupts a long sleep at once (the Pike behaviour would wait up to an interval)', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalLoopingCall(() => calls.push(clock.now()), { clock, logger });
    const done = lc.start({ interval: 3600 });
    await clock.advance(1);
    expect(calls).toEqual([0]);
    expect(clock.pending).toBe(1);
    lc.stop();
    expect(await peek(done)).toEqual({ state: 'fulfilled', value: true });
    expect(clock.now()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('before the loop begins ends it without calling the function', async () => {
    const { clock, calls, logger } = setup();
    const lc = new DynamicLoopingCall(() => calls.push(clock.now()), { clock, logger });
    const done = lc.start();
    lc.stop();
    expect(await peek(done)).toEqual({ state: 'fulfilled', value: true });
    expect(calls).toEqual([]);
  });

  it('while the function runs lets it finish, then ends without sleeping', async () => {
    const { clock, logger } = setup();
    const steps: string[] = [];
    const lc = new FixedIntervalLoopingCall(
      async () => {
        steps.push(`begin@${clock.now()}`);
        await clock.sleep(5);
        steps.push(`end@${clock.now()}`);
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 10 });
    await clock.advance(2);
    lc.stop();
    expect(lc.running).toBe(false);
    expect(await peek(done)).toEqual({ state: 'pending' });
    // Still alive: a second start is refused until the function returns.
    expect(() => lc.start({ interval: 10 })).toThrow(AlreadyRunningError);
    await clock.advance(3);
    expect(await peek(done)).toEqual({ state: 'fulfilled', value: true });
    expect(steps).toEqual(['begin@0', 'end@5']);
    expect(clock.pending).toBe(0);
  });

  it('lets a function that throws after stop() still decide the outcome', async () => {
    const { clock, logger } = setup();
    const lc = new FixedIntervalLoopingCall(
      async () => {
        await clock.sleep(1);
        throw new LoopingCallDone('late');
      },
      { clock, logger },
    );
    const done = lc.start({ interval: 10 });
    await clock.advance(0);
    lc.stop();
    await clock.advance(1);
    await expect(done).resolves.toBe('late');
  });

  it('is a no-op when nothing runs', async () => {
    const lc = new DynamicLoopingCall(() => 1, { clock: new VirtualClock() });
    expect(() => lc.stop()).not.toThrow();
    await expect(lc.wait()).rejects.toBeInstanceOf(NotStartedError);
  });
});

describe('AlreadyRunningError', () => {
  const { clock, logger } = setup();
  const cases: [string, () => void][] = [
    [
      'A fixed interval looping call can only run one function at a time',
      () => {
        const lc = new FixedIntervalLoopingCall(() => undefined, { clock, logger });
        lc.start({ interval: 1 });
        lc.start({ interval: 1 });
      },
    ],
    [
      'A fixed interval looping call with timeout checking can only run one function at a time',
      () => {
        const lc = new FixedIntervalWithTimeoutLoopingCall(() => undefined, { clock, logger });
        lc.start({ interval: 1 });
        lc.start({ interval: 1 });
      },
    ],
    [
      'A dynamic interval looping call can only run one function at a time',
      () => {
        const lc = new DynamicLoopingCall(() => 1, { clock, logger });
        lc.start();
        lc.start();
      },
    ],
    [
      'A dynamic backoff interval looping call can only run one function at a time',
      () => {
        const lc = new BackOffLoopingCall(() => true, { clock, logger });
        lc.start();
        lc.start();
      },
    ],
  ];
  for (const [message, run] of cases) {
    it(`says "${message}"`, () => {
      let caught: unknown;
      try {
        run();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AlreadyRunningError);
      expect((caught as AlreadyRunningError).message).toBe(message);
      expect(hasErrorCode(caught, 'CONDUCTOR_ALREADY_RUNNING')).toBe(true);
    });
  }

  it('leaves the running loop untouched', async () => {
    const { clock, calls, logger } = setup();
    const lc = new FixedIntervalLoopingCall(slow(clock, 1, calls), { clock, logger });
    const done = lc.start({ interval: 4 });
    expect(() => lc.start({ interval: 1 })).toThrow(AlreadyRunningError);
    expect(lc.wait()).toBe(done);
    await clock.advance(8);
    expect(calls).toEqual([0, 4, 8]);
    lc.stop();
    await clock.advance(1);
    await expect(done).resolves.toBe(true);
  });
});
