/**
 * Memory and scale figures of conductor-ts on rabbit:// (a child script of the RPC benchmark, like
 * conductor.ts): one `RESULT <json>` line on stdout, progress on stderr.
 *
 *   node --expose-gc dist/bench/rpc/memory-scale.js --url=rabbit://guest:guest@127.0.0.1:5672/
 *       --name=<unique prefix> [--mode inflight|topics|all|cleanup] [--inflight 10000]
 *       [--topics 100] [--servers 3] [--duration 5] [--concurrency 16] [--reply-mode queue|direct]
 *       [--amqp-url amqp://guest:guest@127.0.0.1:5672]
 *
 * `inflight`: a server child process (this script, `--role inflight-server`) serves topic
 * `<name>_inflight` with a `hold` method whose promise resolves only when released (executor pool
 * ≥ N, prefetch 65535); a client child process (`--role inflight-client`, a transport of its own)
 * calls it N times at once (timeout 300 s). Memory of both processes after two full GCs: at
 * baseline (transports up, warm-up done), with the N calls in flight (the server holds all N) and
 * after releasing them and receiving every reply. Client and server are separate processes, fresh
 * for each wire, so the split is clean and one run's RSS does not leak into the next. Both wires:
 * `queue` (oslo.messaging's, a reply queue per client) and `direct` (the lean wire,
 * `?rpc_reply_mode=direct`); `--reply-mode` picks one, `--mode inflight` alone runs `queue`.
 *
 * `topics`: a server child process (`--role topics-server`) opens ONE transport and starts
 * topics × servers RpcServers on it (topics `<name>_t<i>`, servers `s0..`) concurrently; this
 * process calls them round-robin over the topics with `--concurrency` callers for `--duration` s.
 * Reported: start and stop time, the server process's memory before and after the start, and the
 * AMQP connections and channels the broker sees for the server process (by the pid in their
 * `connection_name` client property, via `rabbitmqctl list_connections`).
 *
 * Everything declared (queues, exchanges, reply queues of our transports) is deleted at the end
 * over a separate amqplib connection, also after a failure or SIGINT/SIGTERM; the RESULT says
 * what was left. `--mode cleanup` only does that, for what a killed run under `--name` left.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import amqp from 'amqplib';
import { destination as pinoDestination } from 'pino';
import { createLogger, type RequestContext, setRootLogger } from '../../src/core/index.js';
import type { RabbitDriver } from '../../src/messaging/drivers/rabbit/index.js';
import {
  getRpcServer,
  getRpcTransport,
  RpcClient,
  type RpcServer,
  Target,
  type Transport,
} from '../../src/messaging/index.js';
import { gc } from '../lib/memory.js';
import { bytes, max, percentiles } from '../lib/stats.js';
import { main, round, tackerContext } from './common.js';

const { values: opts } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
    'amqp-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
    name: { type: 'string', default: `memscale_${randomBytes(4).toString('hex')}` },
    mode: { type: 'string', default: 'all' },
    inflight: { type: 'string', default: '10000' },
    topics: { type: 'string', default: '100' },
    servers: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    'reply-mode': { type: 'string' },
  },
  strict: true,
});

const NAME = opts.name;
const N = Number(opts.inflight);
const TOPICS = Number(opts.topics);
const SERVERS = Number(opts.servers);
const DURATION = Number(opts.duration);
const CONCURRENCY = Number(opts.concurrency);
const SCRIPT = fileURLToPath(import.meta.url);
const INFLIGHT_TOPIC = `${NAME}_inflight`;
const topicName = (i: number): string => `${NAME}_t${i}`;
const serverName = (j: number): string => `s${j}`;

// The framework logs at `info` to stdout by default: stdout carries only the RESULT line here.
setRootLogger(
  createLogger(
    { level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'warn' },
    pinoDestination({ dest: 2, sync: true }),
  ),
);

const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Memory

/** process.memoryUsage() after two full GCs, in bytes. */
interface Mem {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

function memNow(): Mem {
  gc();
  gc();
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

function memDelta(a: Mem, b: Mem): Mem {
  return {
    rss: b.rss - a.rss,
    heapUsed: b.heapUsed - a.heapUsed,
    heapTotal: b.heapTotal - a.heapTotal,
    external: b.external - a.external,
    arrayBuffers: b.arrayBuffers - a.arrayBuffers,
  };
}

/** Bytes per item of a delta (RSS, JS heap used, external incl. ArrayBuffers). */
function perItem(d: Mem, n: number): { rss: number; heapUsed: number; external: number } {
  return {
    rss: round(d.rss / n, 1),
    heapUsed: round(d.heapUsed / n, 1),
    external: round(d.external / n, 1),
  };
}

// ---------------------------------------------------------------------------------------------
// Parent ↔ child processes: request/response over the IPC channel

interface Request {
  id: number;
  cmd: string;
  arg?: number;
}
interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

const children = new Set<ChildProcess>();
/** Set on SIGINT/SIGTERM or by the watchdog: loops stop, children are gone. */
let aborting = false;
/** Transports open here (an abort closes them first: a live reply consumer re-declares). */
const openTransports = new Set<Transport>();

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** A child process (this script with `--role <role>`), driven by commands. */
class Child {
  readonly proc: ChildProcess;
  readonly #waiting = new Map<number, Waiter>();
  readonly #exited: Promise<void>;
  #next = 0;

  readonly role: string;

  constructor(role: string, url: string) {
    this.role = role;
    this.proc = spawn(
      process.execPath,
      [...process.execArgv, SCRIPT, `--role=${role}`, `--url=${url}`, `--name=${NAME}`].concat([
        `--inflight=${N}`,
        `--topics=${TOPICS}`,
        `--servers=${SERVERS}`,
      ]),
      // The child's stdout goes to our stderr: our stdout carries only the RESULT line.
      { stdio: ['ignore', 2, 'inherit', 'ipc'] },
    );
    children.add(this.proc);
    this.proc.on('error', (err) => log(`  ${role}: ${err.message}`));
    this.proc.on('message', (m: Reply) => {
      const w = this.#waiting.get(m.id);
      if (!w) return;
      this.#waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(`${this.role}: ${m.error ?? '?'}`));
    });
    this.#exited = new Promise<void>((resolve) => {
      this.proc.once('exit', (code, signal) => {
        children.delete(this.proc);
        const err = new Error(`${this.role} exited (${code ?? signal ?? '?'})`);
        for (const w of this.#waiting.values()) w.reject(err);
        this.#waiting.clear();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  request<T>(cmd: string, timeoutMs = 60_000, arg?: number): Promise<T> {
    const id = this.#next++;
    if (aborting || !this.proc.connected)
      return Promise.reject(new Error(`${this.role}: gone before '${cmd}'`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${this.role}: '${cmd}' took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ id, cmd, ...(arg === undefined ? {} : { arg }) } satisfies Request);
    });
  }

  /** Asks the child to close its transport and exit; kills it when it does not within 15 s. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await this.request('exit', 15_000).catch((err: unknown) => log(`  ${(err as Error).message}`));
    await Promise.race([this.#exited, sleep(5_000)]);
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.#exited;
  }
}

/** The child side: runs `handlers[cmd]` per request until `exit` (or the parent goes away). */
async function serveCommands(
  handlers: Record<string, (arg?: number) => unknown>,
  shutdown: () => Promise<void>,
): Promise<void> {
  const send = (r: Reply): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!process.send) return resolve();
      process.send(r, undefined, undefined, () => resolve());
    });
  await new Promise<void>((resolve) => {
    process.once('disconnect', () => void shutdown().finally(resolve));
    process.on('message', (m: Request) => {
      void (async () => {
        let reply: Reply;
        try {
          if (m.cmd === 'exit') {
            await shutdown();
            reply = { id: m.id, ok: true };
          } else {
            const h = handlers[m.cmd];
            if (!h) throw new Error(`unknown command '${m.cmd}'`);
            reply = { id: m.id, ok: true, value: await h(m.arg) };
          }
        } catch (err) {
          reply = { id: m.id, ok: false, error: (err as Error).stack ?? String(err) };
        }
        await send(reply);
        if (m.cmd === 'exit') resolve();
      })();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Broker inspection (rabbitmqctl) and clean-up (amqplib)

interface ConnCount {
  connections: number;
  channels: number;
  /** Connections by their number of channels, e.g. `{ "2": 300, "3": 1 }`. */
  channelsPerConnection: Record<string, number>;
}

/** The AMQP connections (and their channels) of process `pid`, by their `connection_name`. */
async function brokerConnections(pid: number): Promise<ConnCount | { error: string }> {
  try {
    const { stdout } = await execFileAsync(
      'rabbitmqctl',
      ['list_connections', 'client_properties', 'channels', '--formatter', 'json', '-q'],
      { timeout: 30_000, maxBuffer: 64 << 20 },
    );
    const rows = JSON.parse(stdout) as { client_properties: unknown[]; channels: number }[];
    const ours = new RegExp(`^[^:]*:${pid}:`);
    const out: ConnCount = { connections: 0, channels: 0, channelsPerConnection: {} };
    for (const r of rows) {
      const prop = r.client_properties.find((p) => Array.isArray(p) && p[0] === 'connection_name');
      const name = Array.isArray(prop) ? String(prop[2]) : '';
      if (!ours.test(name)) continue;
      out.connections++;
      out.channels += r.channels;
      const k = String(r.channels);
      out.channelsPerConnection[k] = (out.channelsPerConnection[k] ?? 0) + 1;
    }
    return out;
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] ?? 'rabbitmqctl failed' };
  }
}

/** Names of the queues or exchanges of vhost `/` (empty when rabbitmqctl fails). */
async function listNames(what: 'list_queues' | 'list_exchanges'): Promise<string[] | undefined> {
  try {
    const { stdout } = await execFileAsync(
      'rabbitmqctl',
      [what, 'name', '--formatter', 'json', '-q'],
      {
        timeout: 30_000,
        maxBuffer: 64 << 20,
      },
    );
    return (JSON.parse(stdout) as { name: string }[]).map((r) => r.name);
  } catch {
    return undefined;
  }
}

/** Reply queues (and their direct exchanges) of the client transports opened by this process. */
const replyQueues = new Set<string>();

const isOurs = (n: string): boolean =>
  n === NAME || n.startsWith(`${NAME}_`) || n === `conductor-lean.${NAME}` || replyQueues.has(n);

interface Cleanup {
  queuesDeleted: number;
  exchangesDeleted: number;
  left: { queues: number; exchanges: number } | 'unknown';
  error?: string;
}

/**
 * Deletes what the run declared: the names it knows (control exchange, lean exchange, topic and
 * server queues, fanout exchanges, reply queues) plus whatever the broker lists under the prefix
 * (fanout queues `<topic>_fanout_<uuid>` of a server that did not stop cleanly).
 */
async function cleanupBroker(): Promise<Cleanup> {
  const queues = new Set<string>([INFLIGHT_TOPIC, `${INFLIGHT_TOPIC}.s0`, ...replyQueues]);
  const exchanges = new Set<string>([
    NAME,
    `conductor-lean.${NAME}`,
    `${INFLIGHT_TOPIC}_fanout`,
    ...replyQueues,
  ]);
  for (let i = 0; i < TOPICS; i++) {
    queues.add(topicName(i));
    for (let j = 0; j < SERVERS; j++) queues.add(`${topicName(i)}.${serverName(j)}`);
    exchanges.add(`${topicName(i)}_fanout`);
  }
  for (const q of (await listNames('list_queues')) ?? []) if (isOurs(q)) queues.add(q);
  for (const x of (await listNames('list_exchanges')) ?? []) if (isOurs(x)) exchanges.add(x);
  const out: Cleanup = { queuesDeleted: 0, exchangesDeleted: 0, left: 'unknown' };
  let conn: amqp.ChannelModel | undefined;
  try {
    conn = await amqp.connect(opts['amqp-url']);
    const c = conn;
    let ch = await c.createChannel();
    const attempt = async (op: (ch: amqp.Channel) => Promise<unknown>): Promise<boolean> => {
      try {
        await op(ch);
        return true;
      } catch {
        ch = await c.createChannel(); // the error closed the channel
        return false;
      }
    };
    for (const q of queues) if (await attempt((x) => x.deleteQueue(q))) out.queuesDeleted++;
    for (const e of exchanges)
      if (await attempt((x) => x.deleteExchange(e))) out.exchangesDeleted++;
  } catch (err) {
    out.error = (err as Error).message;
  } finally {
    await conn?.close().catch(() => undefined);
  }
  const q = await listNames('list_queues');
  const x = await listNames('list_exchanges');
  if (q && x) out.left = { queues: q.filter(isOurs).length, exchanges: x.filter(isOurs).length };
  return out;
}

// ---------------------------------------------------------------------------------------------
// inflight: server child

class HoldEndpoint {
  readonly target = new Target({ version: '1.0' });
  readonly held: (() => void)[] = [];

  ping(): string {
    return 'pong';
  }

  /** Resolves when {@link release} is called. */
  hold(_ctx: RequestContext, _args: Record<string, unknown>): Promise<null> {
    return new Promise<null>((resolve) => this.held.push(() => resolve(null)));
  }

  release(): number {
    const all = this.held.splice(0);
    for (const r of all) r();
    return all.length;
  }
}

async function inflightServer(): Promise<void> {
  const endpoint = new HoldEndpoint();
  let transport: Transport | undefined;
  let srv: RpcServer | undefined;
  const shutdown = async (): Promise<void> => {
    endpoint.release();
    const s = srv;
    srv = undefined;
    if (s) {
      await s.stop();
      await s.wait();
    }
    await transport?.close();
    transport = undefined;
  };
  await serveCommands(
    {
      start: async () => {
        transport = await getRpcTransport({ transportUrl: opts.url, controlExchange: NAME });
        srv = getRpcServer(transport, { topic: INFLIGHT_TOPIC, server: 's0' }, [endpoint], {
          executorPoolSize: Math.max(20_000, N + 1_000),
          prefetch: 65535,
        });
        await srv.start();
        return { pid: process.pid };
      },
      mem: () => memNow(),
      held: () => ({ held: endpoint.held.length, inFlight: srv?.inFlight ?? 0 }),
      release: () => endpoint.release(),
      stop: shutdown,
    },
    shutdown,
  );
}

// ---------------------------------------------------------------------------------------------
// inflight: client child

async function inflightClient(): Promise<void> {
  let transport: Transport | undefined;
  let rpc: RpcClient | undefined;
  const ctx = tackerContext();
  let calls: Promise<void>[] = [];
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const shutdown = async (): Promise<void> => {
    await transport?.close();
    transport = undefined;
  };
  await serveCommands(
    {
      start: async () => {
        transport = await getRpcTransport({ transportUrl: opts.url, controlExchange: NAME });
        rpc = new RpcClient(transport, { topic: INFLIGHT_TOPIC, version: '1.0' }, { timeout: 300 });
        for (let i = 0; i < 50; i++) await rpc.call(ctx, 'ping'); // warm-up
        return { pid: process.pid, replyQueue: (transport.driver as RabbitDriver).replyQueue };
      },
      /** Issues `n` held calls at once; the ms it took to issue them. */
      fire: (n = 0) => {
        const c = rpc as RpcClient;
        ok = 0;
        errors = 0;
        const t = now();
        calls = new Array<Promise<void>>(n);
        for (let i = 0; i < n; i++) {
          calls[i] = c.call(ctx, 'hold', { i }).then(
            () => void ok++,
            (err: unknown) => {
              errors++;
              firstError ??= (err as Error).message;
            },
          );
        }
        return now() - t;
      },
      pending: () => ({ pending: calls.length - ok - errors, ok, errors }),
      /** Waits (up to 60 s) for every call fired to return. */
      drain: async () => {
        const drained = await Promise.race([
          Promise.all(calls).then(() => true),
          sleep(60_000).then(() => false),
        ]);
        calls = [];
        return { drained, ok, errors, ...(firstError ? { firstError } : {}) };
      },
      mem: () => memNow(),
    },
    shutdown,
  );
}

// ---------------------------------------------------------------------------------------------
// inflight: orchestration (this process)

interface SideMem {
  baseline: Mem;
  loaded: Mem;
  after: Mem;
  /** loaded − baseline */
  delta: Mem;
  /** delta / N */
  perCall: { rss: number; heapUsed: number; external: number };
  /** after − baseline (what stays once every call has returned) */
  residual: Mem;
}

function side(baseline: Mem, loaded: Mem, after: Mem): SideMem {
  const delta = memDelta(baseline, loaded);
  return {
    baseline,
    loaded,
    after,
    delta,
    perCall: perItem(delta, N),
    residual: memDelta(baseline, after),
  };
}

interface Drained {
  drained: boolean;
  ok: number;
  errors: number;
  firstError?: string;
}

async function inflight(replyMode: 'queue' | 'direct'): Promise<Record<string, unknown>> {
  log(`inflight [${replyMode}]: ${N} calls held by one server`);
  const t0 = now();
  const sep = opts.url.includes('?') ? '&' : '?';
  const url = replyMode === 'direct' ? `${opts.url}${sep}rpc_reply_mode=direct` : opts.url;
  const server = new Child('inflight-server', opts.url);
  const client = new Child('inflight-client', url);
  try {
    await server.request('start');
    const c = await client.request<{ pid: number; replyQueue: string }>('start');
    replyQueues.add(c.replyQueue);
    const waitHeld = async (n: number, timeoutMs: number): Promise<number> => {
      const deadline = now() + timeoutMs;
      for (;;) {
        const { held } = await server.request<{ held: number }>('held');
        if (held >= n || now() > deadline) return held;
        await sleep(20);
      }
    };
    // Warm-up (beside the client's 50 quick calls): a small batch of held calls, so that the
    // hold path is compiled and the reply queue or direct reply-to channel is in use.
    await client.request('fire', 10_000, 200);
    await waitHeld(200, 30_000);
    await server.request('release');
    await client.request('drain', 70_000);

    const clientBase = await client.request<Mem>('mem');
    const serverBase = await server.request<Mem>('mem');

    const tFill = now();
    const issueMs = await client.request<number>('fire', 60_000, N);
    const held = await waitHeld(N, 60_000);
    const fillMs = now() - tFill;
    log(`  ${held} held after ${fillMs.toFixed(0)} ms (issued in ${issueMs.toFixed(0)} ms)`);
    const clientLoaded = await client.request<Mem>('mem');
    const clientState = await client.request<{ pending: number }>('pending');
    const serverState = await server.request<{ held: number; inFlight: number }>('held');
    const serverLoaded = await server.request<Mem>('mem');

    const tRelease = now();
    const released = await server.request<number>('release');
    const d = await client.request<Drained>('drain', 70_000);
    const drainMs = now() - tRelease;
    log(`  released ${released}; ${d.ok} replies in ${drainMs.toFixed(0)} ms, ${d.errors} errors`);
    const clientAfter = await client.request<Mem>('mem');
    const serverAfter = await server.request<Mem>('mem');

    const cl = side(clientBase, clientLoaded, clientAfter);
    const sv = side(serverBase, serverLoaded, serverAfter);
    const combinedRss = cl.delta.rss + sv.delta.rss;
    const combinedHeap = cl.delta.heapUsed + sv.delta.heapUsed;
    log(
      `  per call: client heap ${cl.perCall.heapUsed} B rss ${cl.perCall.rss} B; ` +
        `server heap ${sv.perCall.heapUsed} B rss ${sv.perCall.rss} B; ` +
        `total Δrss ${bytes(combinedRss)} Δheap ${bytes(combinedHeap)}`,
    );
    return {
      replyMode,
      calls: N,
      issueMs: round(issueMs, 1),
      fillMs: round(fillMs, 1),
      heldByServer: serverState.held,
      serverInFlight: serverState.inFlight,
      clientPending: clientState.pending,
      client: cl,
      server: sv,
      combined: {
        deltaRss: combinedRss,
        deltaHeapUsed: combinedHeap,
        perCallRss: round(combinedRss / N, 1),
        perCallHeapUsed: round(combinedHeap / N, 1),
      },
      drainMs: round(drainMs, 1),
      drainRate: round(d.ok / (drainMs / 1000), 1),
      drained: d.drained,
      replies: d.ok,
      errors: d.errors,
      ...(d.firstError ? { firstError: d.firstError } : {}),
      seconds: round((now() - t0) / 1000, 2),
    };
  } finally {
    await client.close();
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// topics: server child

class EchoEndpoint {
  readonly target = new Target({ version: '1.0' });
  echoes = 0;

  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    this.echoes++;
    return args.value;
  }
}

async function topicsServer(): Promise<void> {
  let transport: Transport | undefined;
  const servers: RpcServer[] = [];
  const endpoints: EchoEndpoint[] = [];
  let started = false;
  const stopAll = async (): Promise<number> => {
    const t = now();
    if (started) {
      started = false;
      await Promise.all(servers.map((s) => s.stop()));
      await Promise.all(servers.map((s) => s.wait()));
    }
    return now() - t;
  };
  const shutdown = async (): Promise<void> => {
    await stopAll();
    await transport?.close();
    transport = undefined;
  };
  await serveCommands(
    {
      open: async () => {
        transport = await getRpcTransport({ transportUrl: opts.url, controlExchange: NAME });
        return { pid: process.pid, mem: memNow() };
      },
      start: async () => {
        const t = transport as Transport;
        for (let i = 0; i < TOPICS; i++) {
          for (let j = 0; j < SERVERS; j++) {
            const e = new EchoEndpoint();
            endpoints.push(e);
            servers.push(getRpcServer(t, { topic: topicName(i), server: serverName(j) }, [e]));
          }
        }
        const t0 = now();
        started = true;
        await Promise.all(servers.map((s) => s.start()));
        const startMs = now() - t0;
        return { startMs, mem: memNow() };
      },
      stop: async () => {
        const stopMs = await stopAll();
        return { stopMs, counts: endpoints.map((e) => e.echoes) };
      },
    },
    shutdown,
  );
}

// ---------------------------------------------------------------------------------------------
// topics: client (this process)

async function topics(replyMode: 'queue' | 'direct'): Promise<Record<string, unknown>> {
  const total = TOPICS * SERVERS;
  log(`topics: ${TOPICS} topics × ${SERVERS} servers = ${total} RpcServers on one transport`);
  const t0 = now();
  const child = new Child('topics-server', opts.url);
  let transport: Transport | undefined;
  try {
    const opened = await child.request<{ pid: number; mem: Mem }>('open');
    const connBefore = await brokerConnections(opened.pid);
    const started = await child.request<{ startMs: number; mem: Mem }>('start', 120_000);
    const connAfter = await brokerConnections(opened.pid);
    const serverDelta = memDelta(opened.mem, started.mem);
    log(
      `  started in ${started.startMs.toFixed(0)} ms; server Δrss ${bytes(serverDelta.rss)} ` +
        `Δheap ${bytes(serverDelta.heapUsed)}; broker: ${JSON.stringify(connAfter)}`,
    );

    const sep = opts.url.includes('?') ? '&' : '?';
    const url = replyMode === 'direct' ? `${opts.url}${sep}rpc_reply_mode=direct` : opts.url;
    transport = await getRpcTransport({ transportUrl: url, controlExchange: NAME });
    openTransports.add(transport);
    replyQueues.add((transport.driver as RabbitDriver).replyQueue);
    const tr = transport;
    const clients = Array.from(
      { length: TOPICS },
      (_, i) => new RpcClient(tr, { topic: topicName(i), version: '1.0' }, { timeout: 30 }),
    );
    const ctx = tackerContext();
    for (const c of clients) await c.call(ctx, 'echo', { value: 'x' }); // warm-up: one per topic

    const perTopic = new Array<number>(TOPICS).fill(0);
    const lat: number[] = [];
    let errors = 0;
    let next = 0;
    const tLoad = now();
    const end = tLoad + DURATION * 1000;
    const loop = async (): Promise<void> => {
      while (now() < end && !aborting) {
        const i = next++ % TOPICS;
        const t = now();
        try {
          await (clients[i] as RpcClient).call(ctx, 'echo', { value: 'x' });
          lat.push(now() - t);
          perTopic[i] = (perTopic[i] as number) + 1;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, loop));
    const seconds = (now() - tLoad) / 1000;
    const [p50, p99] = percentiles(lat, [50, 99]) as [number, number];
    const clientConns = await brokerConnections(process.pid);
    const load = {
      replyMode,
      callers: CONCURRENCY,
      seconds: round(seconds, 3),
      count: lat.length,
      rate: round(lat.length / seconds, 1),
      p50: round(p50, 3),
      p99: round(p99, 3),
      max: round(max(lat), 3),
      errors,
      topicsAnswered: perTopic.filter((c) => c > 0).length,
      minPerTopic: Math.min(...perTopic),
      maxPerTopic: Math.max(...perTopic),
      clientBroker: clientConns,
    };
    log(
      `  load: ${load.rate} calls/s p50 ${load.p50} ms p99 ${load.p99} ms, ` +
        `${load.topicsAnswered}/${TOPICS} topics answered, ${errors} errors`,
    );
    openTransports.delete(transport);
    await transport.close();
    transport = undefined;

    const stopped = await child.request<{ stopMs: number; counts: number[] }>('stop', 120_000);
    const connAfterStop = await brokerConnections(opened.pid);
    log(`  stopped in ${stopped.stopMs.toFixed(0)} ms; broker: ${JSON.stringify(connAfterStop)}`);
    return {
      topics: TOPICS,
      serversPerTopic: SERVERS,
      servers: total,
      transports: 1,
      startMs: round(started.startMs, 1),
      startedConcurrently: true,
      stopMs: round(stopped.stopMs, 1),
      serverMem: {
        before: opened.mem,
        after: started.mem,
        delta: serverDelta,
        perServer: perItem(serverDelta, total),
      },
      broker: { beforeServers: connBefore, afterStart: connAfter, afterStop: connAfterStop },
      serversAnswered: stopped.counts.filter((c) => c > 0).length,
      callsPerServer: { min: Math.min(...stopped.counts), max: Math.max(...stopped.counts) },
      load,
      seconds: round((now() - t0) / 1000, 2),
    };
  } finally {
    if (transport) openTransports.delete(transport);
    await transport?.close();
    await child.close();
  }
}

// ---------------------------------------------------------------------------------------------
// main

async function run(): Promise<void> {
  const t0 = now();
  const mode = opts.mode;
  if (!['inflight', 'topics', 'all', 'cleanup'].includes(mode)) throw new Error(`--mode: ${mode}?`);
  const rm = opts['reply-mode'];
  if (rm !== undefined && rm !== 'queue' && rm !== 'direct')
    throw new Error(`--reply-mode: ${rm}?`);
  const replyModes: ('queue' | 'direct')[] = rm
    ? [rm]
    : mode === 'all'
      ? ['queue', 'direct']
      : ['queue'];
  gc(); // fail early without --expose-gc

  // Bounded: whatever hangs, the run ends (and cleans up) within 3 minutes.
  const watchdog = setTimeout(() => {
    log('memory-scale: over 180 s, giving up');
    void abort(1);
  }, 180_000);
  watchdog.unref();

  const result: Record<string, unknown> = { system: 'conductor-ts rabbit://', name: NAME };
  let failure: unknown;
  try {
    if (mode === 'inflight' || mode === 'all') {
      const rows: Record<string, unknown>[] = [];
      for (const m of replyModes) rows.push(await inflight(m));
      result['inflight'] = rows;
    }
    if (mode === 'topics' || mode === 'all') result['topics'] = await topics(rm ?? 'queue');
  } catch (err) {
    failure = err;
  } finally {
    await closeEverything();
    result['cleanup'] = await cleanupOnce();
  }
  result['seconds'] = round((now() - t0) / 1000, 2);
  if (failure !== undefined) {
    result['error'] = (failure as Error).message;
    console.log(`RESULT ${JSON.stringify(result)}`);
    throw failure;
  }
  log(`cleanup: ${JSON.stringify(result['cleanup'])}; ${String(result['seconds'])} s in all`);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

/** Kills the children and closes this process's transports (before the broker clean-up). */
async function closeEverything(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  const closing = [...openTransports].map((t) => t.close().catch(() => undefined));
  await Promise.race([Promise.all(closing), sleep(5_000)]);
}

let cleaning: Promise<Cleanup> | undefined;
/** The broker clean-up, once (the normal end and an abort may both ask for it). */
const cleanupOnce = (): Promise<Cleanup> => (cleaning ??= cleanupBroker());

/** SIGINT/SIGTERM or the watchdog: stop, clean up, exit (also when the run is stuck). */
async function abort(code: number): Promise<void> {
  if (aborting) return;
  aborting = true;
  await closeEverything();
  const c = await cleanupOnce().catch((err: unknown) => ({ error: (err as Error).message }));
  log(`cleanup: ${JSON.stringify(c)}`);
  process.exit(code);
}

main(async () => {
  if (opts.role === 'inflight-server') return inflightServer();
  if (opts.role === 'inflight-client') return inflightClient();
  if (opts.role === 'topics-server') return topicsServer();
  if (opts.role !== 'main') throw new Error(`--role: ${opts.role}?`);
  process.once('SIGINT', () => void abort(130));
  process.once('SIGTERM', () => void abort(143));
  return run();
});
