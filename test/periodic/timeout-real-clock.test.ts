/**
 * "A hung task with a timeout does not delay the others by more than 5 ms", on the real clock.
 *
 * One exact scheduler runs a task that never settles (timeout 0.05 s, first due 0.1 s after the
 * start) beside a task every 0.02 s. Over about 0.5 s, every start of the other task is measured
 * against what it may be: its due time, or — for a slot that came while the hung run held the
 * scheduler — the hung run's deadline (its start + 0.05 s), which is the delay the timeout itself
 * imposes. The excess over that must stay within 5 ms, both while the hung run holds the scheduler
 * and for the rest of the window, during which the hung task's later slots are skipped (its run is
 * still going) without holding anything.
 *
 * Robustness: the claim is about the scheduler, but on a loaded 2-core machine (CI, vitest's other
 * fork, another build) this process can be kept off the CPU for several milliseconds at any moment
 * (measured here under a load average of 3: single windows 0.5–38 ms worst), lateness that no
 * scheduler can avoid. Such noise hits some windows and not others, and comes in bursts; a
 * scheduler that adds delay adds it in every window. So the measurement is made up to 3 times,
 * spread over about 3 s (a pause of 0.5 s, then 2 s, so that a burst of load can pass), and the
 * best window (the smallest worst-case excess) is asserted: one clean window proves the bound.
 * What does not depend on load (the timeout fired, the scheduler went on) is checked in every one.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, realClock, TaskTimeoutError } from '../../src/core/index.js';
import {
  ExactScheduler,
  PeriodicTasks,
  type TaskRunEvent,
  type TaskSkipEvent,
} from '../../src/periodic/index.js';

const TIMEOUT = 0.05;
const SPACING = 0.02;
const HUNG_AFTER = 0.1;
const WINDOW = 0.5;
const BUDGET = 0.005;
const ATTEMPTS = 3;
/** Seconds to wait before the 2nd and 3rd attempt. */
const PAUSES = [0.5, 2];

interface Measurement {
  /** Worst excess (seconds) of a start of the other task over the time it may start. */
  readonly worst: number;
  /** Starts of the other task after the hung run's deadline, and how many slots it held. */
  readonly after: number;
  readonly held: number;
  readonly hung: { start: number; signal: AbortSignal } | undefined;
  readonly hungEvents: readonly TaskRunEvent[];
  readonly skips: readonly TaskSkipEvent[];
}

async function measure(): Promise<Measurement> {
  const clock = realClock;
  const logger = createLogger({ level: 'silent' });
  const events: TaskRunEvent[] = [];
  const skips: TaskSkipEvent[] = [];
  const tasks = new PeriodicTasks({
    clock,
    logger,
    onTaskRun: (e) => events.push(e),
    onTaskSkip: (e) => skips.push(e),
  });
  let hung: { start: number; signal: AbortSignal } | undefined;
  tasks.addPeriodicTask(
    (_ctx, run) => {
      hung ??= { start: clock.now(), signal: run.signal };
      return new Promise<never>(() => undefined);
    },
    // First due one spacing (HUNG_AFTER) after it is added; the other task is on its grid by then.
    { name: 'hung', spacing: HUNG_AFTER, timeout: TIMEOUT },
  );
  tasks.addPeriodicTask(() => undefined, {
    name: 'other',
    spacing: SPACING,
    runImmediately: true,
  });
  const scheduler = new ExactScheduler(tasks, { spread: 0, logger });
  scheduler.start();
  // A plain timer, not realClock.sleep: its precise window would block the thread for the last
  // 2 ms, delaying the scheduler's runs in that time.
  await new Promise((resolve) => setTimeout(resolve, WINDOW * 1000));
  scheduler.stop();
  await scheduler.wait();

  const other = events.filter((e) => e.name === 'other');
  let worst = 0;
  let after = 0;
  let held = 0;
  for (const e of other) {
    let allowed = e.scheduledAt;
    if (hung && e.startedAt >= hung.start) {
      const deadline = hung.start + TIMEOUT;
      if (e.scheduledAt < deadline) {
        allowed = Math.max(allowed, deadline);
        held++;
      } else {
        after++;
      }
    }
    worst = Math.max(worst, e.startedAt - allowed);
  }
  return { worst, after, held, hung, hungEvents: events.filter((e) => e.name === 'hung'), skips };
}

describe('a hung task with a timeout, on the real clock', () => {
  it('delays another task on the same scheduler by its timeout at most, then by ≤ 5 ms', async () => {
    const tries: Measurement[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, (PAUSES[i - 1] ?? 0) * 1000));
      const m = await measure();
      tries.push(m);
      if (m.worst <= BUDGET) break;
    }
    const best = tries.reduce((a, b) => (b.worst < a.worst ? b : a));

    // What each measurement must show regardless of load: the hung run started, timed out once
    // (reported at its deadline, its signal aborted), and the other task went on after it.
    for (const m of tries) {
      expect(m.hung).toBeDefined();
      expect(m.hungEvents).toEqual([
        expect.objectContaining({ outcome: 'timeout', duration: TIMEOUT }),
      ]);
      expect(m.hung?.signal.reason).toBeInstanceOf(TaskTimeoutError);
      // Its later slots came while the run still went: skipped, not waited for.
      expect(m.skips.some((s) => s.name === 'hung' && s.reason === 'overlap')).toBe(true);
      // The other task's slots after the deadline: (0.5 − 0.15) / 0.02 ≈ 17, less any missed
      // under load; some must be there for the measurement to mean anything.
      expect(m.after).toBeGreaterThanOrEqual(5);
    }
    expect(
      best.worst,
      `worst excess per attempt (ms): ${tries.map((m) => (m.worst * 1000).toFixed(2)).join(', ')}`,
    ).toBeLessThanOrEqual(BUDGET);
  });
});
