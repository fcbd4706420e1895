import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, VirtualClock } from '../../src/core/index.js';
import type { TaskRunEvent, TaskSkipEvent } from '../../src/periodic/index.js';
import { createServiceMetrics } from '../../src/ops/index.js';
import type { Service } from '../../src/service/index.js';

/** The sample `series` (name with labels, exactly as printed) of a scrape, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const run = (over: Partial<TaskRunEvent> = {}): TaskRunEvent => ({
  fullName: 'M.tick',
  name: 'tick',
  scheduledAt: 10,
  startedAt: 10.5,
  duration: 0.25,
  outcome: 'ok',
  ...over,
});

describe('createServiceMetrics', () => {
  it('counts task runs and failures, observes durations and lateness, and keeps the last run', async () => {
    const m = createServiceMetrics({ collectDefault: false });
    m.onTaskRun(run());
    m.onTaskRun(run({ startedAt: 9, scheduledAt: 10, error: new Error('line 1\nline 2') }));
    const text = await m.registry.metrics();
    expect(sample(text, 'conductor_task_runs_total{task="tick"}')).toBe(2);
    expect(sample(text, 'conductor_task_failures_total{task="tick"}')).toBe(1);
    expect(sample(text, 'conductor_task_duration_seconds_count{task="tick"}')).toBe(2);
    expect(sample(text, 'conductor_task_duration_seconds_sum{task="tick"}')).toBe(0.5);
    // 0.5 s late, then early (clamped to 0).
    expect(sample(text, 'conductor_task_lateness_seconds_sum{task="tick"}')).toBe(0.5);
    expect(sample(text, 'conductor_task_lateness_seconds_bucket{le="0.0005",task="tick"}')).toBe(1);
    expect(m.taskStats('tick')).toEqual({
      lastDuration: 0.25,
      lastError: 'line 1 line 2',
      lastStartedAt: 9,
      lastOutcome: 'error',
      lateness: 0,
    });
    m.onTaskRun(run({ startedAt: 20 }));
    expect(m.taskStats('tick')).toMatchObject({ lastError: null, lastOutcome: 'ok', lateness: 10 });
    expect(m.taskStats('other')).toBeUndefined();
    expect(m.taskCounts('tick')).toEqual({ runs: 3, missed: 0, skipped: 0, timeouts: 0 });
  });

  it('counts timeouts (as runs and failures too); a timed-out run lasts its timeout', async () => {
    const m = createServiceMetrics({ collectDefault: false });
    m.onTaskRun(
      run({
        startedAt: 10,
        duration: 30,
        outcome: 'timeout',
        error: new Error('M.tick ran past its timeout of 30 s'),
      }),
    );
    const text = await m.registry.metrics();
    expect(sample(text, 'conductor_task_timeouts_total{task="tick"}')).toBe(1);
    expect(sample(text, 'conductor_task_runs_total{task="tick"}')).toBe(1);
    expect(sample(text, 'conductor_task_failures_total{task="tick"}')).toBe(1);
    expect(sample(text, 'conductor_task_duration_seconds_sum{task="tick"}')).toBe(30);
    expect(sample(text, 'conductor_task_duration_seconds_bucket{le="30",task="tick"}')).toBe(1);
    expect(m.taskStats('tick')).toMatchObject({
      lastOutcome: 'timeout',
      lastDuration: 30,
      lastError: 'M.tick ran past its timeout of 30 s',
    });
    // As a task state store counts: a timed-out run is a timeout, not an ended run.
    expect(m.taskCounts('tick')).toEqual({ runs: 0, missed: 0, skipped: 0, timeouts: 1 });
    // An event from before outcomes existed: failed when it carries an error.
    const { outcome: _dropped, ...legacy } = run({ error: new Error('old') });
    m.onTaskRun(legacy as unknown as TaskRunEvent);
    expect(m.taskStats('tick')).toMatchObject({ lastOutcome: 'error', lastError: 'old' });
  });

  it('counts missed and overlapping slots apart, by their count', async () => {
    const m = createServiceMetrics({ collectDefault: false });
    const skip = (reason: TaskSkipEvent['reason'], count: number): TaskSkipEvent => ({
      fullName: 'M.tick',
      name: 'tick',
      reason,
      count,
      scheduledAt: 100,
    });
    m.onTaskSkip(skip('missed', 179));
    m.onTaskSkip(skip('overlap', 1));
    m.onTaskSkip(skip('overlap', 1));
    m.onTaskSkip(skip('missed', Number.NaN)); // a broken count adds nothing
    const text = await m.registry.metrics();
    expect(sample(text, 'conductor_task_missed_total{task="tick"}')).toBe(179);
    expect(sample(text, 'conductor_task_skipped_total{task="tick"}')).toBe(2);
    expect(sample(text, 'conductor_task_runs_total{task="tick"}')).toBeUndefined();
    expect(m.taskCounts('tick')).toEqual({ runs: 0, missed: 179, skipped: 2, timeouts: 0 });
    expect(m.taskCounts('other')).toEqual({ runs: 0, missed: 0, skipped: 0, timeouts: 0 });
    expect(m.taskStats('tick')).toBeUndefined(); // no run observed
  });

  it('counts event-loop stalls and their lengths', async () => {
    const m = createServiceMetrics({ collectDefault: false });
    let text = await m.registry.metrics();
    expect(sample(text, 'conductor_event_loop_stalls_total')).toBe(0);
    m.onEventLoopStall({ seconds: 0.7, task: 'tick' });
    m.onEventLoopStall({ seconds: 3 });
    text = await m.registry.metrics();
    expect(text).toMatch(/^# TYPE conductor_event_loop_stalls_total counter$/m);
    expect(text).toMatch(/^# TYPE conductor_event_loop_stall_seconds histogram$/m);
    expect(sample(text, 'conductor_event_loop_stalls_total')).toBe(2);
    expect(sample(text, 'conductor_event_loop_stall_seconds_count')).toBe(2);
    expect(sample(text, 'conductor_event_loop_stall_seconds_sum')).toBe(3.7);
    expect(sample(text, 'conductor_event_loop_stall_seconds_bucket{le="1"}')).toBe(1);
  });

  it('tells watchers of every run until they unwatch; a watcher that throws changes nothing', () => {
    const m = createServiceMetrics({ collectDefault: false });
    const seen: string[] = [];
    const listener = (e: TaskRunEvent): void => void seen.push(e.name);
    const unwatch = m.watchTaskRuns(listener);
    const unwatchAgain = m.watchTaskRuns(listener);
    m.watchTaskRuns(() => {
      throw new Error('watcher bug');
    });
    m.onTaskRun(run());
    expect(seen).toEqual(['tick', 'tick']);
    unwatch();
    m.onTaskRun(run({ name: 'sweep' }));
    expect(seen).toEqual(['tick', 'tick', 'sweep']);
    unwatchAgain();
    unwatchAgain();
    m.onTaskRun(run());
    expect(seen).toHaveLength(3);
    expect(m.taskCounts('tick').runs).toBe(2);
  });

  it('keeps error texts short and stack-free, whatever was thrown', () => {
    const m = createServiceMetrics({ collectDefault: false });
    m.onTaskRun(run({ error: new Error('x'.repeat(5000)) }));
    expect(m.taskStats('tick')?.lastError?.length).toBeLessThanOrEqual(300);
    m.onTaskRun(run({ error: 'a string' }));
    expect(m.taskStats('tick')?.lastError).toBe('a string');
    m.onTaskRun(run({ error: undefined }));
    expect(m.taskStats('tick')?.lastError).toBe('undefined');
  });

  it('counts RPC messages by method and outcome', async () => {
    const m = createServiceMetrics({ collectDefault: false });
    m.onRpc({ method: 'hello', outcome: 'ok', duration: 0.002, isCall: true });
    m.onRpc({ method: 'hello', outcome: 'ok', duration: 0.002, isCall: false });
    m.onRpc({ method: '_unknown_', outcome: 'refused', duration: 0, isCall: true });
    const text = await m.registry.metrics();
    expect(sample(text, 'conductor_rpc_messages_total{method="hello",outcome="ok"}')).toBe(2);
    expect(sample(text, 'conductor_rpc_messages_total{method="_unknown_",outcome="refused"}')).toBe(
      1,
    );
    expect(sample(text, 'conductor_rpc_duration_seconds_count{method="hello"}')).toBe(2);
  });

  it('reads heartbeat age and service_up at scrape time; no heartbeat sample before the first report', async () => {
    const clock = new VirtualClock(100);
    const fake = { clock, lastReportAt: undefined as number | undefined, state: 'running' };
    const m = createServiceMetrics({ collectDefault: false });
    let text = await m.registry.metrics();
    expect(sample(text, 'conductor_service_up')).toBe(0);
    expect(text).not.toMatch(/^conductor_heartbeat_age_seconds /m);
    m.bindService(() => fake as unknown as Service);
    text = await m.registry.metrics();
    expect(sample(text, 'conductor_service_up')).toBe(1);
    expect(text).not.toMatch(/^conductor_heartbeat_age_seconds /m);
    expect(text).not.toMatch(/NaN/);
    fake.lastReportAt = 90;
    text = await m.registry.metrics();
    expect(sample(text, 'conductor_heartbeat_age_seconds')).toBe(10);
    fake.state = 'stopped';
    expect(sample(await m.registry.metrics(), 'conductor_service_up')).toBe(0);
  });

  it("exports the coordinator's backend state, leases and ring size; counters survive a new coordinator (SIGHUP)", async () => {
    const stats = {
      backend: 'redis',
      where: 'redis://127.0.0.1:6379',
      healthy: true,
      lastError: undefined,
      leasesHeld: 1,
      leaseAcquisitions: 2,
      leaseLosses: 1,
      groups: { TACKER_CONDUCTOR: 3 },
    };
    let coordinator = { stats: () => stats };
    const fake = {
      clock: new VirtualClock(0),
      state: 'running',
      get coordinator() {
        return coordinator;
      },
    };
    const m = createServiceMetrics({ collectDefault: false });
    let text = await m.registry.metrics();
    expect(text).not.toMatch(/^conductor_coordination_backend_up /m);
    m.bindService(() => fake as unknown as Service);
    text = await m.registry.metrics();
    expect(sample(text, 'conductor_coordination_backend_up')).toBe(1);
    expect(sample(text, 'conductor_coordination_leases_held')).toBe(1);
    expect(sample(text, 'conductor_coordination_lease_acquisitions_total')).toBe(2);
    expect(sample(text, 'conductor_coordination_lease_losses_total')).toBe(1);
    expect(sample(text, 'conductor_coordination_ring_members{group="TACKER_CONDUCTOR"}')).toBe(3);
    // A restart brings a new coordinator counting from 0: the counters add on, never go back.
    coordinator = {
      stats: () => ({ ...stats, healthy: false, leaseAcquisitions: 1, leaseLosses: 0 }),
    };
    text = await m.registry.metrics();
    expect(sample(text, 'conductor_coordination_backend_up')).toBe(0);
    expect(sample(text, 'conductor_coordination_lease_acquisitions_total')).toBe(3);
    expect(sample(text, 'conductor_coordination_lease_losses_total')).toBe(1);
  });

  it('uses a fresh registry each time (two services never clash), or the one given, with a prefix', async () => {
    const a = createServiceMetrics({ collectDefault: false });
    const b = createServiceMetrics({ collectDefault: false });
    expect(a.registry).not.toBe(b.registry);
    const registry = new Registry();
    const c = createServiceMetrics({ registry, prefix: 'tacker_', collectDefault: false });
    expect(c.registry).toBe(registry);
    expect(await registry.metrics()).toMatch(/^# TYPE tacker_task_runs_total counter$/m);
    expect(() => createServiceMetrics({ prefix: 'bad-prefix' })).toThrow(InvalidOptionError);
  });

  it('collects the default process metrics unless told not to', async () => {
    expect(await createServiceMetrics().registry.metrics()).toMatch(/^process_cpu_seconds_total/m);
    expect(await createServiceMetrics({ collectDefault: false }).registry.metrics()).not.toMatch(
      /process_cpu/,
    );
  });
});
