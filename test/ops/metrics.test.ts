import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, VirtualClock } from '../../src/core/index.js';
import type { TaskRunEvent } from '../../src/periodic/index.js';
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
    });
    m.onTaskRun(run({ startedAt: 20 }));
    expect(m.taskStats('tick')?.lastError).toBeNull();
    expect(m.taskStats('other')).toBeUndefined();
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
