import type { Channel, Message } from 'amqplib';
import { dropSettledFront } from './util.js';

const HELD = 0;
const ACK_PENDING = 1;
const SETTLED = 2;

/** One delivery a channel's consumer holds, as {@link ChannelAcks} tracks it. */
export interface TrackedDelivery {
  readonly msg: Message;
  /** HELD, ACK_PENDING or SETTLED. */
  state: number;
}

const isSettled = (d: TrackedDelivery): boolean => d.state === SETTLED;

/**
 * The unsettled deliveries of one consumer channel, in delivery-tag order, with their acks
 * coalesced: {@link ack} only marks a delivery, and the marks of one event-loop turn leave as a
 * single `Basic.Ack` with `multiple` set (up to the highest marked tag below the first delivery
 * still held), plus single acks for marked deliveries behind a held one. Nacks are sent at once.
 *
 * When: a call's ack is flushed in a `setImmediate`, so that the replies the turn published are
 * written first (the reply is on the caller's critical path, the ack is not); a cast's ack on the
 * next tick, with the turn's other writes. Either way the ack is issued when the dispatch begins
 * and leaves within the same turn, before any later I/O — at most once, as before: once the
 * server's next write reaches the broker, the request cannot come back, whether or not the
 * endpoint has finished. A delivery this tracker does not know (settled in the turn it arrived) is
 * never covered by a `multiple` ack, since it is no longer outstanding.
 */
export class ChannelAcks {
  readonly ch: Channel;
  #queue: TrackedDelivery[] = [];
  #head = 0;
  #pending = 0;
  #scheduled = false;
  #tickScheduled = false;
  #closed = false;
  readonly #flush = (): void => this.flush();
  readonly #onError: (err: unknown) => void;

  constructor(ch: Channel, onError: (err: unknown) => void) {
    this.ch = ch;
    this.#onError = onError;
  }

  /** Starts tracking a delivery handed on unsettled. */
  track(msg: Message): TrackedDelivery {
    const d: TrackedDelivery = { msg, state: HELD };
    this.#queue.push(d);
    return d;
  }

  /**
   * Marks a delivery to be acknowledged in this turn's flush. `soon` (a cast: no reply to send
   * first) flushes on the next tick, so that the ack leaves with this turn's other writes.
   */
  ack(d: TrackedDelivery, soon = false): void {
    if (d.state !== HELD || this.#closed) return;
    d.state = ACK_PENDING;
    this.#pending++;
    if (soon) {
      if (!this.#tickScheduled) {
        this.#tickScheduled = true;
        process.nextTick(this.#flush);
      }
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Rejects a delivery at once (requeued or dropped). */
  nack(d: TrackedDelivery, requeue: boolean): void {
    if (d.state !== HELD || this.#closed) return;
    d.state = SETTLED;
    this.#send(() => this.ch.nack(d.msg, false, requeue));
    this.#compact();
  }

  /** Sends the marked acks now. */
  flush(): void {
    this.#scheduled = false;
    this.#tickScheduled = false;
    if (this.#pending === 0 || this.#closed) return;
    const q = this.#queue;
    let last: TrackedDelivery | undefined;
    let i = this.#head;
    for (; i < q.length; i++) {
      const d = q[i] as TrackedDelivery;
      if (d.state === HELD) break;
      if (d.state === ACK_PENDING) {
        d.state = SETTLED;
        this.#pending--;
        last = d;
      }
    }
    this.#head = i;
    if (last) {
      const msg = last.msg;
      this.#send(() => this.ch.ack(msg, true));
    }
    // Marked deliveries behind one still held (a server whose pool is full keeps some waiting).
    for (let j = i; this.#pending > 0 && j < q.length; j++) {
      const d = q[j] as TrackedDelivery;
      if (d.state !== ACK_PENDING) continue;
      d.state = SETTLED;
      this.#pending--;
      this.#send(() => this.ch.ack(d.msg, false));
    }
    this.#compact();
  }

  /** The channel is gone: the broker requeued whatever was not settled; forget it all. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#head = 0;
    this.#pending = 0;
  }

  #send(op: () => void): void {
    try {
      op();
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Drops settled deliveries from the front. */
  #compact(): void {
    this.#head = dropSettledFront(this.#queue, this.#head, isSettled);
  }
}
