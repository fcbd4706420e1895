import type { IncomingMessage } from '../../driver.js';
import type { ChannelAcks, TrackedDelivery } from './acks.js';
import type { InboundRequest, ReplyAddress } from './inbound.js';
import type { LeanRequest } from './lean.js';

/** A delivery on the channel it came from. */
export interface Delivery {
  readonly acks: ChannelAcks;
  readonly d: TrackedDelivery;
}

/** What a held delivery asks of its listener (one set of functions per listener, not per message). */
export interface HeldOwner {
  /** Settles `h` (or its proxy) once; `ack` also remembers its `_unique_id`. */
  settle(h: Held, how: 'ack' | 'requeue' | 'reject'): void;
  reply(to: ReplyAddress, result: unknown, failure: string | null): Promise<void>;
  heartbeat(to: ReplyAddress): Promise<void>;
}

const NO_REPLY: Promise<void> = Promise.resolve();

/**
 * A delivery the server holds, handed to it as the {@link IncomingMessage}. When its channel is
 * lost, the broker redelivers the message on the next one; that copy is not dispatched again but
 * becomes the `proxy` that the held one's acknowledge/requeue settles (at most once, and nothing
 * lost).
 */
export class Held implements IncomingMessage, Delivery {
  proxy: Delivery | undefined = undefined;
  #settled = false;

  constructor(
    readonly acks: ChannelAcks,
    readonly d: TrackedDelivery,
    readonly uniqueId: string | undefined,
    readonly to: ReplyAddress | undefined,
    readonly request: InboundRequest | LeanRequest,
    readonly callMonitorTimeout: number | undefined,
    readonly owner: HeldOwner,
  ) {}

  get wire(): Readonly<Record<string, unknown>> | undefined {
    return this.request.wire;
  }

  get ctxt(): Record<string, unknown> {
    return this.request.ctxt;
  }

  get message(): Record<string, unknown> {
    return this.request.message;
  }

  get isCall(): boolean {
    return this.to !== undefined;
  }

  /** True the first time only. */
  release(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }

  acknowledge(): void {
    this.owner.settle(this, 'ack');
  }

  requeue(): void {
    this.owner.settle(this, 'requeue');
  }

  reply(result: unknown, failure: string | null): Promise<void> {
    return this.to ? this.owner.reply(this.to, result, failure) : NO_REPLY;
  }

  heartbeat(): Promise<void> {
    return this.to ? this.owner.heartbeat(this.to) : NO_REPLY;
  }
}
