/**
 * A conductor-ts replica of the duel (part 4), one per child process: a `Service` (memory://
 * transport of its own, no RPC used) whose manager has one once-per-cluster periodic task every
 * `BENCH_SPACING` seconds, coordinated on Redis (lease_ttl / heartbeat from the environment). Each
 * run reports `start` (slot, fencing token) before its work (`BENCH_WORK_MS` of sleep) and `done`
 * after it, over IPC — nothing extra goes to Redis, so its command counts are the conductor's own.
 * Command `stop` stops the service (releasing the lease); a crash is the parent's SIGKILL.
 */
import { createLogger, type RequestContext, setRootLogger } from '../../src/core/index.js';
import { getRpcTransport } from '../../src/messaging/index.js';
import { periodicTask, type TaskRun } from '../../src/periodic/index.js';
import { Manager, Service } from '../../src/service/index.js';
import { env, onCommand, sleep, tell, tellAndExit, wallMs } from './common.js';

setRootLogger(createLogger({ level: 'error' }));

const MEMBER = env('BENCH_MEMBER');
const SPACING = Number(env('BENCH_SPACING'));
const WORK_MS = Number(env('BENCH_WORK_MS'));

class Ticker extends Manager {
  @periodicTask({ spacing: SPACING, placement: 'once-per-cluster' })
  async tick(_ctx: RequestContext, run: TaskRun): Promise<void> {
    const slot = run.slot as number;
    const due = slot * SPACING * 1000;
    tell({ type: 'start', slot, due, token: run.fencingToken, member: MEMBER, at: wallMs() });
    await sleep(WORK_MS);
    tell({ type: 'done', slot, member: MEMBER, at: wallMs() });
  }
}

const transport = await getRpcTransport({ transportUrl: `memory://${MEMBER}` });
const service = await Service.create({
  topic: env('BENCH_TOPIC'),
  manager: Ticker,
  host: MEMBER,
  transport,
  reportInterval: 0,
  periodicFuzzyDelay: 0,
  coordination: {
    backendUrl: env('BENCH_URL'),
    namespace: env('BENCH_NS'),
    memberId: MEMBER,
    leaseTtl: Number(env('BENCH_TTL')),
    heartbeatInterval: Number(env('BENCH_BEAT')),
  },
});
await service.start();

onCommand(async (m) => {
  if (m.cmd === 'stop') {
    await service.stop();
    await transport.close();
    tellAndExit({ type: 'stopped' });
  }
});
tell({ type: 'ready', at: wallMs() });
