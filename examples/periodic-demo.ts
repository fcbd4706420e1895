/**
 * `npm run example:periodic`: a small manager with three periodic tasks on the real clock, driven by the exact
 * scheduler, logging every run with its lateness. Stop it with Ctrl-C (or SIGTERM): the running task
 * finishes, then the process exits 0. `CONDUCTOR_DEMO_SECONDS=N` stops it by itself after N seconds.
 */
import { getLogger, realClock, type RequestContext } from 'conductor-ts/core';
import { ExactScheduler, periodicTask, PeriodicTasks } from 'conductor-ts/periodic';

const log = getLogger('demo');

class DemoManager extends PeriodicTasks {
  #beats = 0;
  #inventory = 0;

  @periodicTask({ spacing: 2, runImmediately: true })
  heartbeat(): void {
    this.#beats += 1;
    log.info({ beats: this.#beats }, 'heartbeat');
  }

  @periodicTask({ spacing: 5 })
  async checkInventory(ctx: RequestContext): Promise<void> {
    await realClock.sleep(0.3); // pretend to talk to something slow
    this.#inventory += 1;
    log.info({ requestId: ctx.requestId, checks: this.#inventory }, 'inventory checked');
  }

  @periodicTask({ spacing: 7, externalProcessOk: true })
  flaky(): void {
    if (Math.random() < 0.5)
      throw new Error('flaky task failed (on purpose); the schedule goes on');
    log.info('flaky task succeeded');
  }
}

const manager = new DemoManager({
  onTaskRun: (e) => {
    const lateMs = ((e.startedAt - e.scheduledAt) * 1000).toFixed(3);
    log.debug({ task: e.fullName, lateMs, durationMs: (e.duration * 1000).toFixed(1) }, 'task ran');
  },
});
const scheduler = new ExactScheduler(manager);

log.info({ tasks: DemoManager.periodicTaskNames() }, 'demo manager starting; Ctrl-C to stop');
scheduler.start();

let stopping = false;
const shutdown = (reason: string): void => {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, 'stopping: letting a running task finish');
  scheduler.stop();
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
const seconds = Number(process.env['CONDUCTOR_DEMO_SECONDS'] ?? 0);
if (seconds > 0) setTimeout(() => shutdown(`ran ${seconds} s`), seconds * 1000).unref();

await scheduler.wait();
log.info('stopped');
