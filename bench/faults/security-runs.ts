/**
 * The pieces of the security scenario (issue 16, scenario 6) that bench/faults/security.ts and
 * its tests (test/reliability/tls.test.ts, secrets.test.ts) share, so that they check the same
 * things the same way:
 *
 * - TLS: a private RabbitMQ node with two AMQPS listeners ({@link startTlsRabbit}), transports
 *   with quick retries ({@link openTransport}), a call and a cast ({@link callAndCast}), what the
 *   broker says of its connections ({@link tlsConnections}), the refusals as data
 *   ({@link TLS_REFUSALS}, measured by {@link refusal}) and `conductor rpc call` over TLS
 *   ({@link tlsCliArgs});
 * - secrets: the CLI runs as data ({@link SECRET_CASES}: name, arguments, environment, what each
 *   must show), run by {@link runSecretCases} in stages with bounded concurrency; every output
 *   is kept ({@link SecretsContext.outputs}) for the search for the passwords.
 *
 * Built CLI processes only: the CLI's path is a parameter (dist/src/cli/main.js).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { createLogger, errorMessage, type Logger, RequestContext } from '../../src/core/index.js';
import { getRpcTransport, RpcClient, type Transport } from '../../src/messaging/index.js';
import { freePort } from '../lib/ports.js';
import { giveToRabbit, type RabbitNode, startRabbitNode } from '../lib/rabbit-node.js';
import { addTlsListener, makeTlsCerts, type TlsCerts } from './tls-certs.js';
import { reachable } from '../lib/ports.js';

/** Retries quick enough for a test; the first attempt bounded by rabbit_connect_timeout. */
export const FAST = {
  rabbit_retry_interval: 0.2,
  rabbit_retry_backoff: 0.2,
  rabbit_connect_timeout: 5,
} as const;

const ctx = (): RequestContext => new RequestContext({ userId: 'security', projectId: 'p' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { reachable };

/** A logger whose JSON lines are kept in `lines`; `tee` sees each one too. */
export function memoryLogger(
  level = 'debug',
  tee?: (line: string) => void,
): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (!l.trim()) continue;
        lines.push(l);
        tee?.(l);
      }
      cb();
    },
  });
  return { logger: createLogger({ level }, stream), lines };
}

// ---- TLS --------------------------------------------------------------------------------------

/** The RPC endpoint: `echo` answers with its value and remembers it. */
export class Echo {
  readonly seen = new Set<unknown>();
  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    this.seen.add(args.value);
    return args.value;
  }
}

/** A private RabbitMQ node with two AMQPS listeners, and the certificates. */
export interface TlsRabbit {
  readonly certs: TlsCerts;
  /** How long making the certificates took (ms). */
  readonly certMs: number;
  readonly node: RabbitNode;
  /** The listener whose certificate names `localhost` and 127.0.0.1. */
  readonly tlsPort: number;
  /** The second listener: a certificate for not-this-host.example, signed by the right CA. */
  readonly wrongHostPort: number;
}

/**
 * Makes the certificates (bench/faults/tls-certs.ts), starts a node listening for AMQPS with the
 * server certificate and adds the listener with the certificate for another host. The caller
 * stops the node (stopRabbitNodes, on an error here too) and removes the certificates (this
 * removes them itself when it fails).
 */
export async function startTlsRabbit(): Promise<TlsRabbit> {
  const t0 = performance.now();
  const certs = await makeTlsCerts();
  const certMs = performance.now() - t0;
  try {
    giveToRabbit(certs.dir, certs.ca.certFile, certs.server.certFile, certs.server.keyFile);
    giveToRabbit(certs.wrongHost.certFile, certs.wrongHost.keyFile);
    const node = await startRabbitNode({
      tls: {
        caFile: certs.ca.certFile,
        certFile: certs.server.certFile,
        keyFile: certs.server.keyFile,
      },
    });
    const wrongHostPort = await freePort();
    await addTlsListener(node.ctl, wrongHostPort, certs.wrongHost, certs.ca.certFile);
    return { certs, certMs, node, tlsPort: node.tlsPort as number, wrongHostPort };
  } catch (err) {
    certs.remove();
    throw err;
  }
}

/** `<scheme>://<credentials>@<host>:<port>/`, for one set of credentials (`user:password`). */
export const urlFor =
  (credentials: string) =>
  (host: string, port: number, scheme = 'rabbit'): string =>
    `${scheme}://${credentials}@${host}:${port}/`;

/** An RPC transport with {@link FAST} retries and `rabbit` on top. */
export function openTransport(
  transportUrl: string,
  rabbit: Record<string, unknown>,
  o: { exchange: string; logger: Logger },
): Promise<Transport> {
  return getRpcTransport({
    transportUrl,
    controlExchange: o.exchange,
    rabbit: { ...FAST, ...rabbit },
    logger: o.logger,
  });
}

/** `rabbitmqctl list_connections ssl ssl_protocol`: one `[ssl, protocol]` per connection. */
export async function tlsConnections(node: RabbitNode): Promise<string[][]> {
  const out = await node.ctl('list_connections', 'ssl', 'ssl_protocol', '--no-table-headers');
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split('\t'));
}

/**
 * Calls `echo` with `value` and casts `castValue`, then waits (5 s at most) until the server saw
 * the cast. Resolves with the call's answer; throws when the cast did not arrive.
 */
export async function callAndCast(
  t: Transport,
  o: { topic: string; echo: Echo; value: string; castValue: string },
): Promise<unknown> {
  const client = new RpcClient(t, { topic: o.topic }, { timeout: 10 });
  const answer = await client.call(ctx(), 'echo', { value: o.value });
  await client.cast(ctx(), 'echo', { value: o.castValue });
  const end = Date.now() + 5000;
  while (!o.echo.seen.has(o.castValue) && Date.now() < end) await sleep(10);
  if (!o.echo.seen.has(o.castValue)) throw new Error(`the cast ${o.castValue} did not arrive`);
  return answer;
}

/** `calls` sequential calls of `echo`; their latencies (ms). */
export async function callLatencies(t: Transport, topic: string, calls: number): Promise<number[]> {
  const client = new RpcClient(t, { topic }, { timeout: 10 });
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await client.call(ctx(), 'echo', { value: i });
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** What opening a transport that must be refused gave. */
export interface Refusal {
  /** Whether the transport was connected after the attempt (it must not be). */
  readonly connected: boolean;
  /** How long the first attempt took (ms). */
  readonly ms: number;
  /** The first ERROR log line's message, `(no error line)` without one. */
  readonly error: string;
  /** `error` without the URL before it and the retry after it. */
  readonly reason: string;
  /** What a call (timeout 1 s) rejected with; `undefined` if it was answered. */
  readonly call: unknown;
  readonly callMs: number;
}

/**
 * Opens a transport that must be refused: the first attempt's error line, how long it took, and
 * a call's failure (within its timeout). `tee` sees every log line (e.g. for the password search).
 */
export async function refusal(
  transportUrl: string,
  rabbit: Record<string, unknown>,
  o: { exchange: string; topic: string; tee?: (line: string) => void },
): Promise<Refusal> {
  const log = memoryLogger('debug', o.tee);
  const t0 = performance.now();
  const t = await openTransport(transportUrl, rabbit, { exchange: o.exchange, logger: log.logger });
  const ms = performance.now() - t0;
  const line = log.lines
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .find((l) => l.level === 50);
  const c0 = performance.now();
  const call = await new RpcClient(t, { topic: o.topic }, { timeout: 1 })
    .call(ctx(), 'echo', { value: 'never' })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  const callMs = performance.now() - c0;
  const connected = t.connected;
  await t.close();
  const error = line?.msg ?? '(no error line)';
  return {
    connected,
    ms,
    error,
    reason: error.replace(/^.*? is unreachable: /, '').replace(/\. Trying again.*$/, ''),
    call,
    callMs,
  };
}

/** A connection TLS must refuse. */
export interface TlsRefusalCase {
  /** The bench's figure. */
  readonly figure: string;
  /** The test's name. */
  readonly title: string;
  readonly host: '127.0.0.1' | 'localhost';
  /** Which listener: the right certificate, or the one for another host. */
  readonly listener: 'tls' | 'wrongHost';
  readonly rabbit: (certs: TlsCerts) => Record<string, unknown>;
  /** What the error line must say. */
  readonly error: RegExp;
}

const NOT_THIS_HOST = /is unreachable: .*(does not match certificate|altnames)/i;

/** The refusals: each fails its first attempt within rabbit_connect_timeout, a call within 1 s. */
export const TLS_REFUSALS: readonly TlsRefusalCase[] = [
  {
    figure: 'wrong CA',
    title: 'refuses a broker whose certificate the CA file did not sign: a clear error, no hang',
    host: '127.0.0.1',
    listener: 'tls',
    rabbit: (c) => ({ ssl: true, ssl_ca_file: c.wrongCa.certFile }),
    error: /AMQP server on 127\.0\.0\.1:\d+ is unreachable: .*certificate/,
  },
  {
    figure: 'no ssl_ca_file (system CAs)',
    title: 'refuses it as well with no ssl_ca_file (the system CAs do not know the test CA)',
    host: '127.0.0.1',
    listener: 'tls',
    rabbit: () => ({ ssl: true }),
    error: /is unreachable: .*certificate/,
  },
  {
    figure: 'certificate for another host, by IP',
    title: 'refuses a certificate for another host name, even from the right CA (by IP)',
    host: '127.0.0.1',
    listener: 'wrongHost',
    rabbit: (c) => ({ ssl: true, ssl_ca_file: c.ca.certFile }),
    error: NOT_THIS_HOST,
  },
  {
    figure: 'certificate for another host, by name',
    title: 'refuses a certificate for another host name by the name localhost too',
    host: 'localhost',
    listener: 'wrongHost',
    rabbit: (c) => ({ ssl: true, ssl_ca_file: c.ca.certFile }),
    error: NOT_THIS_HOST,
  },
];

/** `ssl_verify = false` with the wrong CA: connects to either listener (documented). */
export const unverifiedTls = (certs: TlsCerts): Record<string, unknown> => ({
  ssl: true,
  ssl_ca_file: certs.wrongCa.certFile,
  ssl_verify: false,
});

/** `conductor rpc call` over TLS to `transportUrl`, trusting `caFile`; `echo` with `value`. */
export function tlsCliArgs(
  transportUrl: string,
  caFile: string,
  o: { exchange: string; topic: string; value: string },
): string[] {
  return [
    'rpc',
    'call',
    '--transport-url',
    transportUrl,
    '--set',
    'oslo_messaging_rabbit.ssl=true',
    '--set',
    `oslo_messaging_rabbit.ssl_ca_file=${caFile}`,
    '--exchange',
    o.exchange,
    '--topic',
    o.topic,
    '--timeout',
    '3',
    'echo',
    `value=${JSON.stringify(o.value)}`,
  ];
}

// ---- CLI processes ----------------------------------------------------------------------------

/** One finished CLI process. */
export interface CliRun {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr as they came. */
  readonly out: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface CliOptions {
  readonly cwd?: string;
  /** On top of this process's environment without its `CONDUCTOR_*` variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Once the output matches this, `then` runs, then SIGTERM. */
  readonly until?: RegExp;
  readonly then?: (proc: ChildProcess, out: () => string) => Promise<void>;
  /** SIGKILL after this (default 30 s). */
  readonly timeoutMs?: number;
}

/** The variables that would change what the CLI reads, left out. */
const childEnv = (): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONDUCTOR_')));

/** Runs `node <cli> <args>` to its end. */
export function runCli(cli: string, args: readonly string[], o: CliOptions = {}): Promise<CliRun> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [cli, ...args], {
    cwd: o.cwd,
    env: { ...childEnv(), ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  let stderr = '';
  let triggered = false;
  const kill = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs ?? 30_000);
  const onData = (chunk: Buffer, isErr: boolean): void => {
    const text = chunk.toString('utf8');
    out += text;
    if (isErr) stderr += text;
    else stdout += text;
    if (o.until && !triggered && o.until.test(out)) {
      triggered = true;
      void (o.then?.(proc, () => out) ?? Promise.resolve())
        .catch((err: unknown) => {
          out += `\n[runner] ${errorMessage(err)}\n`;
        })
        .finally(() => proc.kill('SIGTERM'));
    }
  };
  proc.stdout.on('data', (c: Buffer) => onData(c, false));
  proc.stderr.on('data', (c: Buffer) => onData(c, true));
  return new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ args, code, signal, out, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

// ---- secrets ----------------------------------------------------------------------------------

/** Passwords made of random marks: none may appear in any output. */
export interface Secrets {
  readonly mark: string;
  readonly mark2: string;
  readonly marks: readonly string[];
  /** The RabbitMQ user's password: an `@` in it, written `%40` in URLs. */
  readonly password: string;
  readonly passwordInUrl: string;
}

export function makeSecrets(): Secrets {
  const mark = randomBytes(6).toString('hex');
  const mark2 = randomBytes(6).toString('hex');
  return {
    mark,
    mark2,
    marks: [mark, mark2],
    password: `ct@${mark}`,
    passwordInUrl: `ct%40${mark}`,
  };
}

/** Adds `ct-user` with the password of `s` to `node`, with every permission on `/`. */
export async function addSecretUser(node: RabbitNode, s: Secrets): Promise<void> {
  await node.ctl('add_user', 'ct-user', s.password);
  await node.ctl('set_permissions', '-p', '/', 'ct-user', '.*', '.*', '.*');
}

/** Where the secrets runs happen; made by {@link secretsContext}. */
export interface SecretsContext {
  readonly cli: string;
  readonly dir: string;
  /** `<dir>/conductor.conf`. */
  readonly conf: string;
  readonly secrets: Secrets;
  /** ct-user with the right password, on the plain port. */
  readonly transportUrl: string;
  /** ct-user with a wrong password (it holds `mark2`). */
  readonly wrongUrl: string;
  readonly rabbitPort: number;
  /** 6379 when Redis answers there, else 1 (nothing). */
  readonly redisPort: number;
  /** `[database] connection` with a password holding `mark`. */
  readonly database: (mark: string) => string;
  /** Writes `conf` with `[database] connection = database(mark)`. */
  write(mark: string): void;
  /** {@link runCli} in `dir`; the output is kept in `outputs`. */
  run(args: readonly string[], o?: CliOptions): Promise<CliRun>;
  /** Every process's output, and what the ops endpoint answered: searched for the passwords. */
  readonly outputs: { what: string; text: string }[];
}

/**
 * Writes `<dir>/conductor.conf`: the password of `secrets` in `transport_url`, `database(mark)`
 * in `[database] connection`, `backendUrl` in `[coordination]`, every option logged.
 */
export async function secretsContext(o: {
  cli: string;
  dir: string;
  rabbitPort: number;
  secrets: Secrets;
  database: (mark: string) => string;
  backendUrl: string;
}): Promise<SecretsContext> {
  const s = o.secrets;
  const conf = join(o.dir, 'conductor.conf');
  const transportUrl = `rabbit://ct-user:${s.passwordInUrl}@127.0.0.1:${o.rabbitPort}/`;
  const outputs: { what: string; text: string }[] = [];
  const c: SecretsContext = {
    cli: o.cli,
    dir: o.dir,
    conf,
    secrets: s,
    transportUrl,
    wrongUrl: `rabbit://ct-user:wrong-${s.mark2}@127.0.0.1:${o.rabbitPort}/`,
    rabbitPort: o.rabbitPort,
    redisPort: (await reachable(6379)) ? 6379 : 1,
    database: o.database,
    outputs,
    write: (mark) =>
      writeFileSync(
        conf,
        [
          '[DEFAULT]',
          `transport_url = ${transportUrl}`,
          'host = secrets-host',
          'report_interval = 1',
          'periodic_fuzzy_delay = 0',
          'log_options = true',
          'graceful_shutdown_timeout = 5',
          '[database]',
          `connection = ${o.database(mark)}`,
          '[coordination]',
          `backend_url = ${o.backendUrl}`,
          '[ops]',
          'listen = 127.0.0.1:0',
          '',
        ].join('\n'),
      ),
    run: async (args, opts = {}) => {
      const r = await runCli(o.cli, args, { ...opts, cwd: o.dir });
      outputs.push({ what: args.slice(0, 2).join(' '), text: r.out });
      return r;
    },
  };
  c.write(s.mark);
  return c;
}

/** What a secrets run must show. */
export interface SecretExpect {
  /** The exit status, when it is checked. */
  readonly code?: number;
  /** `null`: it ended by itself or on the runner's SIGTERM, not killed at its timeout. */
  readonly signal?: null;
  /** Each must match the output. */
  readonly patterns?: readonly RegExp[];
  /** What `during` gave back, one pattern each, in order. */
  readonly served?: readonly RegExp[];
}

/** One CLI run of the secrets scenario. */
export interface SecretCase {
  readonly name: string;
  /** Stages run one after the other; the cases of one stage side by side. */
  readonly stage: number;
  readonly args: (c: SecretsContext) => string[];
  readonly env?: (c: SecretsContext) => Record<string, string>;
  readonly until?: RegExp;
  /** Runs once the output matched `until` (then SIGTERM); what it returns is `served`. */
  readonly during?: (c: SecretsContext, proc: ChildProcess, out: () => string) => Promise<string[]>;
  readonly timeoutMs?: number;
  readonly expect: SecretExpect;
}

/**
 * While `conductor run` serves: an RPC call to it (the VIM does not exist: a remote error, not a
 * lost call), its ops endpoint, then a new database password and SIGHUP (the reload logs what
 * changed); the old password back in the file.
 */
async function serveAndReload(
  c: SecretsContext,
  proc: ChildProcess,
  out: () => string,
): Promise<string[]> {
  const served: string[] = [];
  const call = await c.run([
    'rpc',
    'call',
    '--debug',
    '--transport-url',
    c.transportUrl,
    '--timeout',
    '10',
    'update_vim',
    'vim_id=6261579e',
    'status=REACHABLE',
  ]);
  served.push(call.out);
  const ops = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out())?.[1];
  for (const path of ['/healthz', '/metrics', '/tasks']) {
    const res = await fetch(`${ops}${path}`);
    const text = `${path} ${res.status}\n${await res.text()}`;
    served.push(text);
    c.outputs.push({ what: `ops ${path}`, text });
  }
  c.write(c.secrets.mark2);
  proc.kill('SIGHUP');
  const end = Date.now() + 20_000;
  while (!/Service restarted/.test(out()) && Date.now() < end) await sleep(50);
  c.write(c.secrets.mark);
  return served;
}

const MASKED_RABBIT = /rabbit:\/\/ct-user:\*\*\*@127\.0\.0\.1/;

/** The CLI runs of the secrets scenario, `--debug` mostly; each output searched afterwards. */
export const SECRET_CASES: readonly SecretCase[] = [
  {
    name: 'conductor run: options logged, an RPC call, the ops endpoint, SIGHUP, SIGTERM',
    stage: 0,
    args: (c) => ['run', '--debug', '--config-file', c.conf],
    until: /Service started/,
    during: serveAndReload,
    timeoutMs: 60_000,
    expect: {
      code: 0,
      patterns: [
        /transport_url += rabbit:\/\/ct-user:\*\*\*@127\.0\.0\.1/,
        /database\.connection += postgresql:\/\/postgres:\*\*\*@/,
        /Service restarted/,
      ],
      served: [
        /RemoteError: VimNotFoundException/,
        /^\/healthz 200\n/,
        /^\/metrics 200\n/,
        /^\/tasks 200\n/,
      ],
    },
  },
  {
    name: 'conductor run, a wrong RabbitMQ password: refused, and the message does not show it',
    stage: 1,
    args: (c) => [
      'run',
      '--debug',
      '--config-file',
      c.conf,
      '--set',
      `DEFAULT.transport_url=${c.wrongUrl}`,
      '--set',
      'DEFAULT.graceful_shutdown_timeout=2',
    ],
    until: /ACCESS_REFUSED[\s\S]*ACCESS_REFUSED/,
    timeoutMs: 40_000,
    expect: { signal: null, patterns: [/ACCESS_REFUSED - Login was refused/, MASKED_RABBIT] },
  },
  {
    name: 'conductor rpc call, a wrong RabbitMQ password: exit 1, MessageDeliveryFailure',
    stage: 1,
    args: (c) => [
      'rpc',
      'call',
      '--debug',
      '--transport-url',
      c.wrongUrl,
      '--timeout',
      '2',
      'echo',
    ],
    expect: { code: 1, patterns: [/ACCESS_REFUSED/, /MessageDeliveryFailure/] },
  },
  {
    name: 'conductor run, an unreachable database: the URL masked',
    stage: 2,
    args: (c) => [
      'run',
      '--config-file',
      c.conf,
      '--set',
      `database.connection=postgresql://postgres:${c.secrets.mark}@127.0.0.1:1/x`,
    ],
    expect: { code: 1, patterns: [/postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x/] },
  },
  {
    name: 'members, an unreachable Redis (--set): the URL masked',
    stage: 2,
    args: (c) => [
      'members',
      '--debug',
      '--config-file',
      c.conf,
      '--set',
      `coordination.backend_url=redis://:${c.secrets.mark}@127.0.0.1:1`,
    ],
    expect: { code: 1, patterns: [/redis:\/\/:\*\*\*@127\.0\.0\.1:1/] },
  },
  {
    name: 'rpc call, a raw / in the password: the URL refused, masked',
    stage: 2,
    args: (c) => [
      'rpc',
      'call',
      '--config-file',
      c.conf,
      '--transport-url',
      `rabbit://ct-user:${c.secrets.mark}/${c.secrets.mark2}@127.0.0.1:${c.rabbitPort}/`,
      'echo',
    ],
    expect: {
      code: 1,
      patterns: [/Invalid transport URL 'rabbit:\/\/ct-user:\*\*\*@127\.0\.0\.1/],
    },
  },
  {
    name: 'members, the Redis URL from the environment: masked',
    stage: 2,
    args: (c) => ['members', '--config-file', c.conf],
    env: (c) => ({
      CONDUCTOR_COORDINATION__BACKEND_URL: `redis://:${c.secrets.mark}@127.0.0.1:${c.redisPort}`,
    }),
    expect: { patterns: [/redis:\/\/:\*\*\*@127\.0\.0\.1/] },
  },
  {
    name: 'config show --debug (table)',
    stage: 2,
    args: (c) => ['config', 'show', '--debug', '--config-file', c.conf],
    expect: { code: 0, patterns: [/transport_url +rabbit:\/\/ct-user:\*\*\*@/] },
  },
  {
    name: 'config show --format json',
    stage: 2,
    args: (c) => ['config', 'show', '--format', 'json', '--config-file', c.conf],
    expect: { code: 0 },
  },
  {
    name: 'config show, the transport URL from the environment',
    stage: 2,
    args: (c) => ['config', 'show', '--config-file', c.conf],
    env: (c) => ({ CONDUCTOR_DEFAULT__TRANSPORT_URL: `rabbit://u:${c.secrets.mark2}@h:5672/` }),
    expect: {
      code: 0,
      patterns: [/rabbit:\/\/u:\*\*\*@h:5672\/ +env:CONDUCTOR_DEFAULT__TRANSPORT_URL/],
    },
  },
  {
    name: 'config show, the transport URL from --set',
    stage: 2,
    args: (c) => [
      'config',
      'show',
      '--config-file',
      c.conf,
      '--set',
      `DEFAULT.transport_url=rabbit://u:${c.secrets.mark2}@h/`,
    ],
    expect: { code: 0 },
  },
  {
    name: 'services --debug',
    stage: 2,
    args: (c) => ['services', '--debug', '--config-file', c.conf],
    expect: { code: 0 },
  },
  {
    name: 'vim list --debug',
    stage: 2,
    args: (c) => ['vim', 'list', '--debug', '--config-file', c.conf],
    expect: { code: 0 },
  },
  {
    name: 'members --debug',
    stage: 2,
    args: (c) => ['members', '--debug', '--config-file', c.conf],
    expect: { code: 0 },
  },
];

/** A case and what its run gave. */
export interface SecretResult {
  readonly case: SecretCase;
  readonly run: CliRun;
  /** What `during` returned (empty without one). */
  readonly served: readonly string[];
}

/**
 * Runs `cases` stage by stage, at most `concurrency` processes of a stage at once; keyed by name.
 * A run that fails its expectations does not stop the others (see {@link secretFailures}).
 */
export async function runSecretCases(
  c: SecretsContext,
  cases: readonly SecretCase[] = SECRET_CASES,
  concurrency = 4,
): Promise<Map<string, SecretResult>> {
  const results = new Map<string, SecretResult>();
  const stages = [...new Set(cases.map((k) => k.stage))].sort((a, b) => a - b);
  for (const stage of stages) {
    const queue = cases.filter((k) => k.stage === stage);
    const worker = async (): Promise<void> => {
      for (let k = queue.shift(); k; k = queue.shift()) {
        const { during, env, until, timeoutMs } = k;
        let served: string[] = [];
        const run = await c.run(k.args(c), {
          ...(env && { env: env(c) }),
          ...(until && { until }),
          ...(timeoutMs !== undefined && { timeoutMs }),
          ...(during && {
            then: async (proc: ChildProcess, out: () => string) => {
              served = await during(c, proc, out);
            },
          }),
        });
        results.set(k.name, { case: k, run, served });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }
  return results;
}

/** What of its expectations a run did not show; empty when it showed all. */
export function secretFailures(r: SecretResult): string[] {
  const e = r.case.expect;
  const failed: string[] = [];
  if (e.code !== undefined && r.run.code !== e.code)
    failed.push(`exit ${r.run.code}, not ${e.code}`);
  if (e.signal === null && r.run.signal !== null) failed.push(`killed by ${r.run.signal}`);
  for (const p of e.patterns ?? []) if (!p.test(r.run.out)) failed.push(`no ${p}`);
  (e.served ?? []).forEach((p, i) => {
    if (!p.test(r.served[i] ?? '')) failed.push(`served[${i}]: no ${p}`);
  });
  return failed;
}
