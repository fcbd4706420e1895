/**
 * What a coordination backend does: leases with fencing tokens, a last-run slot per lease, and
 * group membership with heartbeats. The {@link Coordinator} builds everything else (renewal loops,
 * abort signals, watches, hash rings) on these few atomic operations, so a backend is small and each
 * operation is one round trip.
 *
 * Rules every backend keeps (the conformance tests check them):
 * - Times are seconds; expiry is judged by the backend's own clock (Redis' key TTLs, PostgreSQL's
 *   `now()`, the memory backend's `Clock`), never by the caller's, so replicas whose clocks disagree
 *   still agree on who holds a lease.
 * - Fencing tokens are positive integers that only grow for a name: each new holding gets a larger
 *   token than every earlier one; renewing keeps the token.
 * - Every operation that cannot reach the backend rejects with `CoordinationUnavailable`; none
 *   hangs longer than the backend's operation timeout.
 * - Names and groups are opaque strings (the coordinator namespaces them); a backend keeps them in
 *   its own key space or tables and never collides with other data.
 */
export interface CoordinationBackend {
  /** `memory`, `redis` or `postgresql`. */
  readonly kind: string;
  /** Where the backend is, for logs and health: its URL with the password masked. */
  readonly where: string;
  /** First contact (and, for PostgreSQL, the tables). Rejects with `CoordinationUnavailable`. */
  connect(): Promise<void>;
  /** Closes connections; operations after it reject. Idempotent. */
  close(): Promise<void>;
  /** One round trip; rejects with `CoordinationUnavailable` when the backend is away. */
  ping(): Promise<void>;
  /**
   * Takes lease `name` for `member` for `ttl` seconds when it is free or expired (a new, larger
   * token), or extends it when `member` already holds it (same token). Resolves to the holding, or
   * null when another member holds it.
   */
  acquire(name: string, member: string, ttl: number): Promise<LeaseRecord | null>;
  /** Extends the lease to `ttl` seconds from now if `member` holds it with `token`; else false. */
  renew(name: string, member: string, token: number, ttl: number): Promise<boolean>;
  /** Frees the lease if `member` holds it with `token`; else false (nothing changes). */
  release(name: string, member: string, token: number): Promise<boolean>;
  /** The current (unexpired) holding of `name`, or null. */
  holder(name: string): Promise<LeaseRecord | null>;
  /**
   * Records `slot` as the last slot run under lease `name`, atomically, only if `member` holds the
   * lease with `token` (unexpired) and `slot` is greater than the recorded one. True when recorded:
   * the caller may run the slot; no two calls for one slot ever both get true.
   */
  claimSlot(name: string, member: string, token: number, slot: number): Promise<boolean>;
  /** The last slot recorded for `name`, or null. It outlives the lease (a new holder reads it). */
  lastSlot(name: string): Promise<number | null>;
  /** Joins `group`, or refreshes the membership, for `ttl` seconds. */
  heartbeat(group: string, member: string, ttl: number): Promise<void>;
  /** Leaves `group` at once (no-op when not a member). */
  leave(group: string, member: string): Promise<void>;
  /** The live (unexpired) members of `group`, sorted. */
  members(group: string): Promise<string[]>;
}

/** A holding of a lease, as the backend reports it. */
export interface LeaseRecord {
  readonly holder: string;
  /** The fencing token of this holding. */
  readonly token: number;
  /** Seconds until it expires, by the backend's clock. */
  readonly expiresIn: number;
}

/** Options every backend constructor takes (besides its URL). */
export interface BackendOptions {
  /** Seconds an operation may take before it rejects with `CoordinationUnavailable`. Default 2. */
  readonly operationTimeout?: number;
  /**
   * Prefix of every key or row name the backend writes (isolates applications and tests sharing
   * one server). Default `conductor`.
   */
  readonly keyPrefix?: string;
}
