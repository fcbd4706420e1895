/**
 * The manager that bench/faults/shutdown.ts runs with `conductor run --manager
 * dist/bench/faults/shutdown-manager.js#ShutdownManager` (issue 16, scenario 2), and that the
 * bench also serves in-process, as the second server that drains the queue afterwards.
 *
 * It appends one line per event it handled to the file named by `SHUTDOWN_RECORD`
 * (`<pid> <event> <seq> <epoch ms>`; small appends are atomic, so workers share the file):
 * - `call <seq>`: `slow` (sleeps `ms`) or `fast` returned;
 * - `cast <seq>`: the cast `note` was handled;
 * - `stuck-start <seq>` / `stuck <seq>`: `stuck` (sleeps `ms`, meant to overrun the shutdown)
 *   began / returned;
 * - `task-start <n>` / `task-end <n>`: a run of the periodic task `long_task` (`SHUTDOWN_TASK_MS`
 *   long, default 1000; every `SHUTDOWN_TASK_SPACING` s, default 1; 0 ms: no task).
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestContext } from '../../src/core/index.js';
import { Manager, type ManagerOptions } from '../../src/service/index.js';

/** One event a {@link ShutdownManager} recorded, as {@link readRecords} reads it back. */
export interface ShutdownRecord {
  readonly pid: number;
  readonly event: string;
  readonly seq: number;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** Parses a record file's text. */
export function parseRecords(text: string): ShutdownRecord[] {
  const out: ShutdownRecord[] = [];
  for (const line of text.split('\n')) {
    const [pid, event, seq, at] = line.split(' ');
    if (pid === undefined || event === undefined || seq === undefined || at === undefined) continue;
    out.push({ pid: Number(pid), event, seq: Number(seq), at: Number(at) });
  }
  return out;
}

/** What a call of `slow`, `fast` or `stuck` returns: its sequence number and who answered it. */
export interface ShutdownReply {
  readonly seq: number;
  readonly pid: number;
}

const num = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : fallback;

/** An RPC endpoint with a slow and a fast method, a cast, a stuck method and a long task run. */
export class ShutdownManager extends Manager {
  readonly #file: string | undefined;
  #runs = 0;

  constructor(options: ManagerOptions = {}) {
    super(options);
    this.#file = process.env['SHUTDOWN_RECORD'];
    const taskMs = Number(process.env['SHUTDOWN_TASK_MS'] ?? 1000);
    const spacing = Number(process.env['SHUTDOWN_TASK_SPACING'] ?? 1);
    if (taskMs > 0) {
      this.addPeriodicTask(
        async () => {
          const n = ++this.#runs;
          this.#record('task-start', n);
          await sleep(taskMs);
          this.#record('task-end', n);
        },
        { name: 'long_task', spacing, runImmediately: true },
      );
    }
  }

  /** Sleeps `ms` (default 300), then answers. */
  async slow(_ctx: RequestContext, args: { seq?: unknown; ms?: unknown }): Promise<ShutdownReply> {
    const seq = num(args.seq, -1);
    await sleep(num(args.ms, 300));
    this.#record('call', seq);
    return { seq, pid: process.pid };
  }

  /** Answers at once. */
  fast(_ctx: RequestContext, args: { seq?: unknown }): ShutdownReply {
    const seq = num(args.seq, -1);
    this.#record('call', seq);
    return { seq, pid: process.pid };
  }

  /** A cast: records its sequence number. */
  note(_ctx: RequestContext, args: { seq?: unknown }): void {
    this.#record('cast', num(args.seq, -1));
  }

  /** Records its start, sleeps `ms` (default 10 s: past any short graceful shutdown timeout). */
  async stuck(_ctx: RequestContext, args: { seq?: unknown; ms?: unknown }): Promise<ShutdownReply> {
    const seq = num(args.seq, -1);
    this.#record('stuck-start', seq);
    await sleep(num(args.ms, 10_000));
    this.#record('stuck', seq);
    return { seq, pid: process.pid };
  }

  #record(event: string, seq: number): void {
    if (this.#file) appendFileSync(this.#file, `${process.pid} ${event} ${seq} ${Date.now()}\n`);
  }
}
