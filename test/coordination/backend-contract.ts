/**
 * The conformance suite every `CoordinationBackend` passes (memory, Redis, PostgreSQL): each rule of
 * the contract in `src/coordination/backend.ts` is one test here. Backend-neutral: it knows only the
 * interface, and lets time pass through `env.elapse`, so a backend on a `VirtualClock` runs it
 * instantly and a real server runs it with real (short) sleeps.
 *
 * Waits are generous (1.5·ttl to be past an expiry, 0.6·ttl twice to straddle one) and every verdict
 * is about the backend's state (who holds what, which slot is recorded), never about how long
 * something took.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CoordinationBackend } from '../../src/coordination/backend.js';
import { CoordinationUnavailable } from '../../src/core/index.js';

/** What a backend under test provides to {@link backendContract}. */
export interface ContractEnv {
  /** A connected backend; a fresh key space per call is fine (the tests use one backend each). */
  make(): Promise<CoordinationBackend>;
  /** Lets `seconds` of the backend's time pass: a real sleep, or `VirtualClock.advance`. */
  elapse(seconds: number): Promise<void>;
  /** A short TTL in seconds (e.g. 0.3–0.5 for a real server). */
  readonly ttl: number;
  /** Runs once after the whole suite (drop keys, tables, spaces). */
  cleanup?(): Promise<void>;
}

/** Registers the conformance suite for one backend under `describe(label)`. */
export function backendContract(label: string, env: ContractEnv): void {
  describe(`CoordinationBackend contract: ${label}`, () => {
    const { ttl } = env;
    /** Backends made by the running test, closed after it. */
    let open: CoordinationBackend[] = [];
    const backend = async (): Promise<CoordinationBackend> => {
      const b = await env.make();
      open.push(b);
      return b;
    };
    /** A name no other test (or earlier run) uses; with ':' and '|' to check the encoding. */
    const unique = (what: string): string => `${what}:${randomUUID().slice(0, 8)}|x`;

    afterEach(async () => {
      const closing = open;
      open = [];
      await Promise.all(closing.map((b) => b.close()));
    });
    afterAll(async () => {
      await env.cleanup?.();
    });

    const isToken = (t: number): boolean => Number.isSafeInteger(t) && t > 0;

    describe('leases', () => {
      it('acquire of a free lease gives a positive integer token and reports the holding', async () => {
        const b = await backend();
        const name = unique('lease');
        const got = await b.acquire(name, 'host:a', ttl);
        expect(got).not.toBeNull();
        expect(got?.holder).toBe('host:a');
        expect(isToken(got?.token ?? 0)).toBe(true);
        expect(got?.expiresIn).toBeGreaterThan(0);
        expect(got?.expiresIn).toBeLessThanOrEqual(ttl);
        const h = await b.holder(name);
        expect(h?.holder).toBe('host:a');
        expect(h?.token).toBe(got?.token);
      });

      it('re-acquire by the holder keeps the token and extends the lease', async () => {
        const b = await backend();
        const name = unique('lease');
        const first = await b.acquire(name, 'a', ttl);
        await env.elapse(ttl * 0.6);
        const again = await b.acquire(name, 'a', ttl);
        expect(again?.token).toBe(first?.token);
        expect(again?.holder).toBe('a');
        // 1.2·ttl after the first acquire: held only because the re-acquire extended it.
        await env.elapse(ttl * 0.6);
        const h = await b.holder(name);
        expect(h?.holder).toBe('a');
        expect(h?.token).toBe(first?.token);
      });

      it('acquire by another member while held gives null and changes nothing', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        expect(await b.acquire(name, 'b', ttl)).toBeNull();
        const h = await b.holder(name);
        expect(h?.holder).toBe('a');
        expect(h?.token).toBe(a?.token);
      });

      it('concurrent acquires by 10 members: exactly one wins', async () => {
        const b = await backend();
        const name = unique('lease');
        const members = Array.from({ length: 10 }, (_, i) => `m${String(i)}`);
        const results = await Promise.all(members.map((m) => b.acquire(name, m, ttl)));
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        const h = await b.holder(name);
        expect(h?.holder).toBe(winners[0]?.holder);
        expect(h?.token).toBe(winners[0]?.token);
      });

      it('release needs the holder and its token; a wrong one changes nothing', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        const token = a?.token ?? 0;
        expect(await b.release(name, 'a', token + 1)).toBe(false);
        expect(await b.release(name, 'b', token)).toBe(false);
        expect((await b.holder(name))?.holder).toBe('a');
        expect(await b.release(name, 'a', token)).toBe(true);
        expect(await b.holder(name)).toBeNull();
        // Released twice: nothing to release.
        expect(await b.release(name, 'a', token)).toBe(false);
      });

      it('a released lease is free: the next holding gets a larger token', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        expect(await b.release(name, 'a', a?.token ?? 0)).toBe(true);
        const next = await b.acquire(name, 'b', ttl);
        expect(next?.holder).toBe('b');
        expect(next?.token).toBeGreaterThan(a?.token ?? Infinity);
        // Even the same member gets a new, larger token for a new holding.
        expect(await b.release(name, 'b', next?.token ?? 0)).toBe(true);
        const third = await b.acquire(name, 'b', ttl);
        expect(third?.token).toBeGreaterThan(next?.token ?? Infinity);
      });

      it('after ttl the lease is free and a new acquire gets a strictly larger token', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        await env.elapse(ttl * 1.5);
        expect(await b.holder(name)).toBeNull();
        const next = await b.acquire(name, 'b', ttl);
        expect(next?.holder).toBe('b');
        expect(isToken(next?.token ?? 0)).toBe(true);
        expect(next?.token).toBeGreaterThan(a?.token ?? Infinity);
      });

      it('the former holder re-acquiring after expiry gets a new, larger token', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        await env.elapse(ttl * 1.5);
        const again = await b.acquire(name, 'a', ttl);
        expect(again?.token).toBeGreaterThan(a?.token ?? Infinity);
      });

      it('renew by the holder extends the lease and keeps the token', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        await env.elapse(ttl * 0.6);
        expect(await b.renew(name, 'a', a?.token ?? 0, ttl)).toBe(true);
        await env.elapse(ttl * 0.6);
        const h = await b.holder(name);
        expect(h?.holder).toBe('a');
        expect(h?.token).toBe(a?.token);
      });

      it('renew after expiry is false and does not bring the lease back', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        await env.elapse(ttl * 1.5);
        expect(await b.renew(name, 'a', a?.token ?? 0, ttl)).toBe(false);
        expect(await b.holder(name)).toBeNull();
      });

      it('renew by a non-holder or with a wrong token is false and changes nothing', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        const token = a?.token ?? 0;
        expect(await b.renew(name, 'b', token, ttl)).toBe(false);
        expect(await b.renew(name, 'a', token + 1, ttl)).toBe(false);
        expect(await b.renew(unique('other'), 'a', token, ttl)).toBe(false);
        const h = await b.holder(name);
        expect(h?.holder).toBe('a');
        expect(h?.token).toBe(token);
      });

      it('renew with a stale token after another member took the lease is false', async () => {
        const b = await backend();
        const name = unique('lease');
        const a = await b.acquire(name, 'a', ttl);
        await env.elapse(ttl * 1.5);
        const c = await b.acquire(name, 'c', ttl);
        expect(await b.renew(name, 'a', a?.token ?? 0, ttl)).toBe(false);
        expect(await b.release(name, 'a', a?.token ?? 0)).toBe(false);
        const h = await b.holder(name);
        expect(h?.holder).toBe('c');
        expect(h?.token).toBe(c?.token);
      });

      it('holder() reports holder, token and expiresIn ≈ ttl; null when free', async () => {
        const b = await backend();
        const name = unique('lease');
        expect(await b.holder(name)).toBeNull();
        const a = await b.acquire(name, 'host:a|1', ttl);
        const h = await b.holder(name);
        expect(h).not.toBeNull();
        expect(h?.holder).toBe('host:a|1');
        expect(h?.token).toBe(a?.token);
        expect(h?.expiresIn).toBeGreaterThan(ttl * 0.5);
        expect(h?.expiresIn).toBeLessThanOrEqual(ttl);
        await env.elapse(ttl * 0.6);
        // Counts down by the backend's clock (a late wake-up past the expiry reads as 0).
        expect((await b.holder(name))?.expiresIn ?? 0).toBeLessThan(ttl * 0.5);
      });

      it('leases of different names are independent', async () => {
        const b = await backend();
        const one = unique('lease');
        const two = unique('lease');
        const a = await b.acquire(one, 'a', ttl);
        const c = await b.acquire(two, 'c', ttl);
        expect(a?.holder).toBe('a');
        expect(c?.holder).toBe('c');
        expect(await b.release(one, 'a', a?.token ?? 0)).toBe(true);
        expect((await b.holder(two))?.holder).toBe('c');
      });
    });

    describe('slots', () => {
      it('only the holder with its current token may claim a slot', async () => {
        const b = await backend();
        const name = unique('slots');
        expect(await b.claimSlot(name, 'a', 1, 1)).toBe(false); // no lease at all
        const a = await b.acquire(name, 'a', ttl);
        const token = a?.token ?? 0;
        expect(await b.claimSlot(name, 'b', token, 1)).toBe(false);
        expect(await b.claimSlot(name, 'a', token + 1, 1)).toBe(false);
        expect(await b.lastSlot(name)).toBeNull();
        expect(await b.claimSlot(name, 'a', token, 1)).toBe(true);
        expect(await b.lastSlot(name)).toBe(1);
      });

      it('slots must increase: the same slot twice or a lower one is refused', async () => {
        const b = await backend();
        const name = unique('slots');
        const a = await b.acquire(name, 'a', ttl);
        const token = a?.token ?? 0;
        expect(await b.claimSlot(name, 'a', token, 10)).toBe(true);
        expect(await b.claimSlot(name, 'a', token, 10)).toBe(false);
        expect(await b.claimSlot(name, 'a', token, 9)).toBe(false);
        expect(await b.lastSlot(name)).toBe(10);
        expect(await b.claimSlot(name, 'a', token, 12)).toBe(true);
        expect(await b.lastSlot(name)).toBe(12);
      });

      it('large slot numbers (epoch milliseconds) round-trip exactly', async () => {
        const b = await backend();
        const name = unique('slots');
        const a = await b.acquire(name, 'a', ttl);
        const slot = 1_767_225_600_123;
        expect(await b.claimSlot(name, 'a', a?.token ?? 0, slot)).toBe(true);
        expect(await b.lastSlot(name)).toBe(slot);
        expect(await b.claimSlot(name, 'a', a?.token ?? 0, slot + 1)).toBe(true);
        expect(await b.lastSlot(name)).toBe(slot + 1);
      });

      it('an expired holding cannot claim, even with no new holder', async () => {
        const b = await backend();
        const name = unique('slots');
        const a = await b.acquire(name, 'a', ttl);
        await env.elapse(ttl * 1.5);
        expect(await b.claimSlot(name, 'a', a?.token ?? 0, 1)).toBe(false);
        expect(await b.lastSlot(name)).toBeNull();
      });

      it('a stale token (after expiry and a new holder) cannot claim; the new holder can', async () => {
        const b = await backend();
        const name = unique('slots');
        const a = await b.acquire(name, 'a', ttl);
        expect(await b.claimSlot(name, 'a', a?.token ?? 0, 1)).toBe(true);
        await env.elapse(ttl * 1.5);
        const c = await b.acquire(name, 'c', ttl);
        expect(await b.claimSlot(name, 'a', a?.token ?? 0, 2)).toBe(false);
        // Same member, new holding: the old token is stale too.
        expect(await b.claimSlot(name, 'c', a?.token ?? 0, 2)).toBe(false);
        expect(await b.claimSlot(name, 'c', c?.token ?? 0, 2)).toBe(true);
        expect(await b.lastSlot(name)).toBe(2);
      });

      it('lastSlot outlives the lease: a new holder reads it and must go higher', async () => {
        const b = await backend();
        const name = unique('slots');
        const a = await b.acquire(name, 'a', ttl);
        expect(await b.claimSlot(name, 'a', a?.token ?? 0, 5)).toBe(true);
        expect(await b.release(name, 'a', a?.token ?? 0)).toBe(true);
        expect(await b.lastSlot(name)).toBe(5);
        await env.elapse(ttl * 1.5);
        expect(await b.lastSlot(name)).toBe(5);
        const c = await b.acquire(name, 'c', ttl);
        expect(await b.claimSlot(name, 'c', c?.token ?? 0, 5)).toBe(false);
        expect(await b.claimSlot(name, 'c', c?.token ?? 0, 6)).toBe(true);
      });

      it('20 concurrent claims of one slot: exactly one is true', async () => {
        const b = await backend();
        const name = unique('slots');
        const a = await b.acquire(name, 'a', ttl);
        const token = a?.token ?? 0;
        const results = await Promise.all(
          Array.from({ length: 20 }, () => b.claimSlot(name, 'a', token, 7)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await b.lastSlot(name)).toBe(7);
      });

      it('slots of different names are independent', async () => {
        const b = await backend();
        const one = unique('slots');
        const two = unique('slots');
        const a = await b.acquire(one, 'a', ttl);
        const c = await b.acquire(two, 'a', ttl);
        expect(await b.claimSlot(one, 'a', a?.token ?? 0, 3)).toBe(true);
        expect(await b.lastSlot(two)).toBeNull();
        expect(await b.claimSlot(two, 'a', c?.token ?? 0, 1)).toBe(true);
        expect(await b.lastSlot(one)).toBe(3);
        expect(await b.lastSlot(two)).toBe(1);
      });
    });

    describe('membership', () => {
      it('heartbeat joins; members are listed sorted, each once', async () => {
        const b = await backend();
        const group = unique('group');
        expect(await b.members(group)).toEqual([]);
        await b.heartbeat(group, 'host:c', ttl);
        await b.heartbeat(group, 'host:a', ttl);
        await b.heartbeat(group, 'host:b|2', ttl);
        await b.heartbeat(group, 'host:a', ttl);
        expect(await b.members(group)).toEqual(['host:a', 'host:b|2', 'host:c']);
      });

      it('leave removes at once; leaving when not a member is a no-op', async () => {
        const b = await backend();
        const group = unique('group');
        await b.heartbeat(group, 'a', ttl);
        await b.heartbeat(group, 'b', ttl);
        await b.leave(group, 'a');
        expect(await b.members(group)).toEqual(['b']);
        await b.leave(group, 'a');
        await b.leave(unique('nogroup'), 'a');
        expect(await b.members(group)).toEqual(['b']);
      });

      it('a member that stops heartbeating disappears after ttl; one that goes on stays', async () => {
        const b = await backend();
        const group = unique('group');
        await b.heartbeat(group, 'quiet', ttl);
        await b.heartbeat(group, 'steady', ttl);
        await env.elapse(ttl * 0.6);
        await b.heartbeat(group, 'steady', ttl);
        expect(await b.members(group)).toEqual(['quiet', 'steady']);
        await env.elapse(ttl * 0.6);
        expect(await b.members(group)).toEqual(['steady']);
        await env.elapse(ttl * 1.5);
        expect(await b.members(group)).toEqual([]);
        // Coming back is a plain heartbeat.
        await b.heartbeat(group, 'quiet', ttl);
        expect(await b.members(group)).toEqual(['quiet']);
      });

      it('groups are independent', async () => {
        const b = await backend();
        const one = unique('group');
        const two = unique('group');
        await b.heartbeat(one, 'a', ttl);
        await b.heartbeat(two, 'b', ttl);
        expect(await b.members(one)).toEqual(['a']);
        expect(await b.members(two)).toEqual(['b']);
        await b.leave(one, 'a');
        expect(await b.members(one)).toEqual([]);
        expect(await b.members(two)).toEqual(['b']);
      });
    });

    describe('lifecycle', () => {
      it('ping resolves on a connected backend', async () => {
        const b = await backend();
        await expect(b.ping()).resolves.toBeUndefined();
      });

      it('after close every operation rejects with CoordinationUnavailable; close is idempotent', async () => {
        const b = await backend();
        const name = unique('closed');
        await b.close();
        await b.close();
        const ops: Array<() => Promise<unknown>> = [
          () => b.ping(),
          () => b.acquire(name, 'a', ttl),
          () => b.renew(name, 'a', 1, ttl),
          () => b.release(name, 'a', 1),
          () => b.holder(name),
          () => b.claimSlot(name, 'a', 1, 1),
          () => b.lastSlot(name),
          () => b.heartbeat(name, 'a', ttl),
          () => b.leave(name, 'a'),
          () => b.members(name),
        ];
        for (const op of ops) await expect(op()).rejects.toBeInstanceOf(CoordinationUnavailable);
      });

      it('kind and where describe the backend', async () => {
        const b = await backend();
        expect(typeof b.kind).toBe('string');
        expect(b.kind.length).toBeGreaterThan(0);
        expect(typeof b.where).toBe('string');
      });
    });
  });
}
