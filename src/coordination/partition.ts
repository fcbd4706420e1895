import { HashRing } from './hash-ring.js';

/** A change of a group's members, as `Coordinator.watch` reports it. */
export interface MembershipEvent {
  readonly type: 'join' | 'leave';
  readonly group: string;
  readonly member: string;
  /** The members after the change, sorted. */
  readonly members: readonly string[];
}

/**
 * This replica's share of a group's keys: a {@link HashRing} of the group's live members, rebuilt
 * when they change. While this replica's own membership is not confirmed (its heartbeats fail past
 * the lease TTL, so the others may already have taken its keys), it owns nothing.
 */
export class Partition {
  readonly group: string;
  readonly self: string;
  readonly #replicas: number | undefined;
  readonly #valid: () => boolean;
  #ring: HashRing;
  #version = 0;

  constructor(group: string, self: string, valid: () => boolean, replicas?: number) {
    this.group = group;
    this.self = self;
    this.#valid = valid;
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

  /** True while this replica's membership is confirmed. */
  get valid(): boolean {
    return this.#valid();
  }

  /** The live members the ring was built from, sorted. */
  get members(): readonly string[] {
    return this.#ring.members;
  }

  /** True when `key` is this replica's (and its membership is confirmed). */
  owns(key: string): boolean {
    return this.#valid() && this.#ring.owns(key);
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
