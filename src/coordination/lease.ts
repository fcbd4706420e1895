import { type Clock, LeaseLostError } from '../core/index.js';

/**
 * A lease this replica holds. `signal` aborts (with a {@link LeaseLostError}) the moment the lease
 * stops being this replica's for sure — taken, released, or its local deadline passed while renewals
 * failed — and always before another replica can hold it: the local deadline counts from when the
 * last successful renewal was *sent*, minus a safety margin, so it falls before the backend's expiry.
 */
export interface Lease {
  /** The lease's name, as given to `acquire`. */
  readonly name: string;
  /** This replica's member id. */
  readonly holder: string;
  /** The fencing token of this holding: larger than every earlier holding's of this name. */
  readonly token: number;
  /** Aborts when the lease is lost; its reason is a {@link LeaseLostError}. */
  readonly signal: AbortSignal;
  /** True until the lease is lost or released. */
  readonly held: boolean;
  /** Clock time until which the lease is this replica's for sure (renewals push it forward). */
  readonly validUntil: number;
  /** Renews at once (the coordinator also renews every heartbeat); false when the lease is lost. */
  renew(): Promise<boolean>;
  /** Gives the lease up (the signal aborts with reason `released`). */
  release(): Promise<void>;
}

/** What a {@link HeldLease} needs from its coordinator. */
export interface LeaseOwner {
  readonly clock: Clock;
  renewLease(lease: HeldLease): Promise<boolean>;
  releaseLease(lease: HeldLease): Promise<void>;
  leaseLost(lease: HeldLease, reason: string): void;
}

/** The coordinator's side of a {@link Lease}: the local deadline and its watchdog. */
export class HeldLease implements Lease {
  readonly name: string;
  /** The backend's name of the lease (namespaced). */
  readonly key: string;
  readonly holder: string;
  readonly token: number;
  readonly #owner: LeaseOwner;
  readonly #margin: number;
  readonly #abort = new AbortController();
  #validUntil: number;

  constructor(
    owner: LeaseOwner,
    name: string,
    key: string,
    holder: string,
    token: number,
    validUntil: number,
    margin: number,
  ) {
    this.#owner = owner;
    this.name = name;
    this.key = key;
    this.holder = holder;
    this.token = token;
    this.#validUntil = validUntil;
    this.#margin = margin;
    void this.#watch();
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get held(): boolean {
    return !this.#abort.signal.aborted;
  }

  get validUntil(): number {
    return this.#validUntil;
  }

  renew(): Promise<boolean> {
    return this.held ? this.#owner.renewLease(this) : Promise.resolve(false);
  }

  release(): Promise<void> {
    return this.held ? this.#owner.releaseLease(this) : Promise.resolve();
  }

  /** A renewal sent at `sentAt` succeeded: the lease is ours until `sentAt + ttl`. */
  extend(sentAt: number, ttl: number): void {
    // The watchdog is not woken: at the old deadline it finds the new one and sleeps again (one
    // timer per lease and heartbeat, instead of one per renewal).
    if (this.held) this.#validUntil = Math.max(this.#validUntil, sentAt + ttl);
  }

  /** Marks the lease lost (once): the signal aborts with a {@link LeaseLostError}. */
  lose(reason: string): boolean {
    if (!this.held) return false;
    this.#abort.abort(new LeaseLostError(this.name, reason));
    return true;
  }

  /** Sleeps until the deadline minus the margin (renewals push it on); passing it loses the lease. */
  async #watch(): Promise<void> {
    const clock = this.#owner.clock;
    while (this.held) {
      const wait = this.#validUntil - this.#margin - clock.now();
      if (wait <= 0) {
        this.#owner.leaseLost(this, 'not renewed in time');
        return;
      }
      try {
        await clock.sleep(wait, this.#abort.signal);
      } catch {
        // Ended (lost, released): the loop condition sees it.
      }
    }
  }
}
