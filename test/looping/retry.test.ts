import { describe, it, expect } from 'vitest';
import { InvalidOptionError, rootLogger, setRootLogger } from '../../src/core/index.js';
import { retry } from '../../src/looping/index.js';
import { LEVEL, captureLogs } from '../helpers/log-capture.js';
import { peek, setup } from './util.js';

class Transient extends Error {}
class SubTransient extends Transient {}
class Fatal extends Error {}

/** An async function failing with the scripted errors in turn, then returning `result`. */
function flaky(clock: { now(): number }, calls: number[], errors: Error[], result: unknown = 'ok') {
  return async function fetchVim(): Promise<unknown> {
    calls.push(clock.now());
    const err = errors[calls.length - 1];
    if (err) throw err;
    return result;
  };
}

describe('retry()', () => {
  it('returns the result of a first-time success without sleeping', async () => {
    const { clock, calls, logger } = setup();
    const wrapped = retry({ clock, logger, exceptions: [Transient] })(flaky(clock, calls, []));
    const p = wrapped();
    expect(p).toBeInstanceOf(Promise);
    expect(await peek(p)).toEqual({ state: 'fulfilled', value: 'ok' });
    expect(calls).toEqual([0]);
  });

  it('gives back undefined (not true) when the function returns nothing', async () => {
    const { clock, logger } = setup();
    const wrapped = retry({ clock, logger })(() => undefined);
    expect(await peek(wrapped())).toEqual({ state: 'fulfilled', value: undefined });
  });

  it('wraps a sync function in a promise', async () => {
    const { clock, logger } = setup();
    const add = retry({ clock, logger })((a: number, b: number) => a + b);
    await expect(add(2, 3)).resolves.toBe(5);
  });

  it('retries listed errors after inc, 2·inc, … seconds, capped at maxSleepTime', async () => {
    const { clock, calls, logger } = setup();
    const errors = [1, 2, 3, 4].map(() => new Transient('flap'));
    const wrapped = retry({
      clock,
      logger,
      exceptions: [Transient],
      incSleepTime: 10,
      maxSleepTime: 25,
    })(flaky(clock, calls, errors));
    const p = wrapped();
    await clock.advance(100);
    expect(calls).toEqual([0, 10, 30, 55, 80]);
    await expect(p).resolves.toBe('ok');
  });

  it('uses the defaults inc 10 s and max 60 s, unlimited retries', async () => {
    const { clock, calls, logger } = setup();
    const errors = Array.from({ length: 8 }, () => new Transient());
    const p = retry({ clock, logger, exceptions: [Transient] })(flaky(clock, calls, errors))();
    await clock.advance(1000);
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    expect(gaps).toEqual([10, 20, 30, 40, 50, 60, 60, 60]);
    await expect(p).resolves.toBe('ok');
  });

  it('matches subclasses of a listed error', async () => {
    const { clock, calls, logger } = setup();
    const p = retry({ clock, logger, exceptions: [Transient] })(
      flaky(clock, calls, [new SubTransient()]),
    )();
    await clock.advance(10);
    await expect(p).resolves.toBe('ok');
  });

  it('re-throws a listed error once maxRetryCount retries are spent, with oslo debug logs', async () => {
    const { clock, calls, logs, logger } = setup();
    const last = new Transient('still down');
    const errors = [new Transient(), new Transient(), last];
    const p = retry({ clock, logger, exceptions: [Transient], maxRetryCount: 2 })(
      flaky(clock, calls, errors),
    )();
    await clock.advance(100);
    expect(calls).toEqual([0, 10, 30]);
    await expect(p).rejects.toBe(last);
    expect(logs.messages(LEVEL.debug)).toEqual([
      'Waiting for function fetchVim to return.',
      'Exception which is in the suggested list of exceptions occurred while invoking function: fetchVim.',
      'Invoking fetchVim; retry count is 1.',
      'Exception which is in the suggested list of exceptions occurred while invoking function: fetchVim.',
      'Invoking fetchVim; retry count is 2.',
      'Exception which is in the suggested list of exceptions occurred while invoking function: fetchVim.',
      'Cannot retry fetchVim upon suggested exception since retry count (2) reached max retry count (2).',
    ]);
    // The looping call reports the failure, as oslo's does.
    expect(logs.messages(LEVEL.error)).toEqual(["Dynamic interval looping call 'fetchVim' failed"]);
  });

  it('with maxRetryCount 0 never retries', async () => {
    const { clock, calls, logger } = setup();
    const p = retry({ clock, logger, exceptions: [Transient], maxRetryCount: 0 })(
      flaky(clock, calls, [new Transient('once')]),
    )();
    await clock.advance(100);
    await expect(p).rejects.toThrow('once');
    expect(calls).toEqual([0]);
  });

  it('re-throws errors that are not listed at once', async () => {
    const { clock, calls, logs, logger } = setup();
    const fatal = new Fatal('no');
    const p = retry({ clock, logger, exceptions: [Transient] })(flaky(clock, calls, [fatal]))();
    expect(await peek(p)).toEqual({ state: 'rejected', reason: fatal });
    expect(calls).toEqual([0]);
    expect(logs.messages(LEVEL.debug)).toEqual(['Waiting for function fetchVim to return.']);
  });

  it('retries nothing with the default empty exceptions list', async () => {
    const { clock, calls, logger } = setup();
    const p = retry({ clock, logger })(flaky(clock, calls, [new Transient('x')]))();
    await clock.advance(100);
    await expect(p).rejects.toBeInstanceOf(Transient);
    expect(calls).toEqual([0]);
  });

  it('gives every invocation a fresh retry budget and sleep (Pike shared them)', async () => {
    const { clock, logger } = setup();
    const times: number[] = [];
    let failuresLeft = 0;
    const wrapped = retry({ clock, logger, exceptions: [Transient], maxRetryCount: 2 })(async (
      label: string,
    ) => {
      times.push(clock.now());
      if (failuresLeft-- > 0) throw new Transient();
      return label;
    });
    failuresLeft = 2;
    const first = wrapped('first');
    await clock.advance(30);
    await expect(first).resolves.toBe('first');
    failuresLeft = 2;
    const second = wrapped('second');
    await clock.advance(30);
    // Pike would have had no retries left (count 2 of 2) and a next sleep of 30 s.
    await expect(second).resolves.toBe('second');
    expect(times).toEqual([0, 10, 30, 30, 40, 60]);
  });

  it('runs concurrent invocations independently', async () => {
    const { clock, logger } = setup();
    const seen: string[] = [];
    const attempts = new Map<string, number>();
    const wrapped = retry({ clock, logger, exceptions: [Transient], incSleepTime: 5 })(async (
      key: string,
      failures: number,
    ) => {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      seen.push(`${key}${n}@${clock.now()}`);
      if (n <= failures) throw new Transient();
      return key;
    });
    const a = wrapped('a', 2);
    const b = wrapped('b', 1);
    await clock.advance(20);
    await expect(Promise.all([a, b])).resolves.toEqual(['a', 'b']);
    expect(seen).toEqual(['a1@0', 'b1@0', 'a2@5', 'b2@5', 'a3@15']);
  });

  it('works as a TC39 method decorator, keeping `this` and the arguments', async () => {
    const { clock, logs, logger } = setup();
    class VimClient {
      tries = 0;
      constructor(readonly region: string) {}

      @retry({ clock, logger, exceptions: [Transient], maxRetryCount: 3, incSleepTime: 1 })
      async fetch(id: string, verbose: boolean): Promise<string> {
        this.tries++;
        if (this.tries < 3) throw new Transient();
        return `${this.region}/${id}/${verbose}`;
      }
    }
    const client = new VimClient('RegionOne');
    const p = client.fetch('vim-1', true);
    await clock.advance(3);
    await expect(p).resolves.toBe('RegionOne/vim-1/true');
    expect(client.tries).toBe(3);
    expect(logs.messages(LEVEL.debug)).toContain('Invoking fetch; retry count is 2.');
    // A second instance has its own state and its own budget.
    const other = new VimClient('RegionTwo');
    const q = other.fetch('vim-2', false);
    await clock.advance(3);
    await expect(q).resolves.toBe('RegionTwo/vim-2/false');
  });

  it('names an anonymous function "anonymous" in its logs', async () => {
    const { clock, logs, logger } = setup();
    const wrapped = retry({ clock, logger })(
      (
        () => () =>
          1
      )(),
    );
    await wrapped();
    expect(logs.messages(LEVEL.debug)).toEqual(['Waiting for function anonymous to return.']);
  });

  it('logs through getLogger("looping") by default', async () => {
    const { clock } = setup();
    const capture = captureLogs();
    const previous = rootLogger();
    setRootLogger(capture.logger);
    try {
      await retry({ clock })(function ping() {
        return 1;
      })();
    } finally {
      setRootLogger(previous);
    }
    expect(capture.lines.map((l) => [l.module, l.msg])).toEqual([
      ['looping', 'Waiting for function ping to return.'],
    ]);
  });

  it.each([
    [{ maxRetryCount: -2 }, /maxRetryCount must be an integer >= -1/],
    [{ maxRetryCount: 1.5 }, /maxRetryCount must be an integer >= -1/],
    [{ incSleepTime: -1 }, /incSleepTime must be a finite number >= 0/],
    [{ maxSleepTime: Infinity }, /maxSleepTime must be a finite number >= 0/],
    [{ exceptions: Transient }, /exceptions must be an array of error classes/],
    [{ exceptions: ['Transient'] }, /exceptions must be an array of error classes/],
    [{ max_retry_count: 3 }, /unknown option 'max_retry_count'/],
  ])('rejects bad options %j at once', (options, message) => {
    expect(() => retry(options as never)).toThrow(InvalidOptionError);
    expect(() => retry(options as never)).toThrow(message);
  });

  it('rejects a non-function', () => {
    expect(() => retry()(42 as never)).toThrow(InvalidOptionError);
  });
});
