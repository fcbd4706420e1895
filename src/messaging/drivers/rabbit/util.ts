import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../core/index.js';

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
    clock.sleep(remaining, abort.signal).catch(() => undefined),
  ]);
  abort.abort();
  return changed || clock.now() < deadline;
}

/** A real-time pause that ends early when `signal` aborts (never rejects). */
export function pause(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, seconds * 1000));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The text of an error for a log line or a wrapped message. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error's AMQP reply code (403, 404, 406, 320 ...), if it came from a Close frame. */
export function amqpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
