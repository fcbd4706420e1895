/**
 * The memory backend: the conformance suite on a virtual clock (hours of leases in milliseconds),
 * and what only it has — named spaces shared in the process, private unnamed ones, and playing a
 * backend that went away.
 */
import { describe, expect, it } from 'vitest';
import {
  CoordinationUnavailable,
  forgetMemorySpace,
  MemoryBackend,
  MemorySpace,
  memorySpace,
} from '../../src/coordination/index.js';
import { VirtualClock } from '../../src/core/index.js';
import { backendContract } from './backend-contract.js';

const clock = new VirtualClock(1000);

backendContract('memory', {
  make: async () => {
    const b = new MemoryBackend(new MemorySpace(clock));
    await b.connect();
    return b;
  },
  elapse: (seconds) => clock.advance(seconds),
  ttl: 5,
});

describe('MemoryBackend', () => {
  it('memorySpace(name) is one space per name in the process; forgetMemorySpace drops it', async () => {
    const c = new VirtualClock(0);
    const a = new MemoryBackend(memorySpace('test-memory-shared', c));
    const b = new MemoryBackend(memorySpace('test-memory-shared', c));
    expect((await a.acquire('l', 'a', 10))?.token).toBe(1);
    expect(await b.acquire('l', 'b', 10)).toBeNull();
    forgetMemorySpace('test-memory-shared');
    const fresh = new MemoryBackend(memorySpace('test-memory-shared', c));
    expect((await fresh.acquire('l', 'b', 10))?.token).toBe(1);
    forgetMemorySpace('test-memory-shared');
  });

  it('a space marked unavailable rejects every operation with CoordinationUnavailable, and keeps its state', async () => {
    const c = new VirtualClock(0);
    const space = new MemorySpace(c);
    const b = new MemoryBackend(space, 'memory://x');
    const got = await b.acquire('l', 'a', 10);
    space.available = false;
    await expect(b.renew('l', 'a', got?.token ?? 0, 10)).rejects.toBeInstanceOf(
      CoordinationUnavailable,
    );
    await expect(b.members('g')).rejects.toThrow(/memory:\/\/x is unavailable/);
    space.available = true;
    expect(await b.holder('l')).toMatchObject({ holder: 'a', token: got?.token });
  });

  it('a closed backend rejects, another backend on the same space still works (a crashed replica)', async () => {
    const c = new VirtualClock(0);
    const space = new MemorySpace(c);
    const dead = new MemoryBackend(space);
    const alive = new MemoryBackend(space);
    await dead.acquire('l', 'dead', 10);
    await dead.close();
    await expect(dead.ping()).rejects.toBeInstanceOf(CoordinationUnavailable);
    expect(await alive.acquire('l', 'alive', 10)).toBeNull();
    await c.advance(10);
    expect((await alive.acquire('l', 'alive', 10))?.token).toBe(2);
  });
});
