/**
 * The Coordinator on the memory backend and a virtual clock: leases renewed by heartbeats for hours,
 * lost (and aborted) before anyone else can hold them, taken over within one heartbeat of expiry,
 * fenced; membership joins, crashes and watches; partitions; degraded starts; option errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoordinationUnavailable,
  type Coordinator,
  getCoordinator,
  InvalidCoordinationOption,
  InvalidCoordinationUrl,
  LeaseLostError,
  MemoryBackend,
  MemorySpace,
  type MembershipEvent,
  UnsupportedCoordinationBackend,
} from '../../src/coordination/index.js';
import { HealthCheckError, VirtualClock } from '../../src/core/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const TTL = 15;
const BEAT = 5;

let started: Coordinator[] = [];
afterEach(async () => {
  await Promise.all(started.map((c) => c.stop()));
  started = [];
});

/** Replicas on one space: each its own backend object, so one can "crash" (its backend closes). */
function cluster(clock: VirtualClock, space = new MemorySpace(clock)) {
  const make = async (memberId: string, start = true) => {
    const backend = new MemoryBackend(space, 'memory://test');
    const c = getCoordinator('memory://', {
      memberId,
      clock,
      leaseTtl: TTL,
      heartbeatInterval: BEAT,
      backend,
      logger: captureLogs().logger,
    });
    if (start) {
      await c.start();
      started.push(c);
    }
    return { c, backend };
  };
  return { space, make };
}

describe('getCoordinator options', () => {
  it('refuses bad options and URLs with catalogue errors, before connecting', () => {
    expect(() => getCoordinator('memory://', { memberId: '' })).toThrow(InvalidCoordinationOption);
    expect(() => getCoordinator('memory://', { memberId: 'a', leaseTtl: 0 })).toThrow(
      /leaseTtl must be a positive number/,
    );
    expect(() =>
      getCoordinator('memory://', { memberId: 'a', leaseTtl: 5, heartbeatInterval: 5 }),
    ).toThrow(/heartbeatInterval \(5\) must be less than leaseTtl \(5\)/);
    expect(() => getCoordinator('memory://', { memberId: 'a', namespace: 'a b' })).toThrow(
      InvalidCoordinationOption,
    );
    expect(() => getCoordinator('zookeeper://h', { memberId: 'a' })).toThrow(
      UnsupportedCoordinationBackend,
    );
    expect(() => getCoordinator('not a url', { memberId: 'a' })).toThrow(InvalidCoordinationUrl);
    const err = (() => {
      try {
        getCoordinator('redis://:s3cret@', { memberId: 'a' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(InvalidCoordinationUrl);
    expect(err?.message).not.toContain('s3cret');
  });

  it('memory:// is private per coordinator; memory://name is shared in the process', async () => {
    const clock = new VirtualClock(0);
    const mk = (url: string, id: string) =>
      getCoordinator(url, { memberId: id, clock, logger: captureLogs().logger });
    const [a, b] = [mk('memory://', 'a'), mk('memory://', 'b')];
    const [x, y] = [mk('memory://shared-test', 'x'), mk('memory://shared-test', 'y')];
    for (const c of [a, b, x, y]) await c.start();
    started.push(a, b, x, y);
    expect(await a.acquire('l')).not.toBeNull();
    expect(await b.acquire('l')).not.toBeNull();
    expect(await x.acquire('l')).not.toBeNull();
    expect(await y.acquire('l')).toBeNull();
  });
});

describe('leases', () => {
  it('a held lease is renewed by the heartbeats for hours and keeps its token', async () => {
    const clock = new VirtualClock(0);
    const { make } = cluster(clock);
    const { c: a } = await make('a');
    const { c: b } = await make('b');
    const lease = await a.acquire('job');
    expect(lease).toMatchObject({ name: 'job', holder: 'a', held: true });
    await clock.advance(3 * 3600);
    expect(lease?.held).toBe(true);
    expect(lease?.signal.aborted).toBe(false);
    expect(await b.acquire('job')).toBeNull();
    expect(await b.holder('job')).toMatchObject({ holder: 'a', token: lease?.token });
    expect(a.stats()).toMatchObject({ leasesHeld: 1, leaseAcquisitions: 1, leaseLosses: 0 });
  });

  it('while the backend is away the holder aborts before its lease expires at the backend, so no two replicas ever hold it', async () => {
    const clock = new VirtualClock(0);
    const { make } = cluster(clock);
    const { c: a, backend } = await make('a');
    const { c: b } = await make('b');
    const lease = await a.acquire('job');
    let abortedAt = -1;
    lease?.signal.addEventListener('abort', () => (abortedAt = clock.now()));
    await clock.advance(BEAT * 2 + 1); // renewed at 5 and 10: the backend's expiry is 25
    await backend.close(); // a's link to the backend dies; b's is fine
    const candidacy = b.campaign('job');
    let takenAt = -1;
    for (let t = 0; t < 40 && takenAt < 0; t++) {
      await clock.advance(0.5);
      if (candidacy.lease) takenAt = clock.now();
    }
    expect(abortedAt).toBeGreaterThan(0);
    expect(lease?.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((lease?.signal.reason as Error).message).toMatch(
      /Lease 'job' lost: not renewed in time/,
    );
    expect(abortedAt).toBeLessThan(25); // before the backend lets anyone else take it
    expect(takenAt).toBeGreaterThanOrEqual(25);
    expect(takenAt).toBeLessThanOrEqual(25 + BEAT); // within one heartbeat of the expiry
    expect(candidacy.lease?.token).toBeGreaterThan(lease?.token ?? Infinity);
    expect(a.stats()).toMatchObject({ leasesHeld: 0, leaseLosses: 1, healthy: false });
  });

  it('a stale holder (its clock lagging, its lease taken) is fenced: claimSlot and renew refuse its token', async () => {
    const clock = new VirtualClock(0);
    const space = new MemorySpace(clock);
    const { make } = cluster(clock, space);
    const { c: b } = await make('b');
    // a's own clock is stopped: it believes its lease is fine long after the backend expired it.
    const slow = new VirtualClock(0);
    const a = getCoordinator('memory://', {
      memberId: 'a',
      clock: slow,
      leaseTtl: TTL,
      heartbeatInterval: BEAT,
      backend: new MemoryBackend(space),
      logger: captureLogs().logger,
    });
    await a.start();
    started.push(a);
    const stale = await a.acquire('job');
    await clock.advance(TTL + 1);
    const fresh = await b.acquire('job');
    expect(fresh?.token).toBeGreaterThan(stale?.token ?? Infinity);
    expect(stale?.held).toBe(true); // it does not know yet...
    expect(await a.claimSlot(stale as never, 1)).toBe(false); // ...but its writes are refused
    expect(await b.claimSlot(fresh as never, 1)).toBe(true);
    expect(await stale?.renew()).toBe(false);
    expect(stale?.signal.aborted).toBe(true);
  });

  it('slots only grow: one claim per slot, a new holder continues from the recorded slot', async () => {
    const clock = new VirtualClock(0);
    const { make } = cluster(clock);
    const { c: a } = await make('a');
    const { c: b } = await make('b');
    const la = await a.acquire('task');
    expect(await a.claimSlot(la as never, 7)).toBe(true);
    expect(await a.claimSlot(la as never, 7)).toBe(false);
    expect(await a.claimSlot(la as never, 6)).toBe(false);
    await la?.release();
    expect(la?.signal.reason).toMatchObject({ message: "Lease 'task' lost: released" });
    const lb = await b.acquire('task');
    expect(await b.lastSlot('task')).toBe(7);
    expect(await b.claimSlot(lb as never, 7)).toBe(false);
    expect(await b.claimSlot(lb as never, 8)).toBe(true);
    expect(a.stats().leaseLosses).toBe(0); // a release is not a loss
  });
});

describe('membership', () => {
  it('join, members, leave; a crashed member leaves the group within one TTL; watchers see it', async () => {
    const clock = new VirtualClock(0);
    const { make } = cluster(clock);
    const { c: a } = await make('a');
    const { c: b, backend: bBackend } = await make('b');
    const { c: c } = await make('c');
    const events: MembershipEvent[] = [];
    a.watch('g', (e) => events.push(e));
    for (const x of [a, b, c]) await x.join('g');
    await clock.advance(BEAT);
    expect(await a.members('g')).toEqual(['a', 'b', 'c']);
    expect(events.map((e) => `${e.type}:${e.member}`).sort()).toEqual([
      'join:a',
      'join:b',
      'join:c',
    ]);
    events.length = 0;
    await bBackend.close(); // b crashes: no more heartbeats
    const crashedAt = clock.now();
    let goneAt = -1;
    for (let t = 0; t < 60 && goneAt < 0; t++) {
      await clock.advance(0.5);
      if (events.some((e) => e.type === 'leave' && e.member === 'b')) goneAt = clock.now();
    }
    expect(goneAt - crashedAt).toBeLessThanOrEqual(TTL + BEAT);
    expect(events.at(-1)?.members).toEqual(['a', 'c']);
    await c.leave('g');
    expect(await a.members('g')).toEqual(['a']);
  });

  it('a partition is the ring of the live members; a replica whose membership lapses owns nothing', async () => {
    const clock = new VirtualClock(0);
    const space = new MemorySpace(clock);
    const { make } = cluster(clock, space);
    const { c: a } = await make('a');
    const { c: b } = await make('b');
    for (const x of [a, b]) await x.join('g');
    const pa = a.partition('g');
    const pb = b.partition('g');
    await clock.advance(BEAT);
    expect(pa.members).toEqual(['a', 'b']);
    // Settling: a join owns keys one heartbeat (and the margin) after it was confirmed.
    expect(pa.valid).toBe(false);
    expect(pa.settlesAt).toBe(BEAT + 0.5);
    await clock.advance(1);
    expect(pa.settlesAt).toBeUndefined();
    const keys = Array.from({ length: 1000 }, (_, i) => `vim-${i}`);
    const mineA = keys.filter((k) => pa.owns(k));
    const mineB = keys.filter((k) => pb.owns(k));
    expect(mineA.length + mineB.length).toBe(1000);
    expect(mineA.filter((k) => pb.owns(k))).toEqual([]);
    space.available = false; // nobody can confirm anything
    await clock.advance(TTL);
    expect(keys.filter((k) => pa.owns(k) || pb.owns(k))).toEqual([]);
    expect(() => a.check()).toThrow(HealthCheckError);
    space.available = true;
    // One heartbeat to rejoin, one more (and the margin) for every replica to see the others again.
    await clock.advance(BEAT);
    expect(keys.filter((k) => pa.owns(k) || pb.owns(k))).toEqual([]);
    await clock.advance(BEAT + 1);
    expect(keys.filter((k) => pa.owns(k)).length + keys.filter((k) => pb.owns(k)).length).toBe(
      1000,
    );
    expect(a.healthy).toBe(true);
    expect(a.stats().groups).toEqual({ g: 2 });
  });
});

/** A backend whose link can be cut and restored (`down`), for one replica alone. */
class FlakyBackend extends MemoryBackend {
  down = false;
  #check(): void {
    if (this.down) throw new CoordinationUnavailable(this.where, 'link down');
  }
  override async heartbeat(group: string, member: string, ttl: number): Promise<void> {
    this.#check();
    return super.heartbeat(group, member, ttl);
  }
  override async members(group: string): Promise<string[]> {
    this.#check();
    return super.members(group);
  }
}

describe('handovers of keys', () => {
  /** Every key owned by at most one replica at once, checked at each step of `seconds`. */
  async function neverTwice(
    clock: VirtualClock,
    parts: readonly { owns(key: string): boolean }[],
    keys: readonly string[],
    seconds: number,
    step = 0.25,
  ): Promise<void> {
    for (let t = 0; t < seconds; t += step) {
      await clock.advance(step);
      for (const k of keys) {
        const owners = parts.filter((p) => p.owns(k)).length;
        if (owners > 1) expect.fail(`${k} owned by ${owners} replicas at ${clock.now()}`);
      }
    }
  }

  it('joins one by one, a lapse and a comeback, a crash: no key ever owned twice, gaps bounded', async () => {
    const clock = new VirtualClock(0);
    const space = new MemorySpace(clock);
    const { make } = cluster(clock, space);
    const keys = Array.from({ length: 300 }, (_, i) => `vim-${i}`);
    const owned = (ps: readonly { owns(k: string): boolean }[]) =>
      keys.filter((k) => ps.some((p) => p.owns(k))).length;
    const { c: a } = await make('a');
    await a.join('g');
    const pa = a.partition('g');
    await neverTwice(clock, [pa], keys, BEAT + 1);
    expect(owned([pa])).toBe(300);
    // b and c join between heartbeats of a: the old owner lets go first.
    await clock.advance(1.3);
    const bBackend = new FlakyBackend(space, 'memory://test');
    const b = getCoordinator('memory://', {
      memberId: 'b',
      clock,
      leaseTtl: TTL,
      heartbeatInterval: BEAT,
      backend: bBackend,
      logger: captureLogs().logger,
    });
    await b.start();
    started.push(b);
    await b.join('g');
    const pb = b.partition('g');
    await neverTwice(clock, [pa, pb], keys, 2.1);
    const { c: c } = await make('c');
    await c.join('g');
    const pc = c.partition('g');
    // Settled within a heartbeat and the margin of the join, after a gap of at most that.
    await neverTwice(clock, [pa, pb, pc], keys, BEAT + 1);
    expect(owned([pa, pb, pc])).toBe(300);
    expect([pa, pb, pc].map((p) => keys.filter((k) => p.owns(k)).length)).not.toContain(0);
    // b's heartbeats stop reaching the backend for longer than the TTL, then come back.
    bBackend.down = true;
    await neverTwice(clock, [pa, pb, pc], keys, TTL + BEAT);
    expect(pb.valid).toBe(false);
    expect(owned([pa, pc])).toBe(300);
    bBackend.down = false;
    await neverTwice(clock, [pa, pb, pc], keys, 3 * BEAT);
    expect(keys.filter((k) => pb.owns(k)).length).toBeGreaterThan(0);
    expect(owned([pa, pb, pc])).toBe(300);
    // c crashes: the survivors take its keys once it expired, never while it could still own them.
    await c.stop();
    await neverTwice(clock, [pa, pb], keys, TTL + 2 * BEAT);
    expect(owned([pa, pb])).toBe(300);
  });

  it('a private memory:// coordinator (a cluster of one) owns its keys at once', async () => {
    const clock = new VirtualClock(0);
    const c = getCoordinator('memory://', {
      memberId: 'solo',
      clock,
      logger: captureLogs().logger,
    });
    await c.start();
    started.push(c);
    await c.join('g');
    const p = c.partition('g');
    expect(p.settlesAt).toBeUndefined();
    expect(p.owns('anything')).toBe(true);
  });
});

describe('start and health', () => {
  it('an unreachable backend fails the start with CoordinationUnavailable, or starts degraded and recovers', async () => {
    const clock = new VirtualClock(0);
    const space = new MemorySpace(clock);
    space.available = false;
    const { make } = cluster(clock, space);
    const { c: strict } = await make('strict', false);
    await expect(strict.start()).rejects.toBeInstanceOf(CoordinationUnavailable);
    expect(strict.running).toBe(false);
    const { c: lenient } = await make('lenient', false);
    await lenient.start({ required: false });
    started.push(lenient);
    await lenient.join('g');
    expect(() => lenient.check()).toThrow(/memory memory:\/\/test: .*unavailable/);
    await expect(lenient.acquire('l')).rejects.toBeInstanceOf(CoordinationUnavailable);
    space.available = true;
    await clock.advance(BEAT);
    expect(lenient.healthy).toBe(true);
    expect(await lenient.members('g')).toEqual(['lenient']);
    expect(await lenient.acquire('l')).not.toBeNull();
  });

  it('stop releases the leases and leaves the groups at once', async () => {
    const clock = new VirtualClock(0);
    const { make } = cluster(clock);
    const { c: a } = await make('a');
    const { c: b } = await make('b');
    await a.join('g');
    const lease = await a.acquire('l');
    await a.stop();
    expect(lease?.signal.aborted).toBe(true);
    expect(await b.members('g')).toEqual([]);
    expect(await b.acquire('l')).not.toBeNull();
  });
});
