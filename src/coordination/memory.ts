import { type Clock, CoordinationUnavailable, realClock } from '../core/index.js';
import type { CoordinationBackend, LeaseRecord } from './backend.js';

interface Holding {
  holder: string;
  token: number;
  expiresAt: number;
}

/**
 * The state a `memory://name` backend keeps: one per name and process, shared by every
 * coordinator opened on that URL (replicas in one process, as tests run them). Time is the clock's
 * of whoever created the space. `available = false` makes every operation reject, as a backend that
 * went away does.
 */
export class MemorySpace {
  readonly clock: Clock;
  readonly leases = new Map<string, Holding>();
  readonly fences = new Map<string, number>();
  readonly slots = new Map<string, number>();
  readonly groups = new Map<string, Map<string, number>>();
  /** False while the space plays a backend that is away: every operation rejects. */
  available = true;

  constructor(clock: Clock = realClock) {
    this.clock = clock;
  }

  /** The unexpired holding of `name`, dropping an expired one. */
  live(name: string): Holding | undefined {
    const h = this.leases.get(name);
    if (h && h.expiresAt <= this.clock.now()) {
      this.leases.delete(name);
      return undefined;
    }
    return h;
  }
}

const spaces = new Map<string, MemorySpace>();

/**
 * The in-process space named `name` (created on first use with `clock`). Tests that run several
 * coordinators on one virtual clock share it by URL; `forget` drops it.
 */
export function memorySpace(name: string, clock?: Clock): MemorySpace {
  let space = spaces.get(name);
  if (!space) {
    space = new MemorySpace(clock);
    spaces.set(name, space);
  }
  return space;
}

/** Drops the space `name` (tests; the next `memory://name` starts empty). */
export function forgetMemorySpace(name: string): void {
  spaces.delete(name);
}

/**
 * `memory://[name]`: leases, slots and groups in this process. The embedded default: with one
 * process it is exact; it coordinates nothing across processes.
 */
export class MemoryBackend implements CoordinationBackend {
  readonly kind = 'memory';
  readonly where: string;
  readonly space: MemorySpace;
  #closed = false;

  constructor(space: MemorySpace, where = 'memory://') {
    this.space = space;
    this.where = where;
  }

  #use(): MemorySpace {
    if (this.#closed) throw new CoordinationUnavailable(this.where, 'closed');
    if (!this.space.available) throw new CoordinationUnavailable(this.where, 'unavailable');
    return this.space;
  }

  async connect(): Promise<void> {
    this.#closed = false;
    this.#use();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async ping(): Promise<void> {
    this.#use();
  }

  async acquire(name: string, member: string, ttl: number): Promise<LeaseRecord | null> {
    const s = this.#use();
    const now = s.clock.now();
    const h = s.live(name);
    if (h && h.holder !== member) return null;
    if (h) {
      h.expiresAt = now + ttl;
      return { holder: member, token: h.token, expiresIn: ttl };
    }
    const token = (s.fences.get(name) ?? 0) + 1;
    s.fences.set(name, token);
    s.leases.set(name, { holder: member, token, expiresAt: now + ttl });
    return { holder: member, token, expiresIn: ttl };
  }

  async renew(name: string, member: string, token: number, ttl: number): Promise<boolean> {
    const s = this.#use();
    const h = s.live(name);
    if (!h || h.holder !== member || h.token !== token) return false;
    h.expiresAt = s.clock.now() + ttl;
    return true;
  }

  async release(name: string, member: string, token: number): Promise<boolean> {
    const s = this.#use();
    const h = s.live(name);
    if (!h || h.holder !== member || h.token !== token) return false;
    s.leases.delete(name);
    return true;
  }

  async holder(name: string): Promise<LeaseRecord | null> {
    const s = this.#use();
    const h = s.live(name);
    return h ? { holder: h.holder, token: h.token, expiresIn: h.expiresAt - s.clock.now() } : null;
  }

  async claimSlot(name: string, member: string, token: number, slot: number): Promise<boolean> {
    const s = this.#use();
    const h = s.live(name);
    if (!h || h.holder !== member || h.token !== token) return false;
    const last = s.slots.get(name);
    if (last !== undefined && slot <= last) return false;
    s.slots.set(name, slot);
    return true;
  }

  async lastSlot(name: string): Promise<number | null> {
    return this.#use().slots.get(name) ?? null;
  }

  async heartbeat(group: string, member: string, ttl: number): Promise<void> {
    const s = this.#use();
    let g = s.groups.get(group);
    if (!g) s.groups.set(group, (g = new Map()));
    g.set(member, s.clock.now() + ttl);
  }

  async leave(group: string, member: string): Promise<void> {
    this.#use().groups.get(group)?.delete(member);
  }

  async members(group: string): Promise<string[]> {
    const s = this.#use();
    const g = s.groups.get(group);
    if (!g) return [];
    const now = s.clock.now();
    for (const [m, expiresAt] of g) if (expiresAt <= now) g.delete(m);
    return [...g.keys()].sort();
  }
}
