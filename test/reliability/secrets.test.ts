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
 * The CLI runs are bench/faults/security.ts's (SECRET_CASES in bench/faults/security-runs.ts): run
 * once, stage by stage, then one case each here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addSecretUser,
  makeSecrets,
  runSecretCases,
  SECRET_CASES,
  type SecretResult,
  type SecretsContext,
  secretsContext,
} from '../../bench/faults/security-runs.js';
import { InvalidTransportUrl, parseTransportUrl } from '../../src/messaging/index.js';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { hasRabbitServer, type RabbitNode, startRabbitNode } from '../helpers/rabbit-node.js';
import { pgAdmin, requirePostgres, requireService } from '../helpers/services.js';

const CLI = join(ROOT, 'dist/src/cli/main.js');
/** Passwords holding distinctive marks (`mark`, `mark2`); none may appear in any output. */
const SECRETS = makeSecrets();
const { mark: MARK, mark2: MARK2, marks: MARKS } = SECRETS;

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

describe.runIf(enabled)('no password in any output (real processes, --debug)', () => {
  const DB = `ct_secrets_${randomBytes(4).toString('hex')}`;
  let node: RabbitNode;
  let dir = '';
  let dbCreated = false;
  let c: SecretsContext;
  let results = new Map<string, SecretResult>();

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'conductor-secrets-'));
    node = await startRabbitNode();
    await addSecretUser(node, SECRETS);
    await pgAdmin((client) => client.query(`CREATE DATABASE ${DB}`));
    dbCreated = true;
    // Trust authentication: PostgreSQL takes any password, so these work and are still secrets.
    const database = (mark: string): string => `postgresql://postgres:${mark}@127.0.0.1:5432/${DB}`;
    c = await secretsContext({
      cli: CLI,
      dir,
      rabbitPort: node.port,
      secrets: SECRETS,
      database,
      backendUrl: database(MARK),
    });
    results = await runSecretCases(c);
  }, 300_000);

  afterAll(async () => {
    await node?.stop();
    if (dbCreated)
      await pgAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it.each(SECRET_CASES.map((k) => [k.name, k] as const))('%s', (name, k) => {
    const r = results.get(name);
    expect(r, 'the run did not happen').toBeDefined();
    const { run, served } = r as SecretResult;
    const e = k.expect;
    if (e.code !== undefined) expect(run.code, run.out).toBe(e.code);
    // null: it ended on its own or on SIGTERM, not killed by the runner at its timeout.
    if (e.signal === null) expect(run.signal, run.out).toBeNull();
    for (const p of e.patterns ?? []) expect(run.out).toMatch(p);
    expect(served.length).toBe(e.served?.length ?? 0);
    (e.served ?? []).forEach((p, i) => expect(served[i]).toMatch(p));
  });

  it('no password in the whole output of every run', () => {
    const runs = c.outputs;
    expect(runs.length).toBeGreaterThanOrEqual(15);
    const all = runs.map((r) => r.text).join('\n');
    const lines = all.split('\n').length;
    expect(lines).toBeGreaterThan(200);
    const found = runs.flatMap((r) =>
      r.text
        .split('\n')
        .filter((l) => MARKS.some((m) => l.includes(m)))
        .map((l) => `${r.what}: ${l}`),
    );
    expect(found).toEqual([]);
    // Nor in its URL form, nor decoded.
    expect(all).not.toContain(SECRETS.password);
    expect(all).not.toContain(SECRETS.passwordInUrl);
  });
});
