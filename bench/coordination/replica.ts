/**
 * A replica of the rebalance benchmark (part 2), one per child process: a `Coordinator` on the
 * shared backend whose partition of `GROUP` is watched. At every ring change it recomputes its share
 * of `KEYS` keys (`ring.owns` over all of them) and reports when it saw the change and when the
 * share was ready. It also reports each membership heartbeat that reached the backend, so the parent
 * knows when a crashed replica's membership expires.
 *
 * Commands: `join` (report `joined`), `stop` (graceful: `Coordinator.stop()`, which leaves the
 * group; report `stopped`, exit). A crash is the parent's SIGKILL.
 */
import {
  type CoordinationBackend,
  getCoordinator,
  HashRing,
} from '../../src/coordination/index.js';
import { PostgresBackend } from '../../src/coordination/postgresql.js';
import { RedisBackend } from '../../src/coordination/redis.js';
import { createLogger, setRootLogger } from '../../src/core/index.js';
import { env, onCommand, tell, tellAndExit, uuidKeys, wallMs } from './common.js';

setRootLogger(createLogger({ level: 'error' }));

const URL_ = env('BENCH_URL');
const MEMBER = env('BENCH_MEMBER');
const NS = env('BENCH_NS');
const GROUP = env('BENCH_GROUP');
const TTL = Number(env('BENCH_TTL'));
const BEAT = Number(env('BENCH_BEAT'));
const KEYS = uuidKeys(Number(env('BENCH_KEYS')), 7);

const backend: CoordinationBackend = URL_.startsWith('redis')
  ? new RedisBackend(URL_, { keyPrefix: NS })
  : new PostgresBackend(URL_, { keyPrefix: NS });
// Each membership heartbeat the backend acknowledged: the membership lasts TTL from about then.
const heartbeat = backend.heartbeat.bind(backend);
backend.heartbeat = async (group, member, ttl) => {
  await heartbeat(group, member, ttl);
  tell({ type: 'hb', at: wallMs() });
};

const leave = backend.leave.bind(backend);
backend.leave = async (group, member) => {
  await leave(group, member);
  tell({ type: 'left', at: wallMs() });
};

// A long-running replica has its keys flat and `owns` compiled: two passes on a ring of its own
// before the measurements (the keys are built by concatenation, and the first hash flattens them).
const warm = new HashRing(['warm-a', 'warm-b', 'warm-c'], { self: 'warm-a' });
for (let pass = 0; pass < 2; pass++) for (const k of KEYS) warm.owns(k);

const c = getCoordinator(URL_, {
  memberId: MEMBER,
  leaseTtl: TTL,
  heartbeatInterval: BEAT,
  namespace: NS,
  backend,
});
await c.start();
const partition = c.partition(GROUP);
let reported = '';
let pending = false;
/** Recomputes the share once per distinct ring, after the refresh that saw it. */
const onChange = (): void => {
  const seenAt = wallMs();
  if (pending) return;
  pending = true;
  setImmediate(() => {
    pending = false;
    const ring = partition.ring;
    const members = ring.members.join(',');
    if (members === reported) return;
    reported = members;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let owned = 0;
    for (let i = 0; i < KEYS.length; i++) if (ring.owns(KEYS[i] as string)) owned++;
    const shareMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const shareCpuMs = (cpu.user + cpu.system) / 1000;
    tell({
      type: 'ring',
      members: ring.members,
      at: seenAt,
      doneAt: wallMs(),
      shareMs,
      shareCpuMs,
      owned,
    });
  });
};
c.watch(GROUP, onChange);

onCommand(async (m) => {
  if (m.cmd === 'join') {
    const at = wallMs();
    await c.join(GROUP);
    tell({ type: 'joined', at, done: wallMs() });
  } else if (m.cmd === 'stop') {
    const at = wallMs();
    await c.stop();
    tellAndExit({ type: 'stopped', at, done: wallMs() });
  }
});
tell({ type: 'ready' });
