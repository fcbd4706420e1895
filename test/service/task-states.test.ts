/**
 * A service's task states across restarts: recorded after every run and skip, restored on start
 * so the grid goes on from the stored last run, with the task's missed policy for the slots the
 * process was down for. A store that fails to write never stops a task.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type RequestContext, VirtualClock } from '../../src/core/index.js';
import { getRpcTransport } from '../../src/messaging/index.js';
import {
  MemoryTaskStateStore,
  type MissedPolicy,
  periodicTask,
  type TaskState,
} from '../../src/periodic/index.js';
import { Manager, Service } from '../../src/service/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const starts: number[] = [];
let missedPolicy: MissedPolicy = 'run-once';

class Reporter extends Manager {
  static clock: VirtualClock;
  constructor(options: ConstructorParameters<typeof Manager>[0]) {
    super(options);
    this.addPeriodicTask(
      (_ctx: RequestContext) => {
        starts.push(Reporter.clock.now());
      },
      { name: 'report', spacing: 60, missed: missedPolicy },
    );
  }
  @periodicTask({ spacing: 30 })
  failing(): void {
    throw new Error('no luck');
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  starts.length = 0;
});

async function runFor(store: MemoryTaskStateStore, at: number, seconds: number, extra = {}) {
  const clock = new VirtualClock(at);
  Reporter.clock = clock;
  const transport = await getRpcTransport({ transportUrl: `memory://${randomUUID()}`, clock });
  cleanups.push(() => transport.close());
  const { logger, lines } = captureLogs();
  const service = await Service.create({
    topic: 'REPORTS',
    manager: Reporter,
    host: 'h1',
    transport,
    clock,
    logger,
    reportInterval: 0,
    periodicFuzzyDelay: 0,
    taskStateStore: store,
    managerOptions: { random: () => 0 },
    ...extra,
  });
  await service.start();
  await clock.advance(seconds);
  const tasks = service.tasks();
  await service.stop();
  return { service, tasks, lines };
}

const state = async (store: MemoryTaskStateStore, task: string): Promise<TaskState | undefined> =>
  // (The class name may carry the test transform's `_` prefix: match the task part.)
  (await store.list()).find((s) => s.task.endsWith(`Reporter.${task}`));

describe('task states across restarts', () => {
  it('records every run and its outcome, per service, task and host', async () => {
    const store = new MemoryTaskStateStore();
    const { tasks } = await runFor(store, 1000, 300);
    expect(starts).toEqual([1060, 1120, 1180, 1240, 1300]);
    const report = await state(store, 'report');
    expect(report).toMatchObject({
      service: 'REPORTS',
      scope: 'h1',
      outcome: 'ok',
      error: null,
      runCount: 5,
      missedCount: 0,
    });
    expect(report?.lastScheduled).toBeCloseTo(starts.at(-1) as number, 6);
    const failing = await state(store, 'failing');
    expect(failing).toMatchObject({ outcome: 'error', error: 'no luck', runCount: 10 });
    expect(tasks.find((t) => t.name === 'report')?.state).toMatchObject({ runCount: 5 });
  });

  it('after 3 h down, run-once runs once at once and counts the missed slots; skip waits', async () => {
    for (const [policy, atOnce] of [
      ['run-once', 1],
      ['skip', 0],
    ] as const) {
      missedPolicy = policy;
      const store = new MemoryTaskStateStore();
      await runFor(store, 1000, 300);
      const before = (await state(store, 'report')) as TaskState;
      starts.length = 0;
      const restart = 1300 + 3 * 3600;
      await runFor(store, restart, 30);
      expect([policy, starts.filter((t) => t === restart).length]).toEqual([policy, atOnce]);
      const after = (await state(store, 'report')) as TaskState;
      expect(after.missedCount).toBeGreaterThanOrEqual(179);
      expect(after.runCount).toBe(before.runCount + atOnce);
    }
    missedPolicy = 'run-once';
  });

  it('a store that cannot write is logged; the tasks run on', async () => {
    const store = new MemoryTaskStateStore();
    store.save = async () => {
      throw new Error('disk full');
    };
    const { lines } = await runFor(store, 1000, 130);
    expect(starts).toHaveLength(2);
    expect(lines.some((l) => /Could not record the state of a periodic task/.test(l.msg))).toBe(
      true,
    );
  });
});
