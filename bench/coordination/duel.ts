/**
 * Part 4: a once-per-cluster job every `spacing` seconds, three workers in child processes on one
 * Redis, conductor-ts against BullMQ, one after the other. Each system runs `slots` slots; at the
 * half, the worker that has just started a slot is SIGKILLed mid-work. Every start and end of a
 * run is reported over IPC (nothing extra on Redis), so the Redis counters (`INFO` deltas over the
 * window) are the system's own.
 *
 * - conductor-ts: three `Service`s (`duel-conductor.ts`) with a once-per-cluster task, i.e. a
 *   standing candidacy for the task's lease and `claimSlot` before every slot.
 * - BullMQ: a job scheduler (`upsertJobScheduler`, `every`) in this process, three `Worker`s
 *   (`duel-bullmq.ts`) at concurrency 1, with `lockDuration` / `stalledInterval` as configured.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { percentile } from '../lib/stats.js';
import {
  Child,
  type ChildMessage,
  counterDelta,
  deleteRedisKeys,
  progress,
  redisCounters,
  sleep,
  wallMs,
} from './common.js';

export interface DuelOptions {
  readonly redisUrl: string;
  readonly run: string;
  /** Coordination namespace of the conductor replicas. */
  readonly namespace: string;
  readonly slots: number;
  /** Seconds between slots. */
  readonly spacing: number;
  readonly workMs: number;
  readonly ttl: number;
  readonly beat: number;
  readonly lockMs: number;
  readonly stalledMs: number;
  readonly workers: number;
}

export interface DuelResult {
  readonly system: string;
  readonly settings: string;
  /** Slots due in the measured window. */
  readonly slots: number;
  /** Distinct slots of the window that started at least once (late re-runs included). */
  readonly ran: number;
  /** Slots that started more than once. */
  readonly duplicates: number;
  /** Slots of the window that never started. */
  readonly missed: number;
  /** The missed slots, numbered from the killed one (+1 = the slot after it). */
  readonly missedAfterKill: readonly number[];
  /** For each missed slot, how late (ms) the slot before it started; NaN if it did not. */
  readonly missedPreviousDelay: readonly number[];
  /** Slots that started and never finished (the killed run, when nothing re-ran it). */
  readonly incomplete: number;
  /** Seconds from the kill to the first start by another worker. */
  readonly takeover: number;
  /** Largest gap between two consecutive starts in the window, seconds. */
  readonly maxGap: number;
  /** Seconds from the kill to the killed slot's re-run, if it was re-run. */
  readonly rerunAfter: number | undefined;
  /** Start − the slot's scheduled time, ms (first starts of each slot). */
  readonly delayP50: number;
  readonly delayP99: number;
  readonly commandsPerSlot: number;
  readonly scriptsPerSlot: number;
  readonly redisCpuUsPerSlot: number;
  /** Commands per slot, the largest first (inside scripts included). */
  readonly topCommands: readonly [string, number][];
  readonly connections: number;
}

interface Start {
  readonly slot: number;
  /** When the slot was due (ms since the epoch). */
  readonly due: number;
  readonly member: string;
  readonly at: number;
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function contender(
  system: 'conductor-ts' | 'BullMQ',
  o: DuelOptions,
  counters: Redis,
): Promise<DuelResult> {
  const spMs = o.spacing * 1000;
  const prefix = `${o.run}_bull`;
  const queueName = `${o.run}_tick`;
  const redis = new URL(o.redisUrl);
  const connection = { host: redis.hostname, port: Number(redis.port || 6379) };
  const starts: Start[] = [];
  const dones = new Set<number>();
  let onStart: ((s: Start) => void) | undefined;
  const children: Child[] = [];
  let queue: Queue | undefined;
  const scriptName = system === 'BullMQ' ? 'duel-bullmq.js' : 'duel-conductor.js';
  try {
    progress(`duel ${system}: starting ${o.workers} workers`);
    for (let i = 0; i < o.workers; i++) {
      const member = `${o.run}-${system === 'BullMQ' ? 'bull' : 'cond'}-w${i}`;
      const child = new Child(member, scriptName, {
        BENCH_URL: o.redisUrl,
        BENCH_MEMBER: member,
        BENCH_NS: o.namespace,
        BENCH_TOPIC: `${o.run}_duel`,
        BENCH_SPACING: String(o.spacing),
        BENCH_WORK_MS: String(o.workMs),
        BENCH_TTL: String(o.ttl),
        BENCH_BEAT: String(o.beat),
        BENCH_QUEUE: queueName,
        BENCH_PREFIX: prefix,
        BENCH_LOCK_MS: String(o.lockMs),
        BENCH_STALLED_MS: String(o.stalledMs),
      });
      child.onMessage((m: ChildMessage) => {
        if (m.type === 'start') {
          const s: Start = {
            slot: m['slot'] as number,
            due: m['due'] as number,
            member: m['member'] as string,
            at: m['at'] as number,
          };
          starts.push(s);
          onStart?.(s);
        } else if (m.type === 'done') dones.add(m['slot'] as number);
      });
      children.push(child);
    }
    await Promise.all(children.map((c) => c.next('ready', 60_000)));
    if (system === 'BullMQ') {
      queue = new Queue(queueName, { connection, prefix });
      await queue.upsertJobScheduler(
        'tick',
        { every: spMs },
        { name: 'tick', data: {}, opts: { removeOnComplete: true, removeOnFail: true } },
      );
    }
    // Steady state: the first run happened, then one more second.
    await within(
      new Promise<void>((resolve) => {
        if (starts.length > 0) resolve();
        else onStart = () => resolve();
      }),
      30_000,
      `${system}: no run started`,
    );
    onStart = undefined;
    await sleep(1000);

    const before = await redisCounters(counters);
    const windowStart = wallMs();
    await sleep((o.slots / 2) * spMs);
    // Kill the worker that starts the next slot, mid-run.
    const victimStart = await within(
      new Promise<Start>((resolve) => {
        onStart = resolve;
      }),
      30_000,
      `${system}: no run started at the half`,
    );
    onStart = undefined;
    const victim = children.find((c) => c.name === victimStart.member) as Child;
    const killAt = wallMs();
    await victim.kill();
    progress(`duel ${system}: killed ${victim.name} in slot ${victimStart.slot}`);
    await sleep(Math.max(0, windowStart + o.slots * spMs - wallMs()));
    const after = await redisCounters(counters);
    const windowEnd = wallMs();
    // Late re-runs of the window's slots (BullMQ's stalled-job recovery) still count.
    const grace = Math.max(o.ttl * 1000, o.lockMs + 2 * o.stalledMs) + 1000;
    await sleep(grace);

    const firstSlot = Math.ceil(windowStart / spMs);
    const lastSlot = Math.floor(windowEnd / spMs) - 1;
    const inWindow = starts.filter((s) => s.slot >= firstSlot && s.slot <= lastSlot);
    const count = new Map<number, number>();
    for (const s of inWindow) count.set(s.slot, (count.get(s.slot) ?? 0) + 1);
    const expected = lastSlot - firstSlot + 1;
    const byTime = [...inWindow].sort((a, b) => a.at - b.at);
    let maxGap = 0;
    for (let i = 1; i < byTime.length; i++)
      maxGap = Math.max(maxGap, (byTime[i] as Start).at - (byTime[i - 1] as Start).at);
    const takeoverStart = starts.find((s) => s.at > killAt && s.member !== victim.name);
    const rerun = starts.find((s) => s.slot === victimStart.slot && s.at > killAt);
    const seen = new Set<number>();
    const delays: number[] = [];
    for (const s of byTime) {
      if (seen.has(s.slot)) continue;
      seen.add(s.slot);
      delays.push(s.at - s.due);
    }
    const missedSlots = Array.from({ length: expected }, (_, i) => firstSlot + i).filter(
      (slot) => !count.has(slot),
    );
    const d = counterDelta(before, after, 1);
    const scripts =
      (d.calls['evalsha'] ?? 0) +
      (d.calls['eval'] ?? 0) +
      (d.calls['evalsha_ro'] ?? 0) +
      (d.calls['fcall'] ?? 0);
    const top = Object.entries(d.calls)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, v]) => [k, v / expected] as [string, number]);
    return {
      system,
      settings:
        system === 'BullMQ'
          ? `lockDuration ${o.lockMs} ms, stalledInterval ${o.stalledMs} ms`
          : `lease_ttl ${o.ttl} s, heartbeat ${o.beat} s`,
      slots: expected,
      ran: count.size,
      duplicates: [...count.values()].filter((n) => n > 1).length,
      missed: expected - count.size,
      missedAfterKill: missedSlots.map((slot) => slot - victimStart.slot),
      missedPreviousDelay: missedSlots.map((slot) => {
        const prev = starts.find((s) => s.slot === slot - 1);
        return prev ? prev.at - prev.due : NaN;
      }),
      incomplete: [...count.keys()].filter((s) => !dones.has(s)).length,
      takeover: takeoverStart ? (takeoverStart.at - killAt) / 1000 : NaN,
      maxGap: maxGap / 1000,
      rerunAfter: rerun ? (rerun.at - killAt) / 1000 : undefined,
      delayP50: percentile(delays, 50),
      delayP99: percentile(delays, 99),
      commandsPerSlot: d.commands / expected,
      scriptsPerSlot: scripts / expected,
      redisCpuUsPerSlot: (d.cpu * 1e6) / expected,
      topCommands: top,
      connections: d.connections,
    };
  } finally {
    onStart = undefined;
    if (queue) {
      await queue.removeJobScheduler('tick').catch(() => undefined);
    }
    await Promise.all(children.map((c) => c.stop()));
    if (queue) {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await deleteRedisKeys(o.redisUrl, system === 'BullMQ' ? prefix : `${o.namespace}:`);
  }
}

export interface DuelReport {
  readonly results: readonly DuelResult[];
  /** Commands per second on the Redis with nothing of ours running, before the duel. */
  readonly idleCommandsPerSecond: number;
}

export async function duelBench(o: DuelOptions): Promise<DuelReport> {
  const counters = new Redis(o.redisUrl, { lazyConnect: true });
  await counters.connect();
  try {
    const a = await redisCounters(counters);
    await sleep(1000);
    const b = await redisCounters(counters);
    const idle = counterDelta(a, b, 1).commands;
    const results: DuelResult[] = [];
    for (const system of ['conductor-ts', 'BullMQ'] as const) {
      results.push(await contender(system, o, counters));
      await sleep(500);
    }
    return { results, idleCommandsPerSecond: idle };
  } finally {
    counters.disconnect();
  }
}
