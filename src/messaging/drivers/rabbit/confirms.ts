import { type Clock, MessageDeliveryFailure } from '../../../core/index.js';
import type { DeadlineQueue } from '../../deadlines.js';
import type { PublishCallback, PublishRequest } from './publish-request.js';
import { dropSettledFront } from './util.js';

/** A publish sent on the fast path, waiting for its confirm. */
export interface Outstanding {
  readonly req: PublishRequest;
  readonly done: PublishCallback;
  settled: boolean;
}

const isSettled = (o: Outstanding): boolean => o.settled;

/**
 * The fast-path publishes waiting for their confirm, in publish order (settled ones are dropped
 * from the front). One deadline timer serves them all: it is armed for the earliest deadline known
 * when a publish is added, and on firing fails the overdue ones (MessageDeliveryFailure) and
 * re-arms for the rest. Adding and settling cost no promise, closure or timer.
 */
export class ConfirmTracker {
  readonly #clock: Clock;
  readonly #deadlines: DeadlineQueue;
  #queue: Outstanding[] = [];
  #head = 0;
  #timerAt = Infinity;
  #cancelTimer: (() => void) | undefined;
  readonly #onTimer = (): void => this.#expire();

  /** `deadlines` is the publisher's, which clears it on close (then call {@link disarm}). */
  constructor(clock: Clock, deadlines: DeadlineQueue) {
    this.#clock = clock;
    this.#deadlines = deadlines;
  }

  /** Tracks a publish just written on the confirm channel. */
  add(o: Outstanding): void {
    this.#queue.push(o);
    if (o.req.deadline < this.#timerAt) this.#arm(o.req.deadline);
  }

  /** Marks `o` settled (its confirm came, or it is sent again) and drops settled ones in front. */
  settle(o: Outstanding): void {
    o.settled = true;
    this.#head = dropSettledFront(this.#queue, this.#head, isSettled);
  }

  /** Forgets the timer, after the deadline queue it was armed on was cleared. */
  disarm(): void {
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    this.#cancelTimer?.();
    this.#timerAt = at;
    this.#cancelTimer = this.#deadlines.add(Math.max(0, at - this.#clock.now()), this.#onTimer);
  }

  /** Fails the publishes whose deadline passed without a confirm; re-arms for the rest. */
  #expire(): void {
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const q = this.#queue;
    const overdue: Outstanding[] = [];
    let next = Infinity;
    for (let i = this.#head; i < q.length; i++) {
      const o = q[i] as Outstanding;
      if (o.settled) continue;
      if (o.req.deadline <= now) overdue.push(o);
      else if (o.req.deadline < next) next = o.req.deadline;
    }
    for (const o of overdue) {
      this.settle(o);
      o.done(
        new MessageDeliveryFailure(
          `No confirm from the broker in time for a message to exchange '${o.req.exchange}'`,
        ),
      );
    }
    if (next < Infinity) this.#arm(next);
  }
}
