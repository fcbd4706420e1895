/**
 * Security (issue 16, scenario 6): TLS to RabbitMQ, and no password in any output.
 *
 * A private RabbitMQ node (bench/lib/rabbit-node.ts; the machine's broker is never touched) listens
 * for AMQPS with a certificate for `localhost` and 127.0.0.1 signed by a CA made here
 * (bench/faults/tls-certs.ts, openssl), and on a second port with a certificate from the same CA
 * for `not-this-host.example` only. It has a user `ct-user` whose password holds a random mark.
 *
 * TLS, through the public API (getRpcTransport, getRpcServer, RpcClient):
 * - `ssl = true` + `ssl_ca_file`, and `amqps://`: calls and casts; the broker's
 *   `list_connections ssl ssl_protocol` says every connection is TLS; call latency over TLS and
 *   over the plain port (`--calls` sequential calls each);
 * - refused: a wrong CA, no `ssl_ca_file` (system CAs), a certificate for another host name; how
 *   long the first attempt took and what its error line says; a call fails within its timeout;
 * - `ssl_verify = false` connects despite a wrong CA and host name (as documented);
 * - the built CLI: `conductor rpc call` over TLS, and with a wrong CA (exit 1).
 *
 * Secrets: the built CLI as real processes with `--debug`, the password in `transport_url` and, when
 * PostgreSQL answers on 127.0.0.1:5432 (trust authentication), in `[database] connection` and
 * `[coordination] backend_url`: `conductor run` (every option logged, an RPC call to it, SIGHUP,
 * SIGTERM), a wrong RabbitMQ password (`run`, `rpc call`), an unreachable database and Redis,
 * `config show` (table, JSON, environment, `--set`), `services`, `members`, `vim list`, a URL with a
 * raw `/` in its password. Every line of their output, and of this process's own logs, is searched
 * for the passwords.
 *
 *   node dist/bench/faults/security.js [--calls 200]
 *
 * Prints one `RESULT` line (bench/faults/result.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createLogger, errorMessage, RequestContext } from '../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  MessageDeliveryFailure,
  RpcClient,
  type Transport,
} from '../../src/messaging/index.js';
import { freePort } from '../lib/ports.js';
import {
  giveToRabbit,
  type RabbitNode,
  startRabbitNode,
  stopRabbitNodes,
} from '../lib/rabbit-node.js';
import { fmt, percentile } from '../lib/stats.js';
import { type FaultFigure, printResult } from './result.js';
import { addTlsListener, makeTlsCerts, type TlsCerts } from './tls-certs.js';

const { values: opts } = parseArgs({
  options: { calls: { type: 'string', default: '200' } },
  strict: true,
});
const CALLS = Number(opts.calls);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const EXCHANGE = 'faults_security';
const TOPIC = 'faults-security';
const FAST = { rabbit_retry_interval: 0.2, rabbit_retry_backoff: 0.2, rabbit_connect_timeout: 5 };
const MARK = randomBytes(6).toString('hex');
const MARK2 = randomBytes(6).toString('hex');
const MARKS = [MARK, MARK2];
/** ct-user's password; `%40` in URLs. */
const PASSWORD = `ct@${MARK}`;
const PASSWORD_IN_URL = `ct%40${MARK}`;
const ctx = (): RequestContext => new RequestContext({ userId: 'bench', projectId: 'bench' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Everything this process and its children printed or logged: searched for the passwords. */
const output: { what: string; text: string }[] = [];
/** This process's log lines (pino JSON), kept in memory. */
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) logLines.push(l);
    cb();
  },
});
const logger = createLogger({ level: 'debug' }, logStream);

class Echo {
  readonly seen = new Set<unknown>();
  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    this.seen.add(args.value);
    return args.value;
  }
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// ---- TLS --------------------------------------------------------------------------------------

interface Refusal {
  refused: boolean;
  ms: number;
  error: string;
  callFailed: boolean;
  callMs: number;
}

async function tlsChecks(
  node: RabbitNode,
  certs: TlsCerts,
  wrongHostPort: number,
): Promise<{ figures: FaultFigure[]; data: Record<string, unknown> }> {
  const tlsPort = node.tlsPort as number;
  const url = (host: string, port: number, scheme = 'rabbit'): string =>
    `${scheme}://ct-user:${PASSWORD_IN_URL}@${host}:${port}/`;
  const open = (u: string, rabbit: Record<string, unknown>): Promise<Transport> =>
    getRpcTransport({
      transportUrl: u,
      controlExchange: EXCHANGE,
      rabbit: { ...FAST, ...rabbit },
      logger,
    });
  const echo = new Echo();
  const verified = { ssl: true, ssl_ca_file: certs.ca.certFile };
  const serverT = await open(url('127.0.0.1', tlsPort), verified);
  const server = getRpcServer(serverT, { topic: TOPIC, server: 'bench' }, [echo]);
  await server.start();

  /** A call and a cast; then `calls` sequential calls, their latencies (ms). */
  const exercise = async (t: Transport, tag: string, calls = 0): Promise<number[]> => {
    const client = new RpcClient(t, { topic: TOPIC }, { timeout: 10 });
    if ((await client.call(ctx(), 'echo', { value: tag })) !== tag) throw new Error('bad echo');
    await client.cast(ctx(), 'echo', { value: `${tag}-cast` });
    const end = Date.now() + 5000;
    while (!echo.seen.has(`${tag}-cast`) && Date.now() < end) await sleep(10);
    if (!echo.seen.has(`${tag}-cast`)) throw new Error(`cast ${tag} did not arrive`);
    const ms: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await client.call(ctx(), 'echo', { value: i });
      ms.push(performance.now() - t0);
    }
    return ms;
  };

  const tls = await open(url('127.0.0.1', tlsPort), verified);
  const tlsMs = await exercise(tls, 'tls', CALLS);
  const conns = (await node.ctl('list_connections', 'ssl', 'ssl_protocol', '--no-table-headers'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split('\t'));
  const allTls = conns.length >= 3 && conns.every(([ssl]) => ssl === 'true');
  const protocols = [...new Set(conns.map(([, p]) => p))].join(', ');
  await tls.close();

  const amqps = await open(url('localhost', tlsPort, 'amqps'), { ssl_ca_file: certs.ca.certFile });
  await exercise(amqps, 'amqps');
  await amqps.close();

  // The same calls on the plain port (a server there too), for the cost of TLS.
  const plainServerT = await open(url('127.0.0.1', node.port), {});
  const plainServer = getRpcServer(plainServerT, { topic: `${TOPIC}-plain`, server: 'bench' }, [
    echo,
  ]);
  await plainServer.start();
  const plain = await open(url('127.0.0.1', node.port), {});
  const plainClient = new RpcClient(plain, { topic: `${TOPIC}-plain` }, { timeout: 10 });
  const plainMs: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await plainClient.call(ctx(), 'echo', { value: i });
    plainMs.push(performance.now() - t0);
  }
  await plain.close();
  await plainServer.stop();
  await plainServer.wait();
  await plainServerT.close();

  const refusal = async (u: string, rabbit: Record<string, unknown>): Promise<Refusal> => {
    const before = logLines.length;
    const t0 = performance.now();
    const t = await open(u, rabbit);
    const ms = performance.now() - t0;
    const line = logLines
      .slice(before)
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.level === 50);
    const c0 = performance.now();
    const call = await new RpcClient(t, { topic: TOPIC }, { timeout: 1 })
      .call(ctx(), 'echo', { value: 'never' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const callMs = performance.now() - c0;
    const refused = !t.connected;
    await t.close();
    return {
      refused,
      ms,
      error: (line?.msg ?? '')
        .replace(/^.*? is unreachable: /, '')
        .replace(/\. Trying again.*$/, ''),
      callFailed: call instanceof MessageDeliveryFailure,
      callMs,
    };
  };
  const wrongCa = await refusal(url('127.0.0.1', tlsPort), {
    ssl: true,
    ssl_ca_file: certs.wrongCa.certFile,
  });
  const systemCas = await refusal(url('127.0.0.1', tlsPort), { ssl: true });
  const wrongHost = await refusal(url('127.0.0.1', wrongHostPort), verified);
  const wrongHostByName = await refusal(url('localhost', wrongHostPort), verified);

  let unverified = 0;
  for (const target of [url('127.0.0.1', tlsPort), url('127.0.0.1', wrongHostPort)]) {
    const t = await open(target, {
      ...verified,
      ssl_ca_file: certs.wrongCa.certFile,
      ssl_verify: false,
    });
    await exercise(t, `unverified-${unverified}`);
    unverified++;
    await t.close();
  }

  // The CLI over TLS.
  const cliArgs = (ca: string): string[] => [
    'rpc',
    'call',
    '--transport-url',
    url('127.0.0.1', tlsPort),
    '--set',
    'oslo_messaging_rabbit.ssl=true',
    '--set',
    `oslo_messaging_rabbit.ssl_ca_file=${ca}`,
    '--exchange',
    EXCHANGE,
    '--topic',
    TOPIC,
    '--timeout',
    '3',
    'echo',
    'value="cli"',
  ];
  const cliOk = await cli(cliArgs(certs.ca.certFile));
  const cliBad = await cli(cliArgs(certs.wrongCa.certFile));

  await server.stop();
  await server.wait();
  await serverT.close();

  const refusedOk = (r: Refusal, pattern: RegExp): boolean =>
    r.refused && r.callFailed && pattern.test(r.error) && r.ms < FAST.rabbit_connect_timeout * 1000;
  const refusedText = (r: Refusal): string =>
    `${r.refused ? 'refused' : 'CONNECTED'} in ${fmt(r.ms, 0)} ms: "${r.error}"; a call fails in ${fmt(r.callMs, 0)} ms (timeout 1 s)`;
  const p = (v: number[], q: number): string => fmt(percentile(v, q), 2);
  const figures: FaultFigure[] = [
    {
      figure: 'call + cast over ssl = true + ssl_ca_file',
      measured: `ok; ${conns.length} connections, all TLS: ${allTls ? 'yes' : 'NO'} (${protocols})`,
      ok: allTls,
    },
    { figure: 'call + cast over amqps://localhost', measured: 'ok', ok: true },
    {
      figure: `call latency p50 / p99 ms, TLS vs plain (${CALLS} calls each)`,
      measured: `${p(tlsMs, 50)} / ${p(tlsMs, 99)} vs ${p(plainMs, 50)} / ${p(plainMs, 99)}`,
    },
    {
      figure: 'wrong CA',
      measured: refusedText(wrongCa),
      ok: refusedOk(wrongCa, /certificate/),
    },
    {
      figure: 'no ssl_ca_file (system CAs)',
      measured: refusedText(systemCas),
      ok: refusedOk(systemCas, /certificate/),
    },
    {
      figure: 'certificate for another host, by IP',
      measured: refusedText(wrongHost),
      ok: refusedOk(wrongHost, /does not match certificate/),
    },
    {
      figure: 'certificate for another host, by name',
      measured: refusedText(wrongHostByName),
      ok: refusedOk(wrongHostByName, /does not match certificate/),
    },
    {
      figure: 'ssl_verify = false, wrong CA / wrong host (documented: no verification)',
      measured: unverified === 2 ? 'connects, calls work' : 'failed',
      ok: unverified === 2,
    },
    {
      figure: 'conductor rpc call over TLS',
      measured: `exit ${cliOk.code}, ${cliOk.out.trim().split('\n').at(-1) ?? ''} (${fmt(cliOk.ms, 0)} ms)`,
      ok: cliOk.code === 0 && cliOk.out.includes('"cli"'),
    },
    {
      figure: 'conductor rpc call, wrong CA',
      measured: `exit ${cliBad.code} in ${fmt(cliBad.ms, 0)} ms; names the certificate: ${/certificate/.test(cliBad.out) ? 'yes' : 'no'}`,
      ok: cliBad.code === 1 && /certificate/.test(cliBad.out),
    },
  ];
  return {
    figures,
    data: {
      connections: conns,
      tlsMs: { p50: percentile(tlsMs, 50), p99: percentile(tlsMs, 99) },
      plainMs: { p50: percentile(plainMs, 50), p99: percentile(plainMs, 99) },
      wrongCa,
      systemCas,
      wrongHost,
      wrongHostByName,
      unverified,
      cli: { ok: cliOk.code, wrongCa: cliBad.code },
    },
  };
}

// ---- secrets ----------------------------------------------------------------------------------

interface Run {
  what: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  ms: number;
}

let cwd = tmpdir();
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('CONDUCTOR_')),
);

/** Runs the CLI; once its output matches `until`, runs `then`, then SIGTERM. */
function cli(
  args: string[],
  o: {
    until?: RegExp;
    then?: (proc: ChildProcess, out: () => string) => Promise<void>;
    timeoutMs?: number;
    env?: Record<string, string>;
  } = {},
): Promise<Run> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...childEnv, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let triggered = false;
  const kill = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs ?? 30_000);
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (o.until && !triggered && o.until.test(out)) {
      triggered = true;
      void (o.then?.(proc, () => out) ?? Promise.resolve())
        .catch((err: unknown) => {
          out += `\n[bench] ${errorMessage(err)}\n`;
        })
        .finally(() => proc.kill('SIGTERM'));
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  return new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      clearTimeout(kill);
      const what = args.slice(0, 2).join(' ');
      output.push({ what, text: out });
      resolve({ what, code, signal, out, ms: performance.now() - t0 });
    });
  });
}

async function secretChecks(
  node: RabbitNode,
): Promise<{ figures: FaultFigure[]; notes: string[]; data: Record<string, unknown> }> {
  const notes: string[] = [];
  cwd = mkdtempSync(join(tmpdir(), 'conductor-security-'));
  const conf = join(cwd, 'conductor.conf');
  const transportUrl = `rabbit://ct-user:${PASSWORD_IN_URL}@127.0.0.1:${node.port}/`;
  const havePg = await reachable(5432);
  const db = `ct_security_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  if (havePg) await admin(`CREATE DATABASE ${db}`);
  else
    notes.push(
      'PostgreSQL is not on 127.0.0.1:5432: [database] and [coordination] ran on SQLite and memory, without passwords.',
    );
  const dbUrl = (mark: string): string =>
    havePg ? `postgresql://postgres:${mark}@127.0.0.1:5432/${db}` : 'sqlite:///conductor.db';
  const write = (database: string): void =>
    writeFileSync(
      conf,
      [
        '[DEFAULT]',
        `transport_url = ${transportUrl}`,
        'host = security-host',
        'report_interval = 1',
        'periodic_fuzzy_delay = 0',
        'log_options = true',
        'graceful_shutdown_timeout = 5',
        '[database]',
        `connection = ${database}`,
        '[coordination]',
        `backend_url = ${havePg ? dbUrl(MARK) : 'memory://'}`,
        '[ops]',
        'listen = 127.0.0.1:0',
        '',
      ].join('\n'),
    );
  write(dbUrl(MARK));
  const runs: Run[] = [];
  try {
    const served: string[] = [];
    const good = await cli(['run', '--debug', '--config-file', conf], {
      until: /Service started/,
      timeoutMs: 60_000,
      then: async (proc, out) => {
        const call = await cli([
          'rpc',
          'call',
          '--debug',
          '--transport-url',
          transportUrl,
          '--timeout',
          '10',
          'update_vim',
          'vim_id=6261579e',
          'status=REACHABLE',
        ]);
        runs.push(call);
        served.push(call.out);
        const ops = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out())?.[1];
        for (const path of ['/healthz', '/metrics', '/tasks']) {
          const res = await fetch(`${ops}${path}`);
          const text = `${path} ${res.status}\n${await res.text()}`;
          served.push(text);
          output.push({ what: `ops ${path}`, text });
        }
        write(dbUrl(MARK2));
        proc.kill('SIGHUP');
        const end = Date.now() + 20_000;
        while (!/Service restarted/.test(out()) && Date.now() < end) await sleep(50);
        write(dbUrl(MARK));
      },
    });
    runs.push(good);
    const wrongUrl = `rabbit://ct-user:wrong-${MARK2}@127.0.0.1:${node.port}/`;
    const wrongRun = await cli(
      [
        'run',
        '--debug',
        '--config-file',
        conf,
        '--set',
        `DEFAULT.transport_url=${wrongUrl}`,
        '--set',
        'DEFAULT.graceful_shutdown_timeout=2',
      ],
      { until: /ACCESS_REFUSED[\s\S]*ACCESS_REFUSED/, timeoutMs: 40_000 },
    );
    runs.push(wrongRun);
    const wrongCall = await cli([
      'rpc',
      'call',
      '--debug',
      '--transport-url',
      wrongUrl,
      '--timeout',
      '2',
      'echo',
    ]);
    runs.push(wrongCall);
    runs.push(
      ...(await Promise.all([
        cli([
          'run',
          '--config-file',
          conf,
          '--set',
          `database.connection=postgresql://postgres:${MARK}@127.0.0.1:1/x`,
        ]),
        cli([
          'members',
          '--debug',
          '--config-file',
          conf,
          '--set',
          `coordination.backend_url=redis://:${MARK}@127.0.0.1:1`,
        ]),
        cli([
          'rpc',
          'call',
          '--config-file',
          conf,
          '--transport-url',
          `rabbit://ct-user:${MARK}/${MARK2}@127.0.0.1:${node.port}/`,
          'echo',
        ]),
      ])),
    );
    runs.push(
      ...(await Promise.all([
        cli(['config', 'show', '--debug', '--config-file', conf]),
        cli(['config', 'show', '--format', 'json', '--config-file', conf]),
        cli(['config', 'show', '--config-file', conf], {
          env: { CONDUCTOR_DEFAULT__TRANSPORT_URL: `rabbit://u:${MARK2}@h:5672/` },
        }),
        cli([
          'config',
          'show',
          '--config-file',
          conf,
          '--set',
          `DEFAULT.transport_url=rabbit://u:${MARK2}@h/`,
        ]),
      ])),
    );
    runs.push(
      ...(await Promise.all([
        cli(['services', '--debug', '--config-file', conf]),
        cli(['vim', 'list', '--debug', '--config-file', conf]),
        cli(['members', '--debug', '--config-file', conf]),
      ])),
    );
    const served0 = served[0] ?? '';
    const figures: FaultFigure[] = [
      {
        figure:
          'conductor run --debug (options logged, an RPC call, ops endpoint, SIGHUP, SIGTERM)',
        measured: `exit ${good.code}; the call answered: ${/RemoteError: VimNotFoundException/.test(served0) ? 'yes' : 'no'}; restarted on SIGHUP: ${/Service restarted/.test(good.out) ? 'yes' : 'no'}`,
        ok: good.code === 0 && /Service restarted/.test(good.out),
      },
      {
        figure: 'wrong RabbitMQ password (run, rpc call)',
        measured: `refused (ACCESS_REFUSED): ${/ACCESS_REFUSED/.test(wrongRun.out) && /ACCESS_REFUSED/.test(wrongCall.out) ? 'yes' : 'no'}; rpc call exit ${wrongCall.code}`,
        ok: /ACCESS_REFUSED/.test(wrongRun.out) && wrongCall.code === 1,
      },
    ];
    return {
      figures,
      notes,
      data: { runs: runs.map((r) => ({ what: r.what, code: r.code, ms: Math.round(r.ms) })) },
    };
  } finally {
    if (havePg) await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    rmSync(cwd, { recursive: true, force: true });
  }
}

// ---- main -------------------------------------------------------------------------------------

const started = performance.now();
const certStart = performance.now();
const certs = await makeTlsCerts();
const certMs = performance.now() - certStart;
giveToRabbit(certs.dir, certs.ca.certFile, certs.server.certFile, certs.server.keyFile);
giveToRabbit(certs.wrongHost.certFile, certs.wrongHost.keyFile);
try {
  const node = await startRabbitNode({
    tls: {
      caFile: certs.ca.certFile,
      certFile: certs.server.certFile,
      keyFile: certs.server.keyFile,
    },
  });
  const wrongHostPort = await freePort();
  await addTlsListener(node.ctl, wrongHostPort, certs.wrongHost, certs.ca.certFile);
  await node.ctl('add_user', 'ct-user', PASSWORD);
  await node.ctl('set_permissions', '-p', '/', 'ct-user', '.*', '.*', '.*');

  const tls = await tlsChecks(node, certs, wrongHostPort);
  const secrets = await secretChecks(node);
  output.push({ what: 'this process (logs)', text: logLines.join('\n') });

  let lines = 0;
  const leaks: string[] = [];
  for (const { what, text } of output) {
    for (const line of text.split('\n')) {
      lines++;
      if (
        MARKS.some((m) => line.includes(m)) ||
        line.includes(PASSWORD) ||
        line.includes(PASSWORD_IN_URL)
      )
        leaks.push(
          `${what}: ${line.slice(0, 300).replaceAll(MARK, '<MARK>').replaceAll(MARK2, '<MARK2>')}`,
        );
    }
  }
  const seconds = (performance.now() - started) / 1000;
  printResult({
    scenario: 'security',
    seconds,
    figures: [
      {
        figure: 'CA + 2 server certificates + wrong CA (openssl, EC P-256)',
        measured: `${fmt(certMs, 0)} ms`,
      },
      ...tls.figures,
      ...secrets.figures,
      {
        figure: `password occurrences in the output of ${output.length} runs and logs`,
        measured: `${leaks.length} in ${fmt(lines, 0)} lines`,
        ok: leaks.length === 0,
      },
      { figure: 'seconds', measured: fmt(seconds, 1) },
    ],
    notes: [...secrets.notes, ...leaks.slice(0, 10)],
    data: { ...tls.data, ...secrets.data, lines, leaks: leaks.length },
  });
} finally {
  await stopRabbitNodes();
  certs.remove();
}
