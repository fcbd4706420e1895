/**
 * Conductor benchmark (issue 5):
 *
 *   npm run bench:conductor -- [--duration S] [--concurrency N] [--backends sqlite,postgres]
 *       [--vims N] [--monitor-vims N] [--monitor silent,refused] [--parts rpc,monitor]
 *
 * 1. `update_vim` over RabbitMQ: the built `conductor run` in a child process (SQLite file, or a
 *    PostgreSQL database of its own), an `RpcClient` in this process calling `update_vim` on a random
 *    VIM of `--vims` with alternating statuses, sequential and `--concurrency` concurrent callers,
 *    `--duration` seconds each after 50 warm-up calls. Beside it, the same writes through the store
 *    directly in this process ("database alone"): the ceiling the RPC path is measured against.
 * 2. The VIM monitor: one run over `--monitor-vims` VIMs, half answering HTTP 401 from a local server,
 *    half unreachable, at the default `[vim_monitor]` timeout and concurrency. `silent` = the host
 *    accepts and never answers (each probe waits for the timeout: a host that is down behind a
 *    firewall); `refused` = connection refused at once.
 *
 * Names (topic, database, files) are unique per run and removed afterwards. Markdown on stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  type ConductorStore,
  conductorOptions,
  openStore,
  VimMonitor,
  type VimStatus,
} from '../../src/conductor/index.js';
import { getLogger, setRootLogger, createLogger } from '../../src/core/index.js';
import { getRpcTransport, RpcClient } from '../../src/messaging/index.js';
import { measureCalls, type ModeResult, tackerContext, warmUp } from '../rpc/common.js';
import { fmt, markdownTable } from '../lib/stats.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    backends: { type: 'string', default: 'sqlite,postgres' },
    vims: { type: 'string', default: '100' },
    'monitor-vims': { type: 'string', default: '1000' },
    monitor: { type: 'string', default: 'refused,silent' },
    parts: { type: 'string', default: 'rpc,monitor' },
    'rabbit-url': { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
    'pg-admin-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
  strict: true,
});
const DURATION = Number(args.duration);
const CONCURRENCY = Number(args.concurrency);
const VIMS = Number(args.vims);
const MONITOR_VIMS = Number(args['monitor-vims']);
const RUN = `cbench_${randomBytes(4).toString('hex')}`;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const progress = (msg: string): void => void process.stderr.write(`[bench:conductor] ${msg}\n`);

setRootLogger(createLogger({ level: 'warn' }));
const ctx = tackerContext();

const defaultOf = (section: string, name: string): number =>
  conductorOptions.find((o) => o.section === section && o.name === name)?.default as number;

async function registerVims(store: ConductorStore, n: number, url: (i: number) => string) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await store.registerVim({ name: `bench-${i}`, authUrl: url(i) })).id);
  }
  return ids;
}

/** The conductor (`conductor run`) in a child process; resolves once it serves. */
async function startConductor(
  dir: string,
  connection: string,
  topic: string,
): Promise<ChildProcess> {
  const conf = join(dir, 'conductor.conf');
  writeFileSync(
    conf,
    [
      '[DEFAULT]',
      `transport_url = ${args['rabbit-url']}`,
      'periodic_fuzzy_delay = 0',
      '[database]',
      `connection = ${connection}`,
      '[vim_monitor]',
      'enabled = false',
      '[ops]',
      'listen = 0',
      '',
    ].join('\n'),
  );
  const proc = spawn('node', [CLI, 'run', '--config-file', conf, '--topic', topic], {
    cwd: dir,
    env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolveStarted, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('"msg":"Service started"')) resolveStarted();
    });
    proc.once('exit', (code) => reject(new Error(`conductor exited ${code}:\n${out}`)));
  });
  proc.stdout?.removeAllListeners('data');
  proc.stdout?.resume();
  return proc;
}

async function stopConductor(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  connection: string;
  cleanup(): Promise<void>;
}

async function backend(name: string, dir: string): Promise<Backend> {
  if (name === 'sqlite') {
    return {
      name: 'sqlite',
      connection: `sqlite:///${join(dir, 'bench.db')}`,
      cleanup: async () => undefined,
    };
  }
  const db = `${RUN}_pg`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: args['pg-admin-url'] });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${db}`);
  return {
    name: 'postgres',
    connection: `postgresql://postgres@127.0.0.1:5432/${db}`,
    cleanup: () => admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`),
  };
}

/** `fn` by one caller, then by `--concurrency` callers, `--duration` seconds each. */
async function seqAndConcurrent(
  system: string,
  variant: string,
  fn: () => Promise<unknown>,
): Promise<ModeResult[]> {
  const out: ModeResult[] = [];
  for (const [mode, callers] of [
    ['seq', 1],
    [`conc${CONCURRENCY}`, CONCURRENCY],
  ] as const) {
    progress(`${system}: ${variant}, ${mode}`);
    out.push(await measureCalls({ system, variant, mode }, fn, DURATION, callers));
  }
  return out;
}

async function rpcPart(): Promise<ModeResult[]> {
  const results: ModeResult[] = [];
  for (const name of args.backends.split(',').filter(Boolean)) {
    const dir = mkdtempSync(join(tmpdir(), 'conductor-bench-'));
    const b = await backend(name, dir);
    const topic = `${RUN}_${name}`;
    let proc: ChildProcess | undefined;
    const store = await openStore(b.connection);
    const transport = await getRpcTransport({
      transportUrl: args['rabbit-url'],
      controlExchange: 'tacker',
    });
    try {
      const ids = await registerVims(store, VIMS, (i) => `http://10.0.0.${i % 250}:5000/v3`);
      let n = 0;
      const next = (): [string, VimStatus] => {
        n++;
        return [ids[n % ids.length] as string, n % 2 ? 'REACHABLE' : 'UNREACHABLE'];
      };
      // Database alone: the store's transaction without RPC.
      const direct = (): Promise<unknown> => store.updateVimStatus(...next());
      await warmUp(direct, 50);
      results.push(...(await seqAndConcurrent(name, 'database alone', direct)));
      proc = await startConductor(dir, b.connection, topic);
      const client = new RpcClient(transport, { topic, version: '1.0' }, { timeout: 30 });
      const call = (): Promise<unknown> => {
        const [vim_id, status] = next();
        return client.call(ctx, 'update_vim', { vim_id, status });
      };
      await warmUp(call, 50);
      results.push(...(await seqAndConcurrent(name, 'update_vim over RabbitMQ', call)));
    } finally {
      if (proc) await stopConductor(proc);
      await transport.close();
      await store.close();
      await b.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

interface MonitorResult {
  unreachable: string;
  vims: number;
  seconds: number;
  reachable: number;
  timeout: number;
  concurrency: number;
}

async function monitorPart(): Promise<MonitorResult[]> {
  const timeout = defaultOf('vim_monitor', 'timeout');
  const concurrency = defaultOf('vim_monitor', 'concurrency');
  const keystone = createHttpServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":{"code":401,"title":"Unauthorized"}}');
  });
  const sockets = new Set<Socket>();
  const silent = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const closed = createTcpServer();
  for (const s of [keystone, silent, closed])
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s: { address(): AddressInfo | string | null }): number =>
    (s.address() as AddressInfo).port;
  const refusedPort = port(closed);
  await new Promise((r) => closed.close(r));
  const out: MonitorResult[] = [];
  try {
    for (const kind of args.monitor.split(',').filter(Boolean)) {
      const badPort = kind === 'silent' ? port(silent) : refusedPort;
      const store = await openStore('sqlite://');
      await registerVims(store, MONITOR_VIMS, (i) =>
        i % 2
          ? `http://127.0.0.1:${badPort}/identity/v3`
          : `http://127.0.0.1:${port(keystone)}/identity/v3`,
      );
      const monitor = new VimMonitor({ timeout, concurrency, logger: getLogger('bench') });
      progress(`monitor: ${MONITOR_VIMS} VIMs, half ${kind}`);
      const report = await monitor.run(store, (id, status) => store.updateVimStatus(id, status));
      out.push({
        unreachable: kind,
        vims: report.vims,
        seconds: report.duration,
        reachable: report.reachable,
        timeout,
        concurrency,
      });
      await store.close();
      for (const s of sockets) s.destroy();
    }
  } finally {
    await new Promise((r) => keystone.close(r));
    await new Promise((r) => silent.close(r));
  }
  return out;
}

const parts = new Set(args.parts.split(','));
const lines: string[] = [
  `## bench:conductor — ${new Date().toISOString()}`,
  '',
  `node ${process.version}; \`npm run bench:conductor -- ${process.argv.slice(2).join(' ')}\``,
  '',
];
if (parts.has('rpc')) {
  const rows = await rpcPart();
  lines.push(
    `### update_vim (${VIMS} VIMs, ${DURATION} s per mode)`,
    '',
    markdownTable(
      ['database', 'path', 'mode', ' calls/s', ' p50 ms', ' p99 ms', ' errors'],
      rows.map((r) => [
        r.system,
        r.variant,
        r.mode,
        fmt(r.rate),
        fmt(r.p50, 3),
        fmt(r.p99, 3),
        String(r.errors),
      ]),
    ),
    '',
  );
}
if (parts.has('monitor')) {
  const rows = await monitorPart();
  lines.push(
    '### VIM monitor: one run',
    '',
    markdownTable(
      ['VIMs', 'unreachable half', ' timeout s', ' concurrency', ' reachable', ' seconds'],
      rows.map((r) => [
        String(r.vims),
        r.unreachable,
        String(r.timeout),
        String(r.concurrency),
        String(r.reachable),
        fmt(r.seconds, 2),
      ]),
    ),
    '',
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
