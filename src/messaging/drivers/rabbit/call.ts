import { MessageDeliveryFailure, MessagingTimeout, toError } from '../../../core/index.js';
import type { DeadlineQueue } from '../../deadlines.js';
import { deserializeRemoteException } from '../../failure.js';
import type { InboundReply } from './inbound.js';
import type { PendingCall } from './reply.js';

/** `expiration` (ms as a string) by call timeout. */
const expirations = new Map<number, string>();

/** A call's per-message TTL: its timeout in ms, as the string AMQP wants (cached per timeout). */
export function expirationOf(timeout: number): string {
  let e = expirations.get(timeout);
  if (e === undefined) {
    e = String(Math.trunc(timeout * 1000));
    if (expirations.size < 64) expirations.set(timeout, e);
  }
  return e;
}

/**
 * A call waiting for its reply (see the RabbitDriver's `#callNow`). It ends at the first of: its
 * reply ({@link settle}), a failed publish ({@link published} with an error), its deadline or a
 * missing call-monitor heartbeat ({@link expire}), or the transport closing ({@link fail}).
 */
export class Call implements PendingCall {
  #done = false;
  #sent = false;
  /** Cancels the call's deadline (set by the driver once armed). */
  cancelTimeout: (() => void) | undefined;
  #cancelMonitor: (() => void) | undefined;

  constructor(
    readonly msgId: string,
    readonly exchange: string,
    readonly monitor: number | undefined,
    /** Where the call is registered while it waits (the reply consumer, a direct-reply channel). */
    readonly replies: { unregister(msgId: string): void },
    readonly deadlines: DeadlineQueue,
    readonly resolve: (result: unknown) => void,
    readonly reject: (err: Error) => void,
  ) {}

  #finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.replies.unregister(this.msgId);
    this.cancelTimeout?.();
    this.#cancelMonitor?.();
    return true;
  }

  /** The deadline or the call monitor passed. */
  readonly expire = (): void => {
    if (!this.#finish()) return;
    // Not even written in time: no connection to the broker all along.
    this.reject(
      this.#sent
        ? new MessagingTimeout(`Timed out waiting for a reply to message ID ${this.msgId}`)
        : new MessageDeliveryFailure(
            `Could not send the request to exchange '${this.exchange}' in time: no connection to the AMQP server`,
          ),
    );
  };

  /** The request was written to the broker, or failed for good. */
  readonly published = (err: Error | undefined): void => {
    if (err) return this.fail(err);
    this.#sent = true;
    if (!this.#done && this.monitor !== undefined)
      this.#cancelMonitor = this.deadlines.add(this.monitor, this.expire);
  };

  settle(reply: InboundReply): void {
    if (!this.#finish()) return;
    if (reply.failure !== null) {
      let err: Error;
      try {
        err = deserializeRemoteException(reply.failure);
      } catch (e) {
        err = toError(e);
      }
      this.reject(err);
    } else {
      this.resolve(reply.result);
    }
  }

  heartbeat(): void {
    if (this.#done || this.monitor === undefined || !this.#sent) return;
    this.#cancelMonitor?.();
    this.#cancelMonitor = this.deadlines.add(this.monitor, this.expire);
  }

  fail(err: Error): void {
    if (this.#finish()) this.reject(err);
  }
}
