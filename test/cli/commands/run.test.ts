/**
 * `conductor run`: in-process (fake signals, memory:// bus shared with in-process `rpc call`s) and
 * once as a real process (the built CLI, SIGTERM, exit 0).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../../src/cli/index.js';
import { cli, fakeSignals, MANAGERS, startCli } from '../helpers.js';
import { ensureBuilt, ROOT } from '../build.js';

describe('conductor run (in-process)', () => {
  it('serves the manager over RPC until SIGTERM, then exits 0', async () => {
    const bus = `memory://cli-run-${randomUUID()}`;
    const signals = fakeSignals();
    const run = startCli(
      [
        'run',
        '--manager',
        `${MANAGERS}#InventoryManager`,
        '--topic',
        'CLI_RUN',
        '--host',
        'node-1',
        '--set',
        `transport_url=${bus}`,
        '--set',
        'periodic_fuzzy_delay=0',
        '--set',
        'report_interval=0',
        '--set',
        'database.connection=mysql+pymysql://tacker:db-secret@db/tacker',
        '--set',
        'debug=true',
      ],
      { signalTarget: signals },
    );
    await run.waitForLog(/^Service started$/);
    const starting = run.current.logs.find((l) => l.msg === 'conductor run: starting');
    expect(starting).toMatchObject({
      manager: `${MANAGERS}#InventoryManager`,
      topic: 'CLI_RUN',
      host: 'node-1',
      workers: 1,
      transportUrl: bus,
      controlExchange: 'tacker',
      periodicMode: 'exact',
    });
    // log_options (default true) logs every option at debug level (here on: debug=true), masked
    const optionLines = run.current.logs.filter((l) => l.level === 20).map((l) => l.msg);
    expect(optionLines).toContain(`${'host'.padEnd(30)} = node-1`);
    expect(optionLines).toContain(
      `${'database.connection'.padEnd(30)} = mysql+pymysql://tacker:***@db/tacker`,
    );
    expect(JSON.stringify(run.current.logs)).not.toContain('db-secret');

    const pong = await cli([
      'rpc',
      'call',
      '--transport-url',
      bus,
      '--topic',
      'CLI_RUN',
      '--server',
      'node-1',
      'ping',
      'who=cli',
    ]);
    expect(pong.stderr).toBe('');
    expect(JSON.parse(pong.stdout)).toBe('pong cli');
    // the framework's own methods are not callable over RPC
    const hidden = await cli([
      'rpc',
      'call',
      '--transport-url',
      bus,
      '--topic',
      'CLI_RUN',
      'initHost',
    ]);
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toMatch(/^NoSuchMethod: /);

    signals.emit('SIGTERM');
    const done = await run.result;
    expect(done.code).toBe(EXIT.OK);
    expect(done.exits).toEqual([0]);
    expect(done.logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['Caught SIGTERM, stopping gracefully', 'Service stopped']),
    );
  });

  it('a failed start exits 1', async () => {
    const r = await cli(
      [
        'run',
        '--manager',
        `${MANAGERS}#BrokenManager`,
        '--set',
        `transport_url=memory://cli-run-${randomUUID()}`,
      ],
      { signalTarget: fakeSignals() },
    );
    expect(r.code).toBe(EXIT.FAILURE);
    const err = r.logs.find((l) => l.msg === 'Error starting service');
    expect(err?.err?.message).toBe('cannot reach the database');
  });

  it('a class that is not a Manager is a usage error', async () => {
    const r = await cli(['run', '--manager', `${MANAGERS}#NotAManager`]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toBe(
      `conductor: ${MANAGERS}#NotAManager is not a Manager class (it has no initHost method)\n`,
    );
  });
});

describe('conductor run (real process)', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('starts the fixture manager, logs JSON lines, stops on SIGTERM with exit 0', async () => {
    const proc = spawn(
      process.execPath,
      [
        join(ROOT, 'dist/src/cli/main.js'),
        'run',
        '--manager',
        `${join(ROOT, 'test/fixtures/cli/manager.mjs')}#FixtureManager`,
        '--topic',
        'CLI_PROCESS',
        '--host',
        'proc-1',
        '--set',
        `transport_url=memory://cli-proc`,
        '--set',
        'periodic_fuzzy_delay=0',
        '--set',
        'report_interval=0',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    const seen = new Set<() => void>();
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      for (const w of [...seen]) w();
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const waitFor = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} in:\n${out}\n${err}`)), 8000);
        const check = (): void => {
          if (!re.test(out)) return;
          clearTimeout(timer);
          seen.delete(check);
          resolve();
        };
        seen.add(check);
        check();
      });
    try {
      await waitFor(/"msg":"Service started"/);
      await waitFor(/FIXTURE tick/);
      expect(out).toContain('FIXTURE initHost host=proc-1');
      const starting = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; topic?: string; host?: string })
        .find((l) => l.msg === 'conductor run: starting');
      expect(starting).toMatchObject({ topic: 'CLI_PROCESS', host: 'proc-1' });
      proc.kill('SIGTERM');
      const { code, signal } = await exited;
      expect({ code, signal, err }).toEqual({ code: 0, signal: null, err: '' });
      expect(out).toMatch(/"msg":"Caught SIGTERM, stopping gracefully"/);
      expect(out).toMatch(/"msg":"Service stopped"/);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });

  it('SIGTERM while the start waits for an unreachable broker: abandoned, exit 0 within seconds', async () => {
    // It used to wait for the start until graceful_shutdown_timeout (here 30 s), then exit 1.
    const proc = spawn(
      process.execPath,
      [
        join(ROOT, 'dist/src/cli/main.js'),
        'run',
        '--set',
        'transport_url=rabbit://guest:guest@127.0.0.1:1/',
        '--set',
        'graceful_shutdown_timeout=30',
        '--set',
        'ops.listen=0',
      ],
      { cwd: ROOT, env: { ...process.env, CONDUCTOR_LOG_LEVEL: 'info' }, stdio: 'pipe' },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      proc.on('exit', (code) => resolve(code)),
    );
    try {
      await vi.waitFor(() => expect(out).toMatch(/is unreachable/), { timeout: 10_000 });
      const t0 = Date.now();
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(out).toMatch(/"msg":"The service is still starting: its start is abandoned"/);
      expect(out).not.toMatch(/Graceful shutdown timeout exceeded/);
      expect(err).toBe('');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  }, 20_000);
});
