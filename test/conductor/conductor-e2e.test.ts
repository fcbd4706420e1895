/**
 * End to end, as operators run it: the built `conductor` in a child process on RabbitMQ and
 * PostgreSQL; a Python oslo.messaging client calls `update_vim` on TACKER_CONDUCTOR in exchange
 * tacker, exactly as Tacker's VIM monitor did; the database holds the status and the event;
 * `/metrics` counts the call; SIGTERM ends the process with status 0.
 *
 * Isolation: a RabbitMQ vhost and a PostgreSQL database of this file's own (both removed at the end),
 * so the real topic and exchange names can be used.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { hasPython, PYTHON, reachable, requireService } from '../helpers/services.js';

const run = promisify(execFile);
const suffix = randomBytes(4).toString('hex');
const DB = `conductor_e2e_${suffix}`;
const VHOST = `conductor-e2e-${suffix}`;
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const CLI = join(ROOT, 'dist/src/cli/main.js');
const CLIENT = join(ROOT, 'test/conductor/fixtures/update_vim.py');

const enabled =
  (await requireService('RabbitMQ', await reachable(5672))) &&
  (await requireService('PostgreSQL', await reachable(5432))) &&
  (await requireService('python3 with oslo.messaging', hasPython()));

let dir = '';
let confFile = '';
let vhostCreated = false;
let dbCreated = false;

async function rabbitmqctl(...args: string[]): Promise<void> {
  await run('rabbitmqctl', args, { timeout: 30_000 });
}

async function admin<T>(work: (c: pg.Client) => Promise<T>, database = 'test'): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL.replace(/\/test$/, `/${database}`) });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** The built CLI with this file's config; resolves with its exit status and output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [CLI, ...args, '--config-file', confFile], { cwd: dir });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.runIf(enabled)('conductor end to end (RabbitMQ, PostgreSQL, Python client)', () => {
  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'conductor-e2e-'));
    await rabbitmqctl('add_vhost', VHOST);
    vhostCreated = true;
    await rabbitmqctl('set_permissions', '-p', VHOST, 'guest', '.*', '.*', '.*');
    await admin((c) => c.query(`CREATE DATABASE ${DB}`));
    dbCreated = true;
    confFile = join(dir, 'conductor.conf');
    writeFileSync(
      confFile,
      [
        '[DEFAULT]',
        `transport_url = rabbit://guest:guest@127.0.0.1:5672/${VHOST}`,
        'host = e2e-host',
        'report_interval = 1',
        'periodic_fuzzy_delay = 0',
        '[database]',
        `connection = postgresql://postgres@127.0.0.1:5432/${DB}`,
        '[vim_monitor]',
        // The monitor would race the Python client for the status; it has tests of its own.
        'enabled = false',
        '[ops]',
        'listen = 127.0.0.1:0',
        '',
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    if (dbCreated) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
    if (vhostCreated) await rabbitmqctl('delete_vhost', VHOST);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves update_vim to oslo.messaging, records it, exports metrics and stops on SIGTERM', async () => {
    const vimId = randomUUID();
    const reg = await cli(
      'vim',
      'register',
      '--name',
      'site-e2e',
      '--auth-url',
      'http://192.0.2.1:5000/v3',
      '--id',
      vimId,
    );
    expect(reg).toMatchObject({ code: 0, stdout: `${vimId}\n` });

    const proc: ChildProcess = spawn('node', [CLI, 'run', '--config-file', confFile], {
      cwd: dir,
      env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      proc.on('exit', (code) => resolve(code)),
    );
    const waitFor = async (re: RegExp, ms = 20_000): Promise<RegExpExecArray> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (Date.now() > deadline || proc.exitCode !== null)
          throw new Error(`no ${re} in:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      const ops = (await waitFor(/"url":"(http:[^"]+)"[^\n]*"msg":"Ops endpoint listening/))[1];
      await waitFor(/"msg":"Service started"/);
      const health = await fetch(`${ops}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });

      const call = async (id: string, status: string): Promise<Record<string, unknown>> => {
        const r = await run(
          PYTHON,
          [CLIENT, '--url', `rabbit://guest:guest@127.0.0.1:5672/${VHOST}`, id, status],
          { timeout: 60_000 },
        );
        return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      };
      expect(await call(vimId, 'REACHABLE')).toEqual({ result: 'REACHABLE' });
      expect(await call('no-such-vim', 'REACHABLE')).toMatchObject({
        error: 'VimNotFoundException',
      });

      const rows = await admin(
        async (c) => ({
          vim: (await c.query('SELECT status, updated_at FROM vims WHERE id = $1', [vimId])).rows,
          events: (
            await c.query(
              'SELECT resource_id, resource_type, resource_state, event_type, event_details FROM events ORDER BY id',
            )
          ).rows,
        }),
        DB,
      );
      expect(rows.vim).toHaveLength(1);
      expect(rows.vim[0]).toMatchObject({ status: 'REACHABLE' });
      expect(rows.vim[0].updated_at).toBeInstanceOf(Date);
      expect(rows.events).toEqual([
        {
          resource_id: vimId,
          resource_type: 'vim',
          resource_state: 'REACHABLE',
          event_type: 'MONITOR',
          event_details: '',
        },
      ]);

      const metrics = await (await fetch(`${ops}/metrics`)).text();
      expect(metrics).toMatch(
        /conductor_rpc_messages_total\{method="update_vim",outcome="ok"\} 1\b/,
      );
      expect(metrics).toMatch(
        /conductor_rpc_messages_total\{method="update_vim",outcome="error"\} 1\b/,
      );

      await waitFor(/"msg":"heartbeat"/);
      const services = await cli('services', '--format', 'json');
      expect(services.code).toBe(0);
      expect(JSON.parse(services.stdout)).toEqual([
        expect.objectContaining({ host: 'e2e-host', topic: 'TACKER_CONDUCTOR', state: 'up' }),
      ]);
      const shown = await cli('vim', 'show', vimId, '--format', 'json');
      expect(JSON.parse(shown.stdout)).toMatchObject({
        id: vimId,
        status: 'REACHABLE',
        events: [{ resourceState: 'REACHABLE' }],
      });

      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/"msg":"Service stopped"/);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  }, 120_000);
});
