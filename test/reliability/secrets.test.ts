/**
 * Issue 16, scenario 6, secrets: no password in any output. The built CLI runs as real processes
 * against a private RabbitMQ node (test/helpers/rabbit-node.ts) with a user of its own and
 * PostgreSQL (a database of this file's own), with passwords in `[DEFAULT] transport_url`,
 * `[database] connection` and `[coordination] backend_url`, and `--debug` everywhere:
 * - `conductor run` with `log_options = true` (every option logged), an RPC call to it, its ops
 *   endpoint (/healthz, /metrics, /tasks), a SIGHUP after the database password changed, SIGTERM;
 * - `conductor run` and `conductor rpc call` with a wrong RabbitMQ password (refused: the message
 *   says so, without the password);
 * - `conductor run` with an unreachable database, `members` with an unreachable Redis;
 * - `conductor config show` (table, JSON; the URL from the file, the environment and `--set`),
 *   `services`, `vim list`, `members`;
 * - transport URLs whose password holds a raw `/` or `?` (the URL is refused, masked).
 * The whole stdout and stderr of every process is searched for every password: 0 occurrences.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidTransportUrl, parseTransportUrl } from '../../src/messaging/index.js';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { hasRabbitServer, type RabbitNode, startRabbitNode } from '../helpers/rabbit-node.js';
import { pgAdmin, reachable, requirePostgres, requireService } from '../helpers/services.js';

const CLI = join(ROOT, 'dist/src/cli/main.js');
/** Distinctive parts every password below contains; none may appear in any output. */
const MARK = randomBytes(6).toString('hex');
const MARK2 = randomBytes(6).toString('hex');
/** The RabbitMQ user's password: an `@` in it, written `%40` in URLs. */
const PASSWORD = `ct@${MARK}`;
const PASSWORD_IN_URL = `ct%40${MARK}`;
const MARKS = [MARK, MARK2];

describe('transport URLs with a raw / or ? in the password are refused, masked', () => {
  it.each([
    `rabbit://user:${MARK}/${MARK2}@127.0.0.1:5672/`,
    `rabbit://user:12345/${MARK}@127.0.0.1:5672/`,
    `rabbit://user:${MARK}?${MARK2}@127.0.0.1:5672/`,
    `rabbit://user:${MARK}#${MARK2}@127.0.0.1:5672/`,
    `rabbit://user:${MARK}/`,
  ])('%s', (url) => {
    let error: unknown;
    try {
      parseTransportUrl(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidTransportUrl);
    const message = (error as Error).message;
    for (const m of MARKS) expect(message).not.toContain(m);
    expect(message).toMatch(/^Invalid (transport URL|host)/);
  });

  it('still reads a percent-encoded password and virtual host', () => {
    const u = parseTransportUrl(`rabbit://user:a%2Fb%3Fc%40d@h:5672/v%40x`);
    expect(u.hosts[0]?.password).toBe('a/b?c@d');
    expect(u.virtualHost).toBe('v@x');
  });
});

const enabled =
  (await requireService('rabbitmq-server (a private RabbitMQ node)', hasRabbitServer())) &&
  (await requirePostgres());

interface Run {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly ms: number;
}

describe.runIf(enabled)('no password in any output (real processes, --debug)', () => {
  const DB = `ct_secrets_${randomBytes(4).toString('hex')}`;
  let node: RabbitNode;
  let dir = '';
  let conf = '';
  let transportUrl = '';
  let dbUrl = '';
  let dbCreated = false;
  const runs: Run[] = [];
  /** The variables of the test runner that would change what the CLI reads, left out. */
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CONDUCTOR_')),
  );

  const write = (db: string, extra: string[] = []): void =>
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
        `connection = ${db}`,
        '[coordination]',
        `backend_url = ${dbUrl}`,
        '[ops]',
        'listen = 127.0.0.1:0',
        ...extra,
        '',
      ].join('\n'),
    );

  /**
   * Runs the CLI; once its output matches `until`, runs `then` and sends `stop` (SIGTERM). Killed
   * after `timeoutMs` at the latest. Every run's output is kept for the final search.
   */
  function cli(
    args: string[],
    o: {
      until?: RegExp;
      then?: (proc: ChildProcess, out: () => string) => Promise<void>;
      timeoutMs?: number;
      env?: Record<string, string>;
    } = {},
  ): Promise<Run> {
    const t0 = Date.now();
    const proc = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { ...env, ...o.env },
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
            out += `\n[test] ${String(err)}\n`;
          })
          .finally(() => proc.kill('SIGTERM'));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    return new Promise((resolve) => {
      proc.on('close', (code, signal) => {
        clearTimeout(kill);
        const run = { args, code, signal, out, ms: Date.now() - t0 };
        runs.push(run);
        resolve(run);
      });
    });
  }

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'conductor-secrets-'));
    conf = join(dir, 'conductor.conf');
    node = await startRabbitNode();
    await node.ctl('add_user', 'ct-user', PASSWORD);
    await node.ctl('set_permissions', '-p', '/', 'ct-user', '.*', '.*', '.*');
    transportUrl = `rabbit://ct-user:${PASSWORD_IN_URL}@127.0.0.1:${node.port}/`;
    await pgAdmin((c) => c.query(`CREATE DATABASE ${DB}`));
    dbCreated = true;
    // Trust authentication: PostgreSQL takes any password, so these work and are still secrets.
    dbUrl = `postgresql://postgres:${MARK}@127.0.0.1:5432/${DB}`;
    write(dbUrl);
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    if (dbCreated) await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('conductor run: options logged, an RPC call, the ops endpoint, SIGHUP, SIGTERM', async () => {
    const served: string[] = [];
    const r = await cli(['run', '--debug', '--config-file', conf], {
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
        // The conductor answered (the VIM does not exist): a remote error, not a lost call.
        served.push(call.out);
        const ops = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out())?.[1];
        for (const path of ['/healthz', '/metrics', '/tasks']) {
          const res = await fetch(`${ops}${path}`);
          served.push(`${path} ${res.status}\n${await res.text()}`);
        }
        // A new database password, then SIGHUP: the reload logs what changed.
        write(`postgresql://postgres:${MARK2}@127.0.0.1:5432/${DB}`);
        proc.kill('SIGHUP');
        const end = Date.now() + 20_000;
        while (!/Service restarted/.test(out()) && Date.now() < end)
          await new Promise((res) => setTimeout(res, 50));
        write(dbUrl);
      },
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/transport_url += rabbit:\/\/ct-user:\*\*\*@127\.0\.0\.1/);
    expect(r.out).toMatch(/database\.connection += postgresql:\/\/postgres:\*\*\*@/);
    expect(r.out).toMatch(/Service restarted/);
    expect(served[0]).toMatch(/RemoteError: VimNotFoundException/);
    expect(served.slice(1).map((s) => s.split('\n')[0])).toEqual([
      '/healthz 200',
      '/metrics 200',
      '/tasks 200',
    ]);
    runs.push({ args: ['(ops endpoint)'], code: 0, signal: null, out: served.join('\n'), ms: 0 });
  }, 90_000);

  it('a wrong RabbitMQ password: refused, and the message does not show it', async () => {
    const wrongUrl = `rabbit://ct-user:wrong-${MARK2}@127.0.0.1:${node.port}/`;
    const r = await cli(
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
    expect(r.signal).toBeNull(); // it ended on SIGTERM, not killed by the test
    expect(r.out).toMatch(/ACCESS_REFUSED - Login was refused/);
    expect(r.out).toMatch(/rabbit:\/\/ct-user:\*\*\*@127\.0\.0\.1/);

    const call = await cli(['rpc', 'call', '--transport-url', wrongUrl, '--timeout', '2', 'echo']);
    expect(call.code).toBe(1);
    expect(call.out).toMatch(/ACCESS_REFUSED/);
    expect(call.out).toMatch(/MessageDeliveryFailure/);
  }, 60_000);

  it('unreachable backends, bad URLs: the errors show the URLs masked', async () => {
    const redisPort = (await reachable(6379)) ? 6379 : 1;
    const [db, redis, badUrl, env] = await Promise.all([
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
      cli(['members', '--config-file', conf], {
        env: { CONDUCTOR_COORDINATION__BACKEND_URL: `redis://:${MARK}@127.0.0.1:${redisPort}` },
      }),
    ]);
    expect(db.code).toBe(1);
    expect(db.out).toMatch(/postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x/);
    expect(redis.code).toBe(1);
    expect(redis.out).toMatch(/redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    expect(badUrl.code).toBe(1);
    expect(badUrl.out).toMatch(/Invalid transport URL 'rabbit:\/\/ct-user:\*\*\*@127\.0\.0\.1/);
    expect(env.out).toMatch(/redis:\/\/:\*\*\*@127\.0\.0\.1/);
  }, 60_000);

  it('config dumps and the other commands', async () => {
    const rs = await Promise.all([
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
    ]);
    for (const r of rs) expect(r.code, r.out).toBe(0);
    expect(rs[0]?.out).toMatch(/transport_url +rabbit:\/\/ct-user:\*\*\*@/);
    expect(rs[2]?.out).toMatch(
      /rabbit:\/\/u:\*\*\*@h:5672\/ +env:CONDUCTOR_DEFAULT__TRANSPORT_URL/,
    );
    const others = await Promise.all([
      cli(['services', '--debug', '--config-file', conf]),
      cli(['vim', 'list', '--debug', '--config-file', conf]),
      cli(['members', '--debug', '--config-file', conf]),
    ]);
    for (const r of others) expect(r.code, r.out).toBe(0);
  }, 60_000);

  it('no password in the whole output of every run', () => {
    expect(runs.length).toBeGreaterThanOrEqual(15);
    const all = runs.map((r) => r.out).join('\n');
    const lines = all.split('\n').length;
    expect(lines).toBeGreaterThan(200);
    const found = runs.flatMap((r) =>
      r.out
        .split('\n')
        .filter((l) => MARKS.some((m) => l.includes(m)))
        .map((l) => `${r.args.slice(0, 2).join(' ')}: ${l}`),
    );
    expect(found).toEqual([]);
    // Nor in its URL form, nor decoded.
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(PASSWORD_IN_URL);
  });
});
