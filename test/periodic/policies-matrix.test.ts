/**
 * Every combination of the run policies — overlap (skip, queue-one, allow) × missed (run-once, skip,
 * run-all) × timeout (none, 5 s) — for three kinds of task: one that never settles, one slower than
 * its spacing (25 s runs every 10 s) and a normal one (2 s runs). Each case runs the task beside a
 * probe (a plain task every second, no policy) on one exact scheduler on the virtual clock for
 * 100 s, and checks invariants instead of tables of expected times:
 *
 * - overlap: runs of a skip or queue-one task never overlap — not even after a timeout: a run past
 *   its timeout frees the scheduler, not the task, so the slots that come meanwhile are skipped (or
 *   one queued) until it ends. `allow` runs at every slot, on time, and never blocks the probe;
 * - timeout: a run longer than its timeout is reported `timeout` at its deadline and its signal
 *   aborts with TaskTimeoutError; a shorter one is reported `ok` and its signal never aborts;
 * - the scheduler waits for a run at most its timeout: the probe is late by at most
 *   min(run time, timeout) — a never-settling task with timeout 5 delays the probe by ≤ 5 s;
 * - a never-settling task with no timeout and overlap skip/queue-one holds the scheduler for good:
 *   this is the default, and the original's behaviour (oslo's loop, and this scheduler before run
 *   policies, wait for every run); only a timeout (or `allow`) changes it;
 * - accounting: every slot of the task's grid before its next due time is run, skipped for overlap
 *   or counted missed, exactly once (a queue-one task may have one slot queued besides): runs +
 *   overlap-skipped + missed (+ queued) = slots that came. The same for the probe;
 * - missed: `skip` never starts a run late, `run-once` less than one spacing late, `run-all` never
 *   counts a slot missed (no catch-up window here).
 */
import { describe, expect, it } from 'vitest';
import { TaskTimeoutError, VirtualClock } from '../../src/core/index.js';
import {
  ExactScheduler,
  type MissedPolicy,
  type OverlapPolicy,
  PeriodicTasks,
  type TaskRunEvent,
  type TaskSkipEvent,
} from '../../src/periodic/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const SPACING = 10;
const WINDOW = 100;
const TIMEOUT = 5;
/** Seconds a run of each kind takes. */
const RUN_TIME = { never: Infinity, slow: 25, normal: 2 } as const;
type Kind = keyof typeof RUN_TIME;

const OVERLAPS: readonly OverlapPolicy[] = ['skip', 'queue-one', 'allow'];
const MISSED: readonly MissedPolicy[] = ['run-once', 'skip', 'run-all'];
const TIMEOUTS: readonly (number | undefined)[] = [undefined, TIMEOUT];
const KINDS: readonly Kind[] = ['never', 'slow', 'normal'];

interface Case {
  readonly overlap: OverlapPolicy;
  readonly missed: MissedPolicy;
  readonly timeout: number | undefined;
  readonly kind: Kind;
}

/** One run of the task under test: when it started and ended (Infinity: not yet), its signal. */
interface Run {
  readonly start: number;
  end: number;
  readonly signal: AbortSignal;
}

const never = () => new Promise<never>(() => undefined);

/** The task of `c` and the probe on one scheduler for {@link WINDOW} s, then stopped. */
async function scenario(c: Case) {
  const clock = new VirtualClock(0);
  const events: TaskRunEvent[] = [];
  const skipEvents: TaskSkipEvent[] = [];
  const { logger } = captureLogs();
  const tasks = new PeriodicTasks({
    clock,
    logger,
    onTaskRun: (e) => events.push(e),
    onTaskSkip: (e) => skipEvents.push(e),
  });
  // The probe first: at 0 it runs (and anchors its grid) before the task under test holds anything.
  const probe: number[] = [];
  tasks.addPeriodicTask(() => void probe.push(clock.now()), {
    name: 'probe',
    spacing: 1,
    runImmediately: true,
  });
  const runs: Run[] = [];
  tasks.addPeriodicTask(
    (_ctx, run) => {
      const r: Run = { start: clock.now(), end: Infinity, signal: run.signal };
      runs.push(r);
      if (c.kind === 'never') return never();
      return clock.sleep(RUN_TIME[c.kind]).then(() => void (r.end = clock.now()));
    },
    {
      name: 'task',
      spacing: SPACING,
      runImmediately: true,
      overlap: c.overlap,
      missed: c.missed,
      ...(c.timeout === undefined ? {} : { timeout: c.timeout }),
    },
  );
  const scheduler = new ExactScheduler(tasks, { spread: 0, logger });
  scheduler.start();
  await clock.advance(WINDOW);
  scheduler.stop();
  // The loop ends after the run it is in (if any): let that run's time pass, up to 100 s.
  let ended = false;
  void scheduler.wait().then(() => (ended = true));
  for (let i = 0; i < 100 && !ended; i++) await clock.advance(1);
  const of = (name: string) => ({
    events: events.filter((e) => e.name === name),
    overlapSkips: skipEvents.filter((e) => e.name === name && e.reason === 'overlap'),
    missedSkips: skipEvents.filter((e) => e.name === name && e.reason === 'missed'),
    nextDue: scheduler.schedule().find((r) => r.name === name)?.nextDue ?? NaN,
  });
  return { clock, runs, probe, ended, task: of('task'), probeOf: of('probe'), scheduler };
}

/** For each probe slot s in [0, upTo]: how late its first start at or after s came (max of all). */
function maxLateness(starts: readonly number[], upTo: number): number {
  let worst = 0;
  for (let s = 0; s <= upTo; s++) {
    const first = starts.find((t) => t >= s);
    worst = Math.max(worst, first === undefined ? Infinity : first - s);
  }
  return worst;
}

const label = (c: Case) =>
  `overlap=${c.overlap} missed=${c.missed} timeout=${c.timeout ?? 'none'} ${c.kind}`;

const CASES: Case[] = OVERLAPS.flatMap((overlap) =>
  MISSED.flatMap((missed) =>
    TIMEOUTS.flatMap((timeout) => KINDS.map((kind) => ({ overlap, missed, timeout, kind }))),
  ),
);

describe('run policies: every combination, by invariants', () => {
  it('covers 3 × 3 × 2 policies × 3 kinds of task', () => {
    expect(CASES).toHaveLength(54);
  });

  for (const c of CASES) {
    it(label(c), async () => {
      const h = await scenario(c);
      const runTime = RUN_TIME[c.kind];

      if (c.kind === 'never' && c.timeout === undefined && c.overlap !== 'allow') {
        // The scheduler waits for the run that never ends: nothing else ever runs again, and stop()
        // cannot end the loop. The default (no timeout) keeps the original's behaviour.
        expect(h.runs.map((r) => r.start)).toEqual([0]);
        expect(h.probe).toEqual([0]);
        expect(h.ended).toBe(false);
        expect(h.scheduler.running).toBe(true);
        // Listed with the due time it is running for.
        expect(h.task.nextDue).toBe(0);
        expect(h.task.events).toEqual([]);
        expect(h.task.overlapSkips.length + h.task.missedSkips.length).toBe(0);
        expect(h.runs[0]?.signal.aborted).toBe(false);
        return;
      }
      expect(h.ended).toBe(true);

      // Overlap.
      const starts = h.runs.map((r) => r.start);
      if (c.overlap === 'allow') {
        // Every slot runs on time, whatever the runs before it do; nothing is skipped.
        expect(starts).toEqual(Array.from({ length: WINDOW / SPACING + 1 }, (_, k) => k * SPACING));
        expect(h.task.overlapSkips.length + h.task.missedSkips.length).toBe(0);
      } else {
        // No run starts before the previous one ended (a never-ending one: only one run ever).
        for (let k = 1; k < h.runs.length; k++) {
          expect(h.runs[k]?.start).toBeGreaterThanOrEqual(h.runs[k - 1]?.end as number);
        }
        if (c.kind === 'never') expect(h.runs).toHaveLength(1);
      }

      // Timeout: every run whose deadline (or end) has come is reported once, as what it was.
      const end = h.clock.now();
      for (const r of h.runs) {
        const events = h.task.events.filter((e) => e.startedAt === r.start);
        const took = r.end - r.start;
        if (c.timeout !== undefined && took > c.timeout) {
          if (r.start + c.timeout > end) continue;
          expect(events).toEqual([
            expect.objectContaining({ outcome: 'timeout', duration: c.timeout }),
          ]);
          expect(events[0]?.error).toBeInstanceOf(TaskTimeoutError);
          expect(r.signal.aborted).toBe(true);
          expect(r.signal.reason).toBeInstanceOf(TaskTimeoutError);
        } else if (r.end <= end) {
          expect(events).toEqual([expect.objectContaining({ outcome: 'ok', duration: took })]);
          expect(r.signal.aborted).toBe(false);
        } else {
          expect(events).toEqual([]);
          expect(r.signal.aborted).toBe(false);
        }
      }

      // The probe: how long the scheduler was held by the task. The one exception, by design:
      // run-all with runs longer than the spacing and no timeout runs the missed slots back to back,
      // each holding the scheduler for its whole run time, so it (and the probe) fall behind.
      const fallsBehind = c.missed === 'run-all' && c.kind === 'slow' && c.timeout === undefined;
      if (c.overlap === 'allow') {
        // allow never blocks the others: the probe ran at each of its slots, on time.
        expect(h.probe).toEqual(Array.from({ length: WINDOW + 1 }, (_, s) => s));
      } else {
        const bound = Math.min(runTime, c.timeout ?? Infinity);
        const lateness = maxLateness(h.probe, WINDOW - bound);
        if (fallsBehind) {
          expect(lateness).toBeGreaterThan(runTime);
        } else {
          expect(lateness).toBeLessThanOrEqual(bound);
          // And the task did hold it: the probe runs just before each hold (first in registration
          // order on a shared slot), so its next slot waits bound − 1.
          expect(lateness).toBeGreaterThanOrEqual(bound - 1);
        }
      }

      // Accounting: the slots 0, 10, … before the next due time are each run, skipped or missed.
      for (const [name, spacing, t, runCount] of [
        ['task', SPACING, h.task, h.runs.length],
        ['probe', 1, h.probeOf, h.probe.length],
      ] as const) {
        const slotsCame = Math.ceil(t.nextDue / spacing);
        const skippedSlots = t.overlapSkips.map((e) => e.scheduledAt);
        const missedSlots = t.missedSkips.flatMap((e) =>
          Array.from({ length: e.count }, (_, k) => e.scheduledAt + k * spacing),
        );
        const notRun = [...skippedSlots, ...missedSlots];
        // Each a slot of the grid that came, and none counted twice.
        expect(
          notRun.filter((s) => s % spacing !== 0 || s >= t.nextDue),
          name,
        ).toEqual([]);
        expect(new Set(notRun).size, name).toBe(notRun.length);
        // What is left is the slot a queue-one task has queued (its run may not have started yet).
        const queued = slotsCame - runCount - notRun.length;
        expect(queued, name).toBeGreaterThanOrEqual(0);
        expect(queued, name).toBeLessThanOrEqual(
          name === 'task' && c.overlap === 'queue-one' ? 1 : 0,
        );
        // Those slots cover the window, but for the last hold: the loop stops after the run it is
        // in, before the probe's turn (and unless run-all fell behind, see above).
        const hold =
          name === 'probe' && c.overlap !== 'allow' ? Math.min(runTime, c.timeout ?? Infinity) : 0;
        if (!fallsBehind) {
          expect(t.nextDue, name).toBeGreaterThanOrEqual(WINDOW - spacing - hold);
        }
      }

      // Missed: how late a run may start against its slot.
      const late = h.task.events.map((e) => e.startedAt - e.scheduledAt);
      if (c.missed === 'skip') expect(new Set(late)).toEqual(new Set(late.length ? [0] : []));
      if (c.missed === 'run-once') expect(late.every((l) => l >= 0 && l < SPACING)).toBe(true);
      if (c.missed === 'run-all') expect(h.task.missedSkips).toEqual([]);
    });
  }

  it('a task with no policy at all that never settles holds the scheduler the same way', async () => {
    const clock = new VirtualClock(0);
    const { logger } = captureLogs();
    const tasks = new PeriodicTasks({ clock, logger });
    const probe: number[] = [];
    tasks.addPeriodicTask(() => void probe.push(clock.now()), {
      name: 'probe',
      spacing: 1,
      runImmediately: true,
    });
    tasks.addPeriodicTask(never, { name: 'hung', spacing: SPACING, runImmediately: true });
    const scheduler = new ExactScheduler(tasks, { spread: 0, logger });
    scheduler.start();
    await clock.advance(WINDOW);
    scheduler.stop();
    let ended = false;
    void scheduler.wait().then(() => (ended = true));
    await clock.advance(WINDOW);
    expect(probe).toEqual([0]);
    expect(ended).toBe(false);
  });
});
