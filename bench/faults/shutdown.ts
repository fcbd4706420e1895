/**
 * SIGTERM under load (issue 16, scenario 2): a real service process (`conductor run` with
 * bench/faults/shutdown-manager.ts, on rabbit://) takes 16 concurrent callers (half call `slow`,
 * 200-500 ms; half `fast`) and a stream of casts carrying sequence numbers while its periodic task
 * `long_task` (1 s) runs; then it gets a signal. Prints one `RESULT <json>` line; progress on
 * stderr.
 *
 *   node dist/bench/faults/shutdown.js [--callers 16] [--load 2] [--phases sigterm,overrun,...]
 *       [--timeout 10] [--overrun-timeout 1] [--pool 4] [--call-timeout 15] [--url rabbit://...] [--amqp-url amqp://...]
 *
 * Phases:
 * - `sigterm`: SIGTERM mid-load. The calls in flight finish and reply; the deliveries the server
 *   held undispatched (the executor pool is `--pool`, 4, so 16 callers keep some waiting) go back
 *   to the queue; the running task run finishes; no new run starts; exit 0 within the timeout.
 *   What was left in the queue is counted, then served by a second server (in this process).
 * - `overrun`: `graceful_shutdown_timeout` = `--overrun-timeout` (1 s); three `stuck` calls (10 s)
 *   and a 5 s task run are in progress at SIGTERM: exit 1 after the timeout, and the log names
 *   what was cut off. The stuck calls were acknowledged at dispatch (at most once): their callers
 *   time out.
 * - `workers`: as `sigterm` with `--workers 3`, SIGTERM to the primary: every worker drains.
 * - `sighup`, `sighup-workers`: SIGHUP mid-load (1 and 3 workers): the service restarts, no call
 *   or cast is lost (those sent meanwhile wait in the queue), the process keeps running; then
 *   SIGTERM, exit 0.
 *
 * Every count comes from what the manager recorded (a file of `<pid> <event> <seq> <ms>` lines),
 * the replies (which name the pid that answered), the queue's message count and the service's log
 * lines (`Stopped RPC server: N in-flight requests finished, M deliveries requeued`,
 * `Service killed; cut off: ...`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { createLogger, getAdminContext, type RequestContext } from '../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  RpcClient,
  type Transport,
} from '../../src/messaging/index.js';
import { type FaultFigure, printResult } from './result.js';
import {
  parseRecords,
  type ShutdownRecord,
  type ShutdownReply,
  ShutdownManager,
} from './shutdown-manager.js';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
    'amqp-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
    name: { type: 'string', default: `faults_shutdown_${randomBytes(4).toString('hex')}` },
    callers: { type: 'string', default: '16' },
    load: { type: 'string', default: '2' },
    phases: {
      type: 'string',
      default: 'sigterm,overrun,workers,sighup,sighup-workers,last-reply',
    },
    timeout: { type: 'string', default: '10' },
    'overrun-timeout': { type: 'string', default: '1' },
    pool: { type: 'string', default: '4' },
    'cast-interval': { type: 'string', default: '5' },
    'call-timeout': { type: 'string', default: '15' },
    verbose: { type: 'boolean', default: false },
  },
  strict: true,
});
const CALLERS = Number(opts.callers);
const LOAD = Number(opts.load);
const TIMEOUT = Number(opts.timeout);
const OVERRUN_TIMEOUT = Number(opts['overrun-timeout']);
const CAST_INTERVAL = Number(opts['cast-interval']);
/** Seconds a call may wait for its reply: through a shutdown and the second server's start. */
const CALL_TIMEOUT = Number(opts['call-timeout']);
const STUCK_TIMEOUT = 4;
const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = join(HERE, '../../src/cli/main.js');
const MANAGER = `${join(HERE, 'shutdown-manager.js')}#ShutdownManager`;
const DIR = mkdtempSync(join(tmpdir(), 'faults-shutdown-'));
const log = (m: string): void => void process.stderr.write(`${m}\n`);

// ---- the service process ----------------------------------------------------------------------

interface LogLine {
  readonly msg: string;
  readonly pid?: number;
  readonly [key: string]: unknown;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() at the exit. */
  readonly at: number;
}

interface ServiceProcess {
  readonly proc: ChildProcess;
  readonly lines: LogLine[];
  readonly exited: Promise<Exit>;
  /** Lines whose msg matches `re`. */
  grep(re: RegExp): LogLine[];
}

interface SpawnOptions {
  readonly workers: number;
  readonly timeout: number;
  readonly taskMs: number;
  readonly spacing: number;
  readonly record: string;
}

function spawnService(name: string, o: SpawnOptions): ServiceProcess {
  const set = (kv: string): string[] => ['--set', kv];
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'run',
      ...['--manager', MANAGER, '--topic', name, '--host', 'host-a'],
      ...['--workers', String(o.workers)],
      ...set(`transport_url=${opts.url}`),
      ...set(`control_exchange=${name}`),
      ...set(`graceful_shutdown_timeout=${o.timeout}`),
      ...set(`executor_thread_pool_size=${opts.pool}`),
      ...set('periodic_fuzzy_delay=0'),
      ...set('report_interval=0'),
      ...set('ops.listen=0'),
      // A process killed past its timeout leaves its fanout queue: let it expire soon.
      ...set('oslo_messaging_rabbit.rabbit_transient_queues_ttl=30'),
    ],
    {
      env: {
        ...process.env,
        CONDUCTOR_LOG_LEVEL: 'info',
        SHUTDOWN_RECORD: o.record,
        SHUTDOWN_TASK_MS: String(o.taskMs),
        SHUTDOWN_TASK_SPACING: String(o.spacing),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: LogLine[] = [];
  let rest = '';
  proc.stdout?.on('data', (d: Buffer) => {
    const parts = (rest + d.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      if (opts.verbose) log(`  | ${p.slice(0, 400)}`);
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ msg: p });
      }
    }
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<Exit>((resolve) =>
    proc.once('exit', (code, signal) => {
      if (stderr.trim()) log(`  service stderr: ${stderr.trim().slice(0, 2000)}`);
      resolve({ code, signal, at: performance.now() });
    }),
  );
  return { proc, lines, exited, grep: (re) => lines.filter((l) => re.test(l.msg)) };
}

/** Polls `check` every 25 ms until it is true; fails after `seconds`. */
async function until(check: () => boolean, seconds: number, what: string): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${seconds} s: ${what}`);
    await sleep(25);
  }
}

// ---- the load ---------------------------------------------------------------------------------

interface CallRecord {
  readonly seq: number;
  readonly method: string;
  readonly sentAt: number;
  doneAt?: number;
  pid?: number;
  error?: string;
}

class Load {
  readonly calls: CallRecord[] = [];
  readonly castsSent: number[] = [];
  castErrors = 0;
  running = true;
  #seq = 0;
  readonly #loops: Promise<void>[] = [];

  constructor(
    readonly client: RpcClient<RequestContext>,
    callers: number,
    casts = true,
  ) {
    const ctx = getAdminContext();
    for (let i = 0; i < callers; i++) {
      const slow = i % 2 === 0;
      this.#loops.push(
        (async () => {
          while (this.running) {
            const seq = ++this.#seq;
            const args = slow ? { seq, ms: 200 + ((seq * 37) % 300) } : { seq };
            await this.call(ctx, slow ? 'slow' : 'fast', args);
            if (!slow) await sleep(5); // the fast callers would otherwise take both cores
          }
        })(),
      );
    }
    if (!casts) return;
    this.#loops.push(
      (async () => {
        while (this.running) {
          const seq = ++this.#seq;
          try {
            await client.cast(ctx, 'note', { seq });
            this.castsSent.push(seq);
          } catch {
            this.castErrors++;
          }
          await sleep(CAST_INTERVAL);
        }
      })(),
    );
  }

  /** One call, recorded; never rejects. */
  async call(
    ctx: RequestContext,
    method: string,
    args: Record<string, unknown>,
    client = this.client,
  ): Promise<void> {
    const rec: CallRecord = {
      seq: (args['seq'] as number) ?? ++this.#seq,
      method,
      sentAt: performance.now(),
    };
    this.calls.push(rec);
    try {
      const r = (await client.call(ctx, method, args)) as ShutdownReply;
      rec.pid = r.pid;
    } catch (err) {
      rec.error = err instanceof Error ? err.name : typeof err;
    }
    rec.doneAt = performance.now();
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  /** Stops sending; resolves once every caller's last call has settled. */
  async stop(extra: Promise<unknown>[] = []): Promise<void> {
    this.running = false;
    await Promise.all([...this.#loops, ...extra]);
  }
}

/** Runs `work` on a channel of its own (a refusal closes only that one). */
async function withChannel<T>(
  conn: amqp.ChannelModel,
  work: (ch: amqp.Channel) => Promise<T>,
): Promise<T> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined); // the refusal rejects `work` too
  try {
    return await work(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

// ---- one phase --------------------------------------------------------------------------------

interface PhaseConfig {
  readonly phase: 'sigterm' | 'overrun' | 'workers' | 'sighup' | 'sighup-workers' | 'last-reply';
  readonly workers: number;
  readonly signal: 'SIGTERM' | 'SIGHUP';
  /** `stuck` calls that overrun a 1 s timeout. */
  readonly overrun?: boolean;
  /** No load, no task: four calls in flight, the last reply just before the transport closes. */
  readonly lastReply?: boolean;
}

const PHASES: Record<string, PhaseConfig> = {
  sigterm: { phase: 'sigterm', workers: 1, signal: 'SIGTERM' },
  overrun: { phase: 'overrun', workers: 1, signal: 'SIGTERM', overrun: true },
  workers: { phase: 'workers', workers: 3, signal: 'SIGTERM' },
  sighup: { phase: 'sighup', workers: 1, signal: 'SIGHUP' },
  'sighup-workers': { phase: 'sighup-workers', workers: 3, signal: 'SIGHUP' },
  'last-reply': { phase: 'last-reply', workers: 1, signal: 'SIGTERM', lastReply: true },
};

/** The task run of the graceful phases, ms: the signal comes while every worker's run has at
 * least {@link RUN_LEFT} ms to go, longer than any `slow` call (500 ms). */
const TASK_MS = 2000;
const RUN_LEFT = 800;

const count = <T>(xs: readonly T[], p: (x: T) => boolean): number =>
  xs.reduce((n, x) => (p(x) ? n + 1 : n), 0);

/** Task runs started and not ended: `pid:n` → start (epoch ms). */
function openRuns(records: readonly ShutdownRecord[]): Map<string, number> {
  const open = new Map<string, number>();
  for (const r of records) {
    if (r.event === 'task-start') open.set(`${r.pid}:${r.seq}`, r.at);
    else if (r.event === 'task-end') open.delete(`${r.pid}:${r.seq}`);
  }
  return open;
}

async function runPhase(cfg: PhaseConfig, conn: amqp.ChannelModel): Promise<PhaseData> {
  const name = `${opts.name}_${cfg.phase.replace('-', '_')}`;
  const record = join(DIR, `${cfg.phase}.log`);
  writeFileSync(record, '');
  const records = (): ShutdownRecord[] => parseRecords(readFileSync(record, 'utf8'));
  const timeout = cfg.overrun ? OVERRUN_TIMEOUT : TIMEOUT;
  log(`${cfg.phase}: ${cfg.workers} worker(s), graceful_shutdown_timeout=${timeout}`);
  const svc = spawnService(name, {
    workers: cfg.workers,
    timeout,
    taskMs: cfg.overrun ? 5000 : cfg.lastReply ? 0 : TASK_MS,
    spacing: cfg.overrun ? 10 : 1,
    record,
  });
  const transport: Transport = await getRpcTransport({
    transportUrl: opts.url,
    controlExchange: name,
    logger: createLogger({ level: 'silent' }),
  });
  const client = new RpcClient(
    transport,
    { topic: name, version: '1.0' },
    { timeout: CALL_TIMEOUT },
  );
  const stuckClient = client.prepare({ timeout: STUCK_TIMEOUT });
  let drain: ReturnType<typeof getRpcServer> | undefined;
  try {
    await until(
      () => svc.grep(/^Service started$/).length >= cfg.workers,
      30,
      'the service to start',
    );
    const load = new Load(client, cfg.lastReply ? 0 : CALLERS, !cfg.lastReply);
    const loadStart = performance.now();
    const stuck: Promise<void>[] = [];
    if (cfg.overrun || cfg.lastReply) {
      // Overrun: three calls of 10 s. Last reply: four of 300-450 ms, the last ending alone.
      const n = cfg.overrun ? 3 : 4;
      for (let i = 0; i < n; i++) {
        const args = { seq: load.nextSeq(), ...(cfg.lastReply ? { ms: 300 + 50 * i } : {}) };
        stuck.push(load.call(getAdminContext(), 'stuck', args, stuckClient));
      }
      await until(() => count(records(), (r) => r.event === 'stuck-start') >= n, 10, 'stuck calls');
    }
    if (!cfg.lastReply) {
      await until(
        () => {
          if (performance.now() - loadStart < LOAD * 1000) return false;
          const open = [...openRuns(records()).values()];
          if (cfg.overrun) return open.length > 0;
          // Every worker's run in progress, with time to go: it outlasts the calls in flight.
          const now = Date.now();
          return open.length >= cfg.workers && open.every((at) => now - at < TASK_MS - RUN_LEFT);
        },
        LOAD + 20,
        'a task run in progress',
      );
    }
    // The moment of the signal, as the bench sees it.
    const before = records();
    const runsAtSignal = [...openRuns(before).keys()];
    const outstanding = load.calls.filter((c) => c.doneAt === undefined).map((c) => c.seq);
    const signalAt = performance.now();
    const signalEpoch = Date.now();
    svc.proc.kill(cfg.signal);

    let exit: Exit | undefined;
    let restartSeconds: number | undefined;
    if (cfg.signal === 'SIGTERM') {
      exit = await Promise.race([svc.exited, sleep((timeout + 10) * 1000).then(() => undefined)]);
      if (!exit) throw new Error(`${cfg.phase}: the service did not exit`);
    } else {
      // Restarted: the one process's service, or as many new workers.
      await until(
        () =>
          cfg.workers === 1
            ? svc.grep(/^Service restarted$/).length > 0
            : svc.grep(/^Service started$/).length >= 2 * cfg.workers,
        timeout + 10,
        'the restart',
      );
      restartSeconds = (performance.now() - signalAt) / 1000;
      // Served again after the restart before the load stops.
      const served = load.calls.length;
      await until(
        () => count(load.calls.slice(served), (c) => c.pid !== undefined) >= 20,
        10,
        'calls after the restart',
      );
    }
    load.running = false;
    // What the stopped service left in its queue (the load no longer sends; a publish in flight
    // has had its confirm when its cast resolved).
    await sleep(200);
    const leftInQueue = exit
      ? await withChannel(conn, async (ch) => (await ch.checkQueue(name)).messageCount)
      : 0;
    if (exit) {
      // The second server: drains what the first left in the queue.
      process.env['SHUTDOWN_RECORD'] = record;
      process.env['SHUTDOWN_TASK_MS'] = '0';
      drain = getRpcServer(transport, { topic: name, server: 'drain' }, [new ShutdownManager()], {
        logger: createLogger({ level: 'silent' }),
      });
      await drain.start();
    }
    await load.stop(stuck);
    const sent = new Set(load.castsSent);
    const handledCasts = (): ShutdownRecord[] => records().filter((r) => r.event === 'cast');
    await until(
      () => new Set(handledCasts().map((r) => r.seq)).size >= sent.size,
      15,
      'every cast to be handled',
    ).catch((err: unknown) => log(`  ${String(err)}`));
    if (drain) {
      await drain.stop();
      await drain.wait();
    }
    if (!exit) {
      // SIGHUP: the process kept running; now stop it.
      const alive = svc.proc.exitCode === null && svc.proc.signalCode === null;
      const stopAt = performance.now();
      svc.proc.kill('SIGTERM');
      const final = await svc.exited;
      exit = { ...final, at: final.at - (stopAt - signalAt) };
      if (!alive) throw new Error(`${cfg.phase}: the process did not survive SIGHUP`);
    }

    // ---- figures ----
    const all = records();
    const me = process.pid;
    const casts = handledCasts();
    const bySeq = new Map<number, number>();
    for (const r of casts) bySeq.set(r.seq, (bySeq.get(r.seq) ?? 0) + 1);
    const lostCasts = [...sent].filter((s) => !bySeq.has(s)).length;
    const duplicateCasts = [...bySeq.values()].reduce((a, n) => a + (n > 1 ? n - 1 : 0), 0);
    const callsBySeq = new Map(load.calls.map((c) => [c.seq, c]));
    const atSignal = outstanding.map((s) => callsBySeq.get(s) as CallRecord);
    const errors: Record<string, number> = {};
    for (const c of load.calls)
      if (c.error) errors[`${c.method}: ${c.error}`] = (errors[`${c.method}: ${c.error}`] ?? 0) + 1;
    const stopped = svc.grep(/^Stopped RPC server: /);
    const killed = svc.grep(/^Service killed; cut off: /);
    const endedRuns = new Set(
      all.filter((r) => r.event === 'task-end').map((r) => `${r.pid}:${r.seq}`),
    );
    const exitEpoch = signalEpoch + (exit.at - signalAt);
    // Calls whose method returned in the service: a failure of one of those is a lost reply.
    const returned = new Set(
      all.filter((r) => r.event === 'call' || r.event === 'stuck').map((r) => r.seq),
    );
    return {
      phase: cfg.phase,
      workers: cfg.workers,
      signal: cfg.signal,
      timeout,
      exit: { code: exit.code, signal: exit.signal, seconds: (exit.at - signalAt) / 1000 },
      restartSeconds,
      failedCalls: load.calls
        .filter((c) => c.error !== undefined)
        .slice(0, 20)
        .map((c) => ({
          seq: c.seq,
          method: c.method,
          error: c.error as string,
          sentAfterSignal: (c.sentAt - signalAt) / 1000,
          handledBy:
            all.find((r) => (r.event === 'call' || r.event === 'stuck-start') && r.seq === c.seq)
              ?.pid ?? null,
        })),
      calls: {
        total: load.calls.length,
        answered: count(load.calls, (c) => c.pid !== undefined),
        failed: count(load.calls, (c) => c.error !== undefined),
        errors,
        atSignal: atSignal.length,
        atSignalAnsweredByFirst: count(atSignal, (c) => c.pid !== undefined && c.pid !== me),
        atSignalAnsweredBySecond: count(atSignal, (c) => c.pid === me),
        atSignalFailed: count(atSignal, (c) => c.error !== undefined),
        answeredBySecond: count(load.calls, (c) => c.pid === me),
        replyLost: count(load.calls, (c) => c.error !== undefined && returned.has(c.seq)),
        stuck: count(load.calls, (c) => c.method === 'stuck'),
        stuckFailed: count(load.calls, (c) => c.method === 'stuck' && c.error !== undefined),
      },
      casts: {
        sent: sent.size,
        sendErrors: load.castErrors,
        handledByFirst: count(casts, (r) => r.pid !== me),
        handledBySecond: count(casts, (r) => r.pid === me),
        lost: lostCasts,
        duplicates: duplicateCasts,
      },
      leftInQueue,
      server: {
        stoppedLines: stopped.length,
        inFlight: stopped.reduce((a, l) => a + Number(l['inFlight'] ?? 0), 0),
        requeued: stopped.reduce((a, l) => a + Number(l['requeued'] ?? 0), 0),
        serviceStopped: svc.grep(/^Service stopped$/).length,
        timeoutLine: svc.grep(/^Graceful shutdown timeout exceeded/).length > 0,
        cutOff: killed.map((l) => l.msg),
        cutOffMethods: killed.map((l) => (l['rpcMethods'] ?? {}) as Record<string, number>),
        cutOffTasks: killed.flatMap((l) => (l['tasksRunning'] as string[] | undefined) ?? []),
      },
      tasks: {
        runningAtSignal: runsAtSignal.length,
        finished: count(runsAtSignal, (k) => endedRuns.has(k)),
        startedAfterSignal: count(
          all,
          (r) =>
            r.event === 'task-start' &&
            r.at > signalEpoch &&
            r.at < exitEpoch &&
            cfg.signal === 'SIGTERM',
        ),
      },
    };
  } finally {
    if (svc.proc.exitCode === null && svc.proc.signalCode === null) svc.proc.kill('SIGKILL');
    await transport.close().catch(() => undefined);
    for (const q of [name, `${name}.host-a`, `${name}.drain`])
      await withChannel(conn, (ch) => ch.deleteQueue(q)).catch(() => undefined);
    for (const x of [name, `${name}_fanout`, `conductor-lean.${name}`])
      await withChannel(conn, (ch) => ch.deleteExchange(x)).catch(() => undefined);
  }
}

// ---- figures ----------------------------------------------------------------------------------

/** What one phase measured (the `data.phases` rows of the RESULT line). */
export interface PhaseData {
  readonly phase: string;
  readonly workers: number;
  readonly signal: string;
  readonly timeout: number;
  /** The exit after SIGTERM (for SIGHUP phases: after the final SIGTERM), s after that signal. */
  readonly exit: { code: number | null; signal: string | null; seconds: number };
  readonly restartSeconds: number | undefined;
  /** The first 20 failed calls: when they were sent (s after the signal), who handled them. */
  readonly failedCalls: {
    seq: number;
    method: string;
    error: string;
    sentAfterSignal: number;
    handledBy: number | null;
  }[];
  readonly calls: {
    total: number;
    answered: number;
    failed: number;
    /** `method: ErrorName` → count. */
    errors: Record<string, number>;
    atSignal: number;
    atSignalAnsweredByFirst: number;
    atSignalAnsweredBySecond: number;
    atSignalFailed: number;
    answeredBySecond: number;
    /** Failed calls whose method had returned in the service: the reply was lost. */
    replyLost: number;
    stuck: number;
    stuckFailed: number;
  };
  readonly casts: {
    sent: number;
    sendErrors: number;
    handledByFirst: number;
    handledBySecond: number;
    lost: number;
    duplicates: number;
  };
  readonly leftInQueue: number;
  readonly server: {
    stoppedLines: number;
    inFlight: number;
    requeued: number;
    serviceStopped: number;
    timeoutLine: boolean;
    cutOff: string[];
    cutOffMethods: Record<string, number>[];
    cutOffTasks: string[];
  };
  readonly tasks: { runningAtSignal: number; finished: number; startedAfterSignal: number };
}

type Phase = PhaseData;

const s1 = (n: number): string => n.toFixed(2);

function figuresOf(p: Phase): FaultFigure[] {
  const c = p.calls;
  const k = p.casts;
  const label = `${p.phase} (workers=${p.workers})`;
  const f = (figure: string, measured: string, ok?: boolean): FaultFigure =>
    ok === undefined
      ? { figure: `${label}: ${figure}`, measured }
      : { figure: `${label}: ${figure}`, measured, ok };
  const castsOk = k.lost === 0 && k.duplicates === 0 && k.sendErrors === 0;
  const castLine = `${k.sent} / ${k.handledByFirst} / ${k.handledBySecond} / ${k.lost} / ${k.duplicates}`;
  const out: FaultFigure[] = [];
  if (p.phase === 'last-reply') {
    out.push(
      f(
        'calls in flight at SIGTERM, nothing else to do: answered / reply lost',
        `${c.stuck - c.stuckFailed} / ${c.replyLost} of ${c.stuck}`,
        c.stuckFailed === 0,
      ),
      f(
        'exit status, s after SIGTERM (timeout)',
        `${String(p.exit.code)}, ${s1(p.exit.seconds)} (${p.timeout})`,
        p.exit.code === 0 && p.exit.seconds <= p.timeout,
      ),
    );
    return out;
  }
  if (p.phase === 'overrun') {
    out.push(
      f(
        'exit status, s after SIGTERM (timeout)',
        `${String(p.exit.code)}, ${s1(p.exit.seconds)} (${p.timeout})`,
        p.exit.code !== 0 && p.exit.seconds <= p.timeout + 1,
      ),
      f(
        'log line naming what was cut off',
        p.server.cutOff.join(' | ') || 'none',
        (p.server.cutOffMethods[0]?.['stuck'] ?? 0) === 3 &&
          p.server.cutOffTasks.includes('long_task'),
      ),
      f(
        'stuck calls cut off: callers failed (why)',
        `${c.stuckFailed} of ${c.stuck} (${Object.keys(c.errors)
          .filter((e) => e.startsWith('stuck'))
          .join(', ')})`,
        c.stuckFailed === c.stuck,
      ),
      f(
        'other calls: answered / failed (of which the reply was lost)',
        `${c.answered} / ${c.failed - c.stuckFailed} (${c.replyLost})`,
        c.failed === c.stuckFailed,
      ),
      f('casts sent / handled by it / by the second server / lost / duplicated', castLine, castsOk),
    );
    return out;
  }
  const sig = p.phase.startsWith('sighup') ? 'SIGHUP' : 'SIGTERM';
  out.push(
    f(
      `calls outstanding at ${sig}: answered by it / by the second server / failed`,
      `${c.atSignalAnsweredByFirst} / ${c.atSignalAnsweredBySecond} / ${c.atSignalFailed} of ${c.atSignal}`,
      c.atSignalFailed === 0 &&
        c.atSignalAnsweredByFirst + c.atSignalAnsweredBySecond === c.atSignal,
    ),
    f(
      'calls: total / answered / failed (of which the reply was lost)',
      `${c.total} / ${c.answered} / ${c.failed} (${c.replyLost})${c.failed ? ` ${JSON.stringify(c.errors)}` : ''}`,
      c.failed === 0,
    ),
    f('casts sent / handled by it / by the second server / lost / duplicated', castLine, castsOk),
    f(
      'Stopped RPC server lines: in-flight finished, deliveries requeued',
      `${p.server.stoppedLines} lines: ${p.server.inFlight}, ${p.server.requeued}`,
      p.server.stoppedLines >= p.workers,
    ),
    f(
      `task runs in progress at ${sig}: finished`,
      `${p.tasks.finished} of ${p.tasks.runningAtSignal}`,
      p.tasks.runningAtSignal > 0 && p.tasks.finished === p.tasks.runningAtSignal,
    ),
  );
  if (sig === 'SIGTERM') {
    out.push(
      f(
        'left in the queue at exit (served by the second server)',
        `${p.leftInQueue} (${c.answeredBySecond} calls, ${k.handledBySecond} casts)`,
      ),
      f(
        'task runs started after SIGTERM',
        String(p.tasks.startedAfterSignal),
        p.tasks.startedAfterSignal === 0,
      ),
      f(
        'services stopped',
        `${p.server.serviceStopped} of ${p.workers}`,
        p.server.serviceStopped === p.workers,
      ),
      f(
        'exit status, s after SIGTERM (timeout)',
        `${String(p.exit.code)}, ${s1(p.exit.seconds)} (${p.timeout})`,
        p.exit.code === 0 && p.exit.seconds <= p.timeout,
      ),
    );
  } else {
    out.push(
      f('restart, s after SIGHUP', s1(p.restartSeconds ?? NaN)),
      f(
        'process kept running; then SIGTERM: exit status, s',
        `yes; ${String(p.exit.code)}, ${s1(p.exit.seconds)}`,
        p.exit.code === 0,
      ),
    );
  }
  return out;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const conn = await amqp.connect(opts['amqp-url']);
  const phases: Phase[] = [];
  try {
    for (const key of opts.phases
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const cfg = PHASES[key];
      if (!cfg) throw new Error(`unknown phase ${key} (${Object.keys(PHASES).join(', ')})`);
      phases.push(await runPhase(cfg, conn));
    }
  } finally {
    await conn.close().catch(() => undefined);
    rmSync(DIR, { recursive: true, force: true });
  }
  const notes: string[] = [];
  for (const p of phases) {
    if (p.phase === 'last-reply' && p.calls.replyLost > 0) {
      notes.push(
        `last-reply: ${p.calls.replyLost} of ${p.calls.stuck} replies were lost: the method returned and its reply was handed to amqplib, but the transport closed the connection before the publisher channel had flushed it (amqplib's connection.close() does not wait for the channels' pending frames).`,
      );
    }
    if (p.phase === 'overrun') {
      notes.push(
        `overrun: the ${p.calls['stuck']} stuck calls were acknowledged when their dispatch began (at most once, as oslo): cut off, they are not redelivered, and their callers time out.`,
      );
    }
  }
  printResult({
    scenario: 'SIGTERM under load',
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    figures: phases.flatMap(figuresOf),
    notes,
    data: { callers: CALLERS, pool: Number(opts.pool), phases },
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
