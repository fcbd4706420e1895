import { randomUUID } from 'node:crypto';
import {
  type Clock,
  errorMessage,
  type Logger,
  OperationTimedOut,
  toError,
} from '../../../core/index.js';

/** A uuid4 as 32 hex digits, as oslo.messaging writes ids and queue names. */
export function uuidHex(): string {
  const u = randomUUID();
  return u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24);
}

/** Wakes every waiter when something changed (a connection came up, a channel closed, ...). */
export class Notifier {
  #waiters: (() => void)[] = [];

  /** Resolves at the next {@link notify}. */
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Waits for the next change of `notifier`, or until `deadline` (clock seconds) passes. Returns
 * false when the deadline passed first.
 */
export async function waitChange(
  notifier: Notifier,
  clock: Clock,
  deadline: number,
): Promise<boolean> {
  const remaining = deadline - clock.now();
  if (remaining <= 0) return false;
  if (remaining === Infinity) {
    await notifier.next();
    return true;
  }
  const abort = new AbortController();
  let changed = false;
  await Promise.race([
    notifier.next().then(() => {
      changed = true;
    }),
    // Rejects only when aborted below, once the race is over.
    clock.sleep(remaining, abort.signal).catch(() => undefined),
  ]);
  abort.abort();
  return changed || clock.now() < deadline;
}

/**
 * A pause of `seconds` on `clock` that ends early when `signal` aborts. Never rejects: callers stop
 * on the state the abort stands for (closed, stopping), so an abort is not an error.
 */
export function pause(clock: Clock, seconds: number, signal?: AbortSignal): Promise<void> {
  return clock.sleep(seconds, signal).catch(() => undefined);
}

/**
 * `p`, unless `seconds` pass on `clock` first: then rejects with {@link OperationTimedOut}
 * (`<what> timed out after <seconds> s`). The clock's sleep is cancelled once `p` settles.
 */
export function withTimeout<T>(
  p: Promise<T>,
  seconds: number,
  clock: Clock,
  what: string,
): Promise<T> {
  const settled = new AbortController();
  return new Promise<T>((resolve, reject) => {
    clock.sleep(seconds, settled.signal).then(
      () => reject(new OperationTimedOut(what, seconds)),
      // Aborted: `p` settled first.
      () => undefined,
    );
    p.then(
      (v) => {
        settled.abort();
        resolve(v);
      },
      (err: unknown) => {
        settled.abort();
        reject(toError(err));
      },
    );
  });
}

/**
 * Closes a channel or connection that may be closed or closing already (amqplib then rejects, and
 * there is nothing left to close); such a failure is only logged at debug, with `why`.
 */
export function closeQuietly(
  target: { close(): Promise<void> },
  log: Logger,
  why: string,
): Promise<void> {
  return target.close().catch((err: unknown) => log.debug({ err: errorMessage(err) }, why));
}

/**
 * Drops the settled entries at the front of a queue read from index `head` (the ack and confirm
 * windows): returns the new head. A queue left empty is emptied; one more than half stale (past
 * 1,024 entries) is shifted down in place, so it never grows without bound.
 */
export function dropSettledFront<T>(q: T[], head: number, settled: (entry: T) => boolean): number {
  let h = head;
  while (h < q.length && settled(q[h] as T)) h++;
  if (h === q.length) {
    q.length = 0;
    return 0;
  }
  if (h > 1024 && h * 2 > q.length) {
    q.splice(0, h);
    return 0;
  }
  return h;
}

/** An error's AMQP reply code (403, 404, 406, 320 ...), if it came from a Close frame. */
export function amqpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
