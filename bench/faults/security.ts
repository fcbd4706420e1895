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
 * Prints one `RESULT` line (bench/faults/result.ts). The TLS helpers, the refusals and the CLI
 * runs of the secrets part are shared with test/reliability/tls.test.ts and secrets.test.ts
 * (bench/faults/security-runs.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { getRpcServer, MessageDeliveryFailure, type Transport } from '../../src/messaging/index.js';
import { stopRabbitNodes } from '../lib/rabbit-node.js';
import { fmt, percentile } from '../lib/stats.js';
import { type FaultFigure, printResult } from './result.js';
import {
  addSecretUser,
  callAndCast,
  callLatencies,
  Echo,
  FAST,
  makeSecrets,
  memoryLogger,
  openTransport,
  reachable,
  type Refusal,
  refusal,
  runCli,
  runSecretCases,
  SECRET_CASES,
  type SecretResult,
  secretFailures,
  secretsContext,
  startTlsRabbit,
  TLS_REFUSALS,
  type TlsRabbit,
  tlsCliArgs,
  tlsConnections,
  unverifiedTls,
  urlFor,
} from './security-runs.js';

const { values: opts } = parseArgs({
  options: { calls: { type: 'string', default: '200' } },
  strict: true,
});
const CALLS = Number(opts.calls);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const EXCHANGE = 'faults_security';
const TOPIC = 'faults-security';
const SECRETS = makeSecrets();

/** Everything this process and its children printed or logged: searched for the passwords. */
const output: { what: string; text: string }[] = [];
/** This process's log lines (pino JSON), kept in memory. */
const { logger, lines: logLines } = memoryLogger('debug');
const keepLine = (l: string): void => {
  logLines.push(l);
};

// ---- TLS --------------------------------------------------------------------------------------

async function tlsChecks({
  node,
  certs,
  tlsPort,
  wrongHostPort,
}: TlsRabbit): Promise<{ figures: FaultFigure[]; data: Record<string, unknown> }> {
  const url = urlFor(`ct-user:${SECRETS.passwordInUrl}`);
  const open = (u: string, rabbit: Record<string, unknown>): Promise<Transport> =>
    openTransport(u, rabbit, { exchange: EXCHANGE, logger });
  const echo = new Echo();
  const exercise = (t: Transport, tag: string): Promise<unknown> =>
    callAndCast(t, { topic: TOPIC, echo, value: tag, castValue: `${tag}-cast` }).then((a) => {
      if (a !== tag) throw new Error(`bad echo: ${String(a)}`);
    });
  const verified = { ssl: true, ssl_ca_file: certs.ca.certFile };
  const serverT = await open(url('127.0.0.1', tlsPort), verified);
  const server = getRpcServer(serverT, { topic: TOPIC, server: 'bench' }, [echo]);
  await server.start();

  const tls = await open(url('127.0.0.1', tlsPort), verified);
  await exercise(tls, 'tls');
  const tlsMs = await callLatencies(tls, TOPIC, CALLS);
  const conns = await tlsConnections(node);
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
  const plainMs = await callLatencies(plain, `${TOPIC}-plain`, CALLS);
  await plain.close();
  await plainServer.stop();
  await plainServer.wait();
  await plainServerT.close();

  const port = { tls: tlsPort, wrongHost: wrongHostPort };
  const refusals: { figure: string; r: Refusal; ok: boolean }[] = [];
  for (const k of TLS_REFUSALS) {
    const r = await refusal(url(k.host, port[k.listener]), k.rabbit(certs), {
      exchange: EXCHANGE,
      topic: TOPIC,
      tee: keepLine,
    });
    const ok =
      !r.connected &&
      r.call instanceof MessageDeliveryFailure &&
      k.error.test(r.error) &&
      r.ms < FAST.rabbit_connect_timeout * 1000;
    refusals.push({ figure: k.figure, r, ok });
  }

  let unverified = 0;
  for (const target of [url('127.0.0.1', tlsPort), url('127.0.0.1', wrongHostPort)]) {
    const t = await open(target, unverifiedTls(certs));
    await exercise(t, `unverified-${unverified}`);
    unverified++;
    await t.close();
  }

  // The CLI over TLS.
  const cli = async (ca: string): ReturnType<typeof runCli> => {
    const args = tlsCliArgs(url('127.0.0.1', tlsPort), ca, {
      exchange: EXCHANGE,
      topic: TOPIC,
      value: 'cli',
    });
    const r = await runCli(CLI, args);
    output.push({ what: args.slice(0, 2).join(' '), text: r.out });
    return r;
  };
  const cliOk = await cli(certs.ca.certFile);
  const cliBad = await cli(certs.wrongCa.certFile);

  await server.stop();
  await server.wait();
  await serverT.close();

  const refusedText = (r: Refusal): string =>
    `${r.connected ? 'CONNECTED' : 'refused'} in ${fmt(r.ms, 0)} ms: "${r.reason}"; a call fails in ${fmt(r.callMs, 0)} ms (timeout 1 s)`;
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
    ...refusals.map(({ figure, r, ok }) => ({ figure, measured: refusedText(r), ok })),
    {
      figure: 'ssl_verify = false, wrong CA / wrong host (documented: no verification)',
      measured: unverified === 2 ? 'connects, calls work' : 'failed',
      ok: unverified === 2,
    },
    {
      figure: 'conductor rpc call over TLS',
      measured: `exit ${cliOk.code}, ${cliOk.stdout.trim().split('\n').at(-1) ?? ''} (${fmt(cliOk.ms, 0)} ms)`,
      ok: cliOk.code === 0 && cliOk.stdout.trim() === '"cli"',
    },
    {
      figure: 'conductor rpc call, wrong CA',
      measured: `exit ${cliBad.code} in ${fmt(cliBad.ms, 0)} ms; names the certificate: ${/certificate/.test(cliBad.stderr) ? 'yes' : 'no'}`,
      ok: cliBad.code === 1 && /certificate/.test(cliBad.stderr),
    },
  ];
  const [wrongCa, systemCas, wrongHost, wrongHostByName] = refusals.map(({ r }) => ({
    refused: !r.connected,
    ms: r.ms,
    error: r.reason,
    callFailed: r.call instanceof MessageDeliveryFailure,
    callMs: r.callMs,
  }));
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

async function secretChecks(
  rabbitPort: number,
): Promise<{ figures: FaultFigure[]; notes: string[]; data: Record<string, unknown> }> {
  const notes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'conductor-security-'));
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
  // Trust authentication: PostgreSQL takes any password, so these work and are still secrets.
  const database = (mark: string): string =>
    havePg ? `postgresql://postgres:${mark}@127.0.0.1:5432/${db}` : 'sqlite:///conductor.db';
  try {
    const c = await secretsContext({
      cli: CLI,
      dir,
      rabbitPort,
      secrets: SECRETS,
      database,
      backendUrl: havePg ? database(SECRETS.mark) : 'memory://',
    });
    const results = await runSecretCases(c);
    output.push(...c.outputs);
    const result = (i: number): SecretResult => {
      const name = SECRET_CASES[i]?.name ?? '';
      const r = results.get(name);
      if (!r) throw new Error(`no result for ${name}`);
      return r;
    };
    const [good, wrongRun, wrongCall] = [result(0), result(1), result(2)];
    for (const r of results.values())
      for (const f of secretFailures(r)) notes.push(`${r.case.name}: ${f}`);
    const fine = (r: SecretResult): boolean => secretFailures(r).length === 0;
    const figures: FaultFigure[] = [
      {
        figure:
          'conductor run --debug (options logged, an RPC call, ops endpoint, SIGHUP, SIGTERM)',
        measured: `exit ${good.run.code}; the call answered: ${/RemoteError: VimNotFoundException/.test(good.served[0] ?? '') ? 'yes' : 'no'}; restarted on SIGHUP: ${/Service restarted/.test(good.run.out) ? 'yes' : 'no'}`,
        ok: fine(good),
      },
      {
        figure: 'wrong RabbitMQ password (run, rpc call)',
        measured: `refused (ACCESS_REFUSED): ${/ACCESS_REFUSED/.test(wrongRun.run.out) && /ACCESS_REFUSED/.test(wrongCall.run.out) ? 'yes' : 'no'}; rpc call exit ${wrongCall.run.code}`,
        ok: fine(wrongRun) && fine(wrongCall),
      },
    ];
    return {
      figures,
      notes,
      data: {
        runs: [...results.values()].map((r) => ({
          what: r.run.args.slice(0, 2).join(' '),
          code: r.run.code,
          ms: Math.round(r.run.ms),
          ok: fine(r),
        })),
      },
    };
  } finally {
    if (havePg) await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- main -------------------------------------------------------------------------------------

const started = performance.now();
let rabbit: TlsRabbit | undefined;
try {
  rabbit = await startTlsRabbit();
  await addSecretUser(rabbit.node, SECRETS);

  const tls = await tlsChecks(rabbit);
  const secrets = await secretChecks(rabbit.node.port);
  output.push({ what: 'this process (logs)', text: logLines.join('\n') });

  let lines = 0;
  const leaks: string[] = [];
  for (const { what, text } of output) {
    for (const line of text.split('\n')) {
      lines++;
      if (
        SECRETS.marks.some((m) => line.includes(m)) ||
        line.includes(SECRETS.password) ||
        line.includes(SECRETS.passwordInUrl)
      )
        leaks.push(
          `${what}: ${line.slice(0, 300).replaceAll(SECRETS.mark, '<MARK>').replaceAll(SECRETS.mark2, '<MARK2>')}`,
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
        measured: `${fmt(rabbit.certMs, 0)} ms`,
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
  rabbit?.certs.remove();
}
