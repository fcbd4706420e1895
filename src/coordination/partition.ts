import { HashRing } from './hash-ring.js';

/** A change of a group's members, as `Coordinator.watch` reports it. */
export interface MembershipEvent {
  readonly type: 'join' | 'leave';
  readonly group: string;
  readonly member: string;
  /** The members after the change, sorted. */
  readonly members: readonly string[];
}

/** What a {@link Partition} asks its coordinator about this replica's membership. */
export interface PartitionMembership {
  /** True while this replica's keys are its own (its membership confirmed and settled). */
  valid(): boolean;
  /**
   * Clock time at which a confirmed membership starts owning keys, while it waits for the others
   * to see it (one heartbeat after a join); otherwise undefined.
   */
  settlesAt(): number | undefined;
}

/**
 * This replica's share of a group's keys: a {@link HashRing} of the group's live members, rebuilt
 * when they change. While this replica's own membership is not confirmed (its heartbeats fail past
 * the lease TTL, so the others may already have taken its keys), it owns nothing; after a join, or
 * a comeback, it owns nothing for one heartbeat more, until the others have seen it.
 */
export class Partition {
  readonly group: string;
  readonly self: string;
  readonly #replicas: number | undefined;
  readonly #membership: PartitionMembership;
  #ring: HashRing;
  #version = 0;

  constructor(group: string, self: string, membership: PartitionMembership, replicas?: number) {
    this.group = group;
    this.self = self;
    this.#membership = membership;
    this.#replicas = replicas;
    this.#ring = this.#build([]);
  }

  #build(members: readonly string[]): HashRing {
    return new HashRing(members, {
      self: this.self,
      ...(this.#replicas !== undefined ? { replicas: this.#replicas } : {}),
    });
  }

  /** The current ring (a snapshot: hold it for one run to see one consistent view). */
  get ring(): HashRing {
    return this.#ring;
  }

  /** Bumped on every rebuild. */
  get version(): number {
    return this.#version;
  }

  /** True while this replica's membership is confirmed and settled (its keys are its own). */
  get valid(): boolean {
    return this.#membership.valid();
  }

  /**
   * While a new membership waits for the other replicas to see it: the clock time at which this
   * replica starts owning keys. Undefined when it owns them already, or has no confirmed membership.
   */
  get settlesAt(): number | undefined {
    return this.#membership.settlesAt();
  }

  /** The live members the ring was built from, sorted. */
  get members(): readonly string[] {
    return this.#ring.members;
  }

  /** True when `key` is this replica's (and its membership is confirmed). */
  owns(key: string): boolean {
    return this.#membership.valid() && this.#ring.owns(key);
  }

  /** The member `key` belongs to, or undefined on an empty ring. */
  owner(key: string): string | undefined {
    return this.#ring.owner(key);
  }

  /** Rebuilds the ring when `members` differ from the current ones; true when it did. */
  update(members: readonly string[]): boolean {
    const now = this.#ring.members;
    if (now.length === members.length && now.every((m, i) => m === members[i])) return false;
    this.#ring = this.#build(members);
    this.#version++;
    return true;
  }
}
