import { VirtualClock } from '../../src/core/index.js';
import { captureLogs } from '../helpers/log-capture.js';

/** What a promise has done so far. */
export type Peek =
  | { state: 'pending' }
  | { state: 'fulfilled'; value: unknown }
  | { state: 'rejected'; reason: unknown };

/**
 * The state of `p` after pending promise work has run (a few event-loop turns, no time passes on
 * any clock). Lets a test assert "settled without advancing time" without hanging when it did not.
 */
export async function peek(p: Promise<unknown>): Promise<Peek> {
  let seen: Peek = { state: 'pending' };
  p.then(
    (value) => (seen = { state: 'fulfilled', value }),
    (reason) => (seen = { state: 'rejected', reason }),
  );
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return seen;
}

/** A virtual clock, a capturing logger, and a function that records the time of every call. */
export function setup() {
  const clock = new VirtualClock();
  const logs = captureLogs();
  const calls: number[] = [];
  return { clock, logs, calls, logger: logs.logger };
}

/** An async function that takes `seconds` of virtual time. */
export function slow(clock: VirtualClock, seconds: number, calls: number[]) {
  return async function slowFn(): Promise<void> {
    calls.push(clock.now());
    await clock.sleep(seconds);
  };
}
