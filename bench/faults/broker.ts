/**
 * Broker faults under load (issue 16, scenario 1). A private RabbitMQ node (bench/lib/rabbit-node.ts,
 * so the machine's broker is never touched) serves a conductor-ts service in a child process: a
 * manager with an `echo` method, a `record` method that cast sequence numbers land in, and a
 * periodic task every second. This process keeps 16 callers calling and a stream of confirmed casts
 * flowing, on durable queues (`amqp_durable_queues = true`), while it
 * - has the broker close every connection (`rabbitmqctl close_all_connections`), and
 * - stops and starts the broker (`rabbitmqctl stop_app`, `--outage` seconds, `start_app`),
 * `--rounds` times each, with the driver's default reconnection settings. It reports:
 * - calls: ok, failed by error class, hung (not settled within timeout + 2 s: must be 0);
 * - consumers: `rabbitmqctl list_consumers` (queue names with counts) before each fault and how long
 *   until the same set is back; zombies (a queue with more consumers than before, or a consumer of
 *   a queue that had none) after each;
 * - casts: sent, confirmed, refused to the caller (by class), and of the confirmed ones how many the
 *   server never handled (lost: must be 0) or handled twice (redelivered after a lost ack);
 * - periodic task runs and the longest gap between two runs;
 * - whether the server process survived and stopped with status 0 on SIGTERM.
 *
 *   node dist/bench/faults/broker.js [--rounds 2] [--outage 3] [--casts 10000] [--settle 3]
 *     [--faults close_all_connections,stop_app] [--reply-mode queue|direct]
 *
 * Prints one `RESULT` line (bench/faults/result.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqp, { type ChannelModel } from 'amqplib';
import { destination } from 'pino';
import { createLogger, RequestContext } from '../../src/core/index.js';
import { getRpcTransport, RpcClient, type Transport } from '../../src/messaging/index.js';
import { periodicTask } from '../../src/periodic/index.js';
import { Manager, Service } from '../../src/service/index.js';
import { type RabbitNode, startRabbitNode } from '../lib/rabbit-node.js';
import { fmt } from '../lib/stats.js';
import { printResult, type FaultFigure } from './result.js';

const { values: opts } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    url: { type: 'string' },
    exchange: { type: 'string', default: 'faults_broker' },
    rounds: { type: 'string', default: '2' },
    outage: { type: 'string', default: '3' },
    casts: { type: 'string', default: '10000' },
    callers: { type: 'string', default: '16' },
    timeout: { type: 'string', default: '5' },
    settle: { type: 'string', default: '3' },
    faults: { type: 'string', default: 'close_all_connections,stop_app' },
    /** The client's `rpc_reply_mode`: `queue` (oslo's wire) or `direct` (the lean wire). */
    'reply-mode': { type: 'string', default: 'queue' },
  },
  strict: true,
});

const TOPIC = 'faults-broker';
/** Durable queues, so that confirmed casts survive a broker stop. Reconnection: the defaults. */
const RABBIT = { amqp_durable_queues: true };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ctx = (): RequestContext => new RequestContext({ userId: 'bench', projectId: 'bench' });

// ---- the server (child process) ---------------------------------------------------------------

/** The service's manager: its public methods are the RPC endpoint. */
class BrokerFaultManager extends Manager {
  readonly #seen = new Map<number, number>();
  #runs: number[] = [];

  echo(_ctx: RequestContext, args: { n: number }): number {
    return args.n;
  }

  record(_ctx: RequestContext, args: { seq: number }): void {
    this.#seen.set(args.seq, (this.#seen.get(args.seq) ?? 0) + 1);
  }

  /** Which sequence numbers arrived (ranges, to keep the reply small), and the task runs. */
  stats(_ctx: RequestContext): {
    handled: number;
    duplicates: number;
    seen: number[];
    taskRuns: number;
    longestGap: number;
  } {
    const seen = [...this.#seen.keys()].sort((a, b) => a - b);
    let duplicates = 0;
    for (const n of this.#seen.values()) duplicates += n - 1;
    let longestGap = 0;
    for (let i = 1; i < this.#runs.length; i++)
      longestGap = Math.max(longestGap, (this.#runs[i] ?? 0) - (this.#runs[i - 1] ?? 0));
    return { handled: seen.length, duplicates, seen, taskRuns: this.#runs.length, longestGap };
  }

  @periodicTask({ spacing: 1, runImmediately: true })
  tick(): void {
    this.#runs.push(performance.now() / 1000);
  }
}

async function serve(): Promise<void> {
  const service = await Service.create({
    manager: BrokerFaultManager,
    topic: TOPIC,
    host: 'faults-server',
    transport: {
      transportUrl: opts.url,
      controlExchange: opts.exchange,
      rabbit: RABBIT,
      // On stderr: stdout carries READY to the bench.
      logger: createLogger({ level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'warn' }, destination(2)),
    },
    reportInterval: 0,
    periodicFuzzyDelay: 0,
  });
  await service.start();
  process.stdout.write('READY\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  await service.stop();
  process.exit(0);
}

// ---- the bench --------------------------------------------------------------------------------

interface Outcomes {
  ok: number;
  hung: number;
  failed: Map<string, number>;
  /** Longest time a call took to settle, ms. */
  longest: number;
}

const errorName = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : String(err);

/** Counts an outcome, keyed by a short description. */
function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** One full message per error class, for the notes. */
const samples = new Map<string, string>();

/** Counts a failure by its class, keeping its first message as a sample. */
function countError(map: Map<string, number>, err: unknown): void {
  const name = err instanceof Error ? err.name : 'non-Error';
  if (!samples.has(name)) samples.set(name, errorName(err));
  bump(map, name);
}

/** One caller: calls `echo` until `stop`; every call is watched for a hang. */
async function caller(client: RpcClient, timeoutS: number, out: Outcomes, stop: () => boolean) {
  let n = 0;
  while (!stop()) {
    const t0 = performance.now();
    let settled = false;
    const watchdog = setTimeout(
      () => {
        if (!settled) out.hung++;
      },
      timeoutS * 1000 + 2000,
    );
    try {
      const r = await client.call(ctx(), 'echo', { n });
      if (r !== n) bump(out.failed, `wrong result ${String(r)} for ${n}`);
      else out.ok++;
    } catch (err) {
      countError(out.failed, err);
      // A failed call is not retried at once: the broker is away; pace like a real caller.
      await sleep(100);
    } finally {
      settled = true;
      clearTimeout(watchdog);
      out.longest = Math.max(out.longest, performance.now() - t0);
    }
    n++;
  }
}

interface CastStream {
  sent: number;
  confirmed: number[];
  refused: Map<string, number>;
}

/** Sends `total` confirmed casts, paced over about `seconds`, 4 at a time. */
async function castStream(client: RpcClient, total: number, seconds: number): Promise<CastStream> {
  const out: CastStream = { sent: 0, confirmed: [], refused: new Map() };
  const perMs = total / (seconds * 1000);
  const t0 = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const seq = next++;
      if (seq >= total) return;
      const due = t0 + seq / perMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      out.sent++;
      try {
        await client.cast(ctx(), 'record', { seq });
        out.confirmed.push(seq);
      } catch (err) {
        countError(out.refused, err);
      }
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  return out;
}

/** `list_consumers` as queue → consumer count. */
async function consumers(node: RabbitNode): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const line of await node.listConsumers()) bump(m, line.split('\t')[0] ?? '');
  return m;
}

/** Queues with more consumers than `before` had, or consumers of a queue that had none. */
function zombies(before: Map<string, number>, after: Map<string, number>): number {
  let z = 0;
  for (const [q, n] of after) z += Math.max(0, n - (before.get(q) ?? 0));
  return z;
}

const sameConsumers = (a: Map<string, number>, b: Map<string, number>): boolean =>
  a.size === b.size && [...a].every(([q, n]) => b.get(q) === n);

interface FaultRecord {
  fault: string;
  /** Seconds from the broker being usable again (or the cut) until every consumer was back. */
  back: number | null;
  zombies: number;
}

/**
 * Seconds from `from` until every queue of `want` has its consumers again, polled every 50 ms over
 * AMQP (`checkQueue`: about a millisecond, where `rabbitmqctl list_consumers` takes a second); null
 * after 60 s.
 */
async function consumersBack(
  port: number,
  want: Map<string, number>,
  from: number,
): Promise<number | null> {
  const until = performance.now() + 60_000;
  let conn: ChannelModel | undefined;
  try {
    while (performance.now() < until) {
      try {
        if (!conn) {
          conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/`);
          conn.on('error', () => undefined);
        }
        let all = true;
        for (const [queue, n] of want) {
          const ch = await conn.createChannel();
          ch.on('error', () => undefined);
          const count = await ch.checkQueue(queue).then(
            (q) => q.consumerCount,
            () => 0, // not declared again yet (it closed the channel)
          );
          await ch.close().catch(() => undefined);
          if (count !== n) {
            all = false;
            break;
          }
        }
        if (all) return (performance.now() - from) / 1000;
      } catch {
        // The broker is not back (or closed this connection with the others): connect again.
        await conn?.close().catch(() => undefined);
        conn = undefined;
      }
      await sleep(50);
    }
    return null;
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

async function startServer(url: string, exchange: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), '--role', 'server', '--url', url, '--exchange', exchange],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
    child.once('exit', (code) => reject(new Error(`server exited at start (${code})`)));
  });
  return child;
}

async function bench(): Promise<void> {
  const started = performance.now();
  const rounds = Number(opts.rounds);
  const outageMs = Number(opts.outage) * 1000;
  const settleMs = Number(opts.settle) * 1000;
  const timeoutS = Number(opts.timeout);
  const node = await startRabbitNode();
  let child: ChildProcess | undefined;
  let transport: Transport | undefined;
  try {
    child = await startServer(node.url, opts.exchange);
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    transport = await getRpcTransport({
      transportUrl: node.url,
      controlExchange: opts.exchange,
      rabbit: { ...RABBIT, rpc_reply_mode: opts['reply-mode'] },
      logger: createLogger({ level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'silent' }),
    });
    const client = new RpcClient(transport, { topic: TOPIC }, { timeout: timeoutS });
    await client.call(ctx(), 'echo', { n: -1 });

    const faults: string[] = [];
    for (let r = 0; r < rounds; r++) faults.push(...opts.faults.split(','));
    // Rough length of the run: each fault, then settle; the casts are spread over it.
    const expectedS = (faults.length * (settleMs + outageMs / 2 + 2000) + settleMs) / 1000;

    let stopping = false;
    const calls: Outcomes = { ok: 0, hung: 0, failed: new Map(), longest: 0 };
    const callers = Array.from({ length: Number(opts.callers) }, () =>
      caller(client, timeoutS, calls, () => stopping),
    );
    const casts = castStream(client, Number(opts.casts), expectedS);

    const records: FaultRecord[] = [];
    await sleep(settleMs);
    const baseline = await consumers(node);
    for (const fault of faults) {
      const before = await consumers(node);
      // From when the broker is usable again: start_app returned, or (close_all_connections)
      // the cut itself, as a connection of the bench's own sees it.
      let backFrom: number;
      if (fault === 'stop_app') {
        await node.stopApp();
        await sleep(outageMs);
        await node.startApp();
        backFrom = performance.now();
      } else {
        const probe = await amqp.connect(`amqp://guest:guest@127.0.0.1:${node.port}/`);
        probe.on('error', () => undefined);
        const cut = new Promise<number>((r) => probe.once('close', () => r(performance.now())));
        await node.closeAllConnections('bench: broker fault');
        backFrom = await cut;
      }
      const back = await consumersBack(node.port, before, backFrom);
      await sleep(settleMs);
      records.push({ fault, back, zombies: zombies(before, await consumers(node)) });
    }
    const castsDone = await casts;
    stopping = true;
    await Promise.all(callers);

    // Wait (bounded) for every confirmed cast to be handled; the queue may still hold some.
    type Stats = ReturnType<BrokerFaultManager['stats']>;
    let stats = (await client.call(ctx(), 'stats', {})) as Stats;
    const drainUntil = performance.now() + 30_000;
    const handledAll = (s: Stats): boolean => {
      const seen = new Set(s.seen);
      return castsDone.confirmed.every((q) => seen.has(q));
    };
    while (!handledAll(stats) && performance.now() < drainUntil) {
      await sleep(250);
      stats = (await client.call(ctx(), 'stats', {})) as Stats;
    }
    const seen = new Set(stats.seen);
    const lost = castsDone.confirmed.filter((q) => !seen.has(q)).length;
    const final = await consumers(node);

    await transport.close();
    transport = undefined;
    child.kill('SIGTERM');
    const status = await exited;
    child = undefined;

    const seconds = (performance.now() - started) / 1000;
    const maxBack = (kind: string): number | null | undefined => {
      const v = records.filter((r) => r.fault === kind).map((r) => r.back);
      if (v.length === 0) return undefined;
      return v.some((b) => b === null) ? null : Math.max(...(v as number[]));
    };
    const totalZombies = records.reduce((s, r) => s + r.zombies, 0) + zombies(baseline, final);
    const failedCalls = [...calls.failed.values()].reduce((a, b) => a + b, 0);
    const secondsOr = (v: number | null | undefined): string =>
      v === undefined ? 'not run' : v === null ? 'never' : `${fmt(v, 2)} s`;
    const figures: FaultFigure[] = [
      {
        figure: `faults (${rounds} rounds; outage ${fmt(outageMs / 1000, 0)} s; default reconnection; rpc_reply_mode = ${opts['reply-mode']})`,
        measured: faults.join(', '),
      },
      {
        figure: 'calls: ok / failed / hung (16 callers, timeout ' + `${timeoutS} s)`,
        measured: `${fmt(calls.ok, 0)} / ${fmt(failedCalls, 0)} / ${calls.hung}`,
        ok: calls.hung === 0,
      },
      {
        // MessagingTimeout: sent, and the request or its reply went with the connection.
        // MessageDeliveryFailure: never sent, no connection within the call's timeout.
        figure: 'why calls failed',
        measured:
          [...calls.failed]
            .sort((a, b) => b[1] - a[1])
            .map(([k, n]) => `${k} ${fmt(n, 0)}`)
            .join('; ') || 'none',
      },
      {
        figure: 'longest call, s (timeout + 2 s counts as hung)',
        measured: fmt(calls.longest / 1000, 2),
        ok: calls.longest < timeoutS * 1000 + 2000,
      },
      ...(['close_all_connections', 'stop_app'] as const).map((kind) => {
        const worst = maxBack(kind);
        return {
          figure: `consumers back after ${kind === 'stop_app' ? 'start_app' : kind}, worst`,
          measured: secondsOr(worst),
          ...(worst === undefined ? {} : { ok: worst !== null && worst <= 5 }),
        };
      }),
      {
        figure: 'zombie consumers (list_consumers before/after)',
        measured: `${totalZombies} (${final.size} queues with consumers, as at the start: ${sameConsumers(baseline, final) ? 'yes' : 'no'})`,
        ok: totalZombies === 0 && sameConsumers(baseline, final),
      },
      {
        figure: 'casts: sent / confirmed / refused to the caller',
        measured: `${fmt(castsDone.sent, 0)} / ${fmt(castsDone.confirmed.length, 0)} / ${fmt(castsDone.sent - castsDone.confirmed.length, 0)}`,
      },
      {
        figure: 'why casts were refused',
        measured: [...castsDone.refused].map(([k, n]) => `${k} ${fmt(n, 0)}`).join('; ') || 'none',
      },
      {
        figure: 'confirmed casts lost / handled twice',
        measured: `${lost} / ${stats.duplicates}`,
        ok: lost === 0,
      },
      {
        figure: 'periodic task runs (spacing 1 s), longest gap',
        measured: `${stats.taskRuns}, ${fmt(stats.longestGap, 2)} s`,
        ok: stats.longestGap < 2.5,
      },
      {
        figure: 'server process: crashed / exit status on SIGTERM',
        measured: `${status !== 0 ? 1 : 0} / ${String(status)}`,
        ok: status === 0,
      },
    ];
    printResult({
      scenario: 'broker faults',
      seconds,
      figures,
      notes: [...samples.values()].map((m) => `e.g. ${m}`),
      data: {
        faults: records,
        calls: { ok: calls.ok, failed: Object.fromEntries(calls.failed), hung: calls.hung },
        longestCallMs: calls.longest,
        casts: {
          sent: castsDone.sent,
          confirmed: castsDone.confirmed.length,
          refused: Object.fromEntries(castsDone.refused),
          lost,
          duplicates: stats.duplicates,
        },
        zombies: totalZombies,
        consumersAsAtStart: sameConsumers(baseline, final),
        taskRuns: stats.taskRuns,
        longestTaskGap: stats.longestGap,
        exitStatus: status,
      },
    });
  } finally {
    await transport?.close().catch(() => undefined);
    child?.kill('SIGKILL');
    await node.stop();
  }
}

if (opts.role === 'server') await serve();
else await bench();
