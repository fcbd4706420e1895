/**
 * A BullMQ worker of the duel (part 4), one per child process: a `Worker` (concurrency 1) of the
 * queue the parent's job scheduler fills every `BENCH_SPACING` seconds. The slot of a job is its
 * due time (`repeat:<scheduler>:<millis>`) / spacing, rounded down. Each job reports `start` before its work
 * (`BENCH_WORK_MS` of sleep) and `done` after it, over IPC. `lockDuration` and `stalledInterval`
 * come from the environment (BullMQ's defaults are 30 s each). Command `stop` closes the worker; a
 * crash is the parent's SIGKILL.
 */
import { type Job, Worker } from 'bullmq';
import { env, onCommand, sleep, tell, tellAndExit, wallMs } from './common.js';

const MEMBER = env('BENCH_MEMBER');
const SPACING_MS = Number(env('BENCH_SPACING')) * 1000;
const WORK_MS = Number(env('BENCH_WORK_MS'));
const redis = new URL(env('BENCH_URL'));

/** The time a scheduler's job is due: the last part of its id. */
const dueOf = (job: Job): number => Number(String(job.id).split(':').pop());

const worker = new Worker(
  env('BENCH_QUEUE'),
  async (job: Job) => {
    const due = dueOf(job);
    // The scheduler keeps its first job's offset within the spacing, so floor numbers slots 1, 2, …
    const slot = Math.floor(due / SPACING_MS);
    tell({ type: 'start', slot, due, member: MEMBER, at: wallMs() });
    await sleep(WORK_MS);
    tell({ type: 'done', slot, member: MEMBER, at: wallMs() });
  },
  {
    connection: {
      host: redis.hostname,
      port: Number(redis.port || 6379),
      maxRetriesPerRequest: null,
    },
    prefix: env('BENCH_PREFIX'),
    concurrency: 1,
    lockDuration: Number(env('BENCH_LOCK_MS')),
    stalledInterval: Number(env('BENCH_STALLED_MS')),
    autorun: false,
  },
);
worker.on('error', (err) => process.stderr.write(`[${MEMBER}] worker error: ${String(err)}\n`));
void worker.run();
await worker.waitUntilReady();

onCommand(async (m) => {
  if (m.cmd === 'stop') {
    await worker.close();
    tellAndExit({ type: 'stopped' });
  }
});
tell({ type: 'ready', at: wallMs() });
