/**
 * `conductor tasks --url` and `conductor tasks --watch`: the tasks of a running service read from
 * its ops endpoint. In-process against a scripted `/tasks` server, the refreshes driven by a
 * virtual clock (no test sleeps for an interval): frames redrawn in place on a terminal (cursor
 * hidden, home, clear; the cursor shown again at the end), colours only on a terminal without
 * NO_COLOR (or with FORCE_COLOR), changed rows and cells marked, a clean exit 0 on SIGINT, `q` or
 * Ctrl-C. Then once for real: the built CLI in a pseudo-terminal (`script`) against the ops
 * endpoint of a running `conductor run`, stopped with SIGINT.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { stripAnsi } from '../../../src/cli/ansi.js';
import { EXIT, runCli } from '../../../src/cli/index.js';
import { VirtualClock } from '../../../src/core/index.js';
import { freePort } from '../../helpers/services.js';
import { ensureBuilt, ROOT } from '../build.js';

const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_DOWN = '\x1b[J';
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[\d+(;\d+)*m/;
/** 2030-01-01T00:00:00Z: the wall clock of the in-process runs, moved by the virtual clock. */
const T0 = Date.UTC(2030, 0, 1);
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();

/** A `/tasks` row as the ops endpoint answers it. */
function task(name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    spacing: 2,
    cron: null,
    timezone: null,
    placement: 'every-replica',
    timeout: null,
    lastRun: iso(0),
    lastDuration: 0.012,
    nextDue: iso(2),
    lateness: 0.001,
    outcome: 'ok',
    lastError: null,
    runs: 1,
    missed: 0,
    skipped: 0,
    timeouts: 0,
    ...over,
  };
}

/** Answers `/tasks` with the next of `answers` per request (the last one repeated). */
async function opsStub(answers: readonly (readonly [number, unknown])[]): Promise<{
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/tasks') {
      res.writeHead(404).end('{}');
      return;
    }
    const [status, body] = answers[Math.min(n, answers.length - 1)] ?? [500, null];
    n++;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fake terminal stdin: records raw mode, lets the test type keys. */
class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  readonly raw: boolean[] = [];
  setRawMode(raw: boolean): void {
    this.raw.push(raw);
  }
  resume(): void {}
  pause(): void {}
  type(keys: string): void {
    this.emit('data', Buffer.from(keys));
  }
}

interface WatchRun {
  readonly clock: VirtualClock;
  readonly signals: EventEmitter;
  readonly stdin: FakeStdin;
  readonly out: () => string;
  readonly stderr: () => string;
  readonly result: Promise<number>;
  readonly exits: number[];
  /** Waits until the view sleeps (a frame is drawn), then returns the output so far. */
  readonly drawn: () => Promise<string>;
  /** Moves the virtual clock by one interval and waits for the next frame. */
  readonly next: (seconds?: number) => Promise<string>;
}

const running: WatchRun[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.signals.emit('SIGINT');
    await r.result;
  }
});

function startWatch(argv: string[], o: { tty: boolean; env?: NodeJS.ProcessEnv }): WatchRun {
  const clock = new VirtualClock();
  const signals = new EventEmitter();
  const stdin = new FakeStdin();
  let out = '';
  let err = '';
  const exits: number[] = [];
  const result = runCli(argv, {
    stdout: { write: (s: string) => (out += s), isTTY: o.tty },
    stderr: { write: (s: string) => (err += s) },
    exit: (code) => void exits.push(code),
    env: o.env ?? {},
    cwd: ROOT,
    logStream: { write: () => undefined },
    signalTarget: signals,
    stdin,
    clock,
    now: () => new Date(T0 + clock.now() * 1000),
  });
  const drawn = async (): Promise<string> => {
    await vi.waitFor(
      () => {
        if (clock.pending !== 1) throw new Error(`no frame yet: ${JSON.stringify(out)} ${err}`);
      },
      { timeout: 5000, interval: 5 },
    );
    return out;
  };
  const run: WatchRun = {
    clock,
    signals,
    stdin,
    out: () => out,
    stderr: () => err,
    result,
    exits,
    drawn,
    next: async (seconds = 2) => {
      const before = out.length;
      await clock.advance(seconds);
      await vi.waitFor(
        () => {
          if (clock.pending !== 1 || out.length === before)
            throw new Error(`no new frame yet: ${JSON.stringify(out)}`);
        },
        { timeout: 5000, interval: 5 },
      );
      return out;
    },
  };
  running.push(run);
  return run;
}

/** The frames of a terminal run: the text after each cursor-home. */
const framesOf = (out: string): string[] => out.split(HOME).slice(1);

/** A frame's visible lines (escape sequences removed). */
const linesOf = (frame: string): string[] =>
  stripAnsi(frame)
    .split(/\r?\n/)
    .map((l) => l.trimEnd());

/** The table rows of a frame's lines: [marker, cells...]. */
function tableOf(lines: readonly string[]): string[][] {
  const head = lines.findIndex((l) => l.startsWith('  TASK'));
  return lines
    .slice(head + 1)
    .filter((l) => l !== '')
    .map((l) => [l.slice(0, 1), ...l.slice(2).split(/\s{2,}/)]);
}

const FIRST = [task('checkVims'), task('syncInventory', { spacing: 60, nextDue: iso(60) })];
const SECOND = [
  // a new run that failed: last run, next, outcome and runs change
  task('checkVims', { lastRun: iso(2), nextDue: iso(4), outcome: 'error', runs: 2 }),
  // nothing new (its age grows: not a change)
  task('syncInventory', { spacing: 60, nextDue: iso(60) }),
  // added since
  task('purge', { placement: 'once-per-cluster', leaseHeld: true }),
];

describe('conductor tasks --watch (in-process, virtual clock)', () => {
  let stub: Awaited<ReturnType<typeof opsStub>> | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it('on a terminal: hides the cursor, redraws in place with colours, marks what changed, exits 0 on SIGINT with the cursor shown', async () => {
    stub = await opsStub([
      [200, FIRST],
      [200, SECOND],
    ]);
    const w = startWatch(['tasks', '--watch', '--url', stub.url, '--interval', '2'], {
      tty: true,
    });
    const first = await w.drawn();
    expect(first.startsWith(`${HIDE}${HOME}`)).toBe(true);
    expect(first).toContain(CLEAR_LINE);
    expect(first.endsWith(CLEAR_DOWN)).toBe(true);
    expect(first).toMatch(SGR);
    const [f1] = framesOf(first);
    const l1 = linesOf(f1 ?? '');
    expect(l1[0]).toBe(`conductor tasks  ${stub.url}/tasks  2030-01-01 00:00:00Z`);
    expect(l1[1]).toBe('every 2 s · q or Ctrl-C to quit · 2 tasks');
    // the first refresh marks nothing
    expect(tableOf(l1).map((r) => r.slice(0, 2))).toEqual([
      [' ', 'checkVims'],
      [' ', 'syncInventory'],
    ]);
    // status words are text; `ok` is also green
    expect(tableOf(l1)[0]).toEqual([
      ' ',
      'checkVims',
      'every-replica',
      '2 s',
      '0.0 s ago',
      '0.012 s',
      'in 2.0 s',
      '0.001 s',
      'ok',
      '1',
      '0',
      '0',
      '0',
    ]);
    expect(f1).toContain('\x1b[32mok');

    const second = framesOf(await w.next(2))[1] ?? '';
    expect(second).toBeTruthy();
    const l2 = linesOf(second);
    expect(l2[0]).toBe(`conductor tasks  ${stub.url}/tasks  2030-01-01 00:00:02Z`);
    const rows = tableOf(l2);
    expect(rows.map((r) => r.slice(0, 2))).toEqual([
      ['*', 'checkVims'],
      [' ', 'syncInventory'],
      ['+', 'purge'],
    ]);
    expect(rows[0]).toEqual([
      '*',
      'checkVims',
      'every-replica',
      '2 s',
      '0.0 s ago',
      '0.012 s',
      'in 2.0 s',
      '0.001 s',
      'error',
      '2',
      '0',
      '0',
      '0',
    ]);
    expect(rows[2]?.[2]).toBe('once-per-cluster (held)');
    // the changed cells are highlighted (bold yellow), the unchanged ones of the row are not
    const line = (name: string): string =>
      second.split('\n').find((l) => stripAnsi(l).slice(2).startsWith(name)) ?? '';
    expect(line('checkVims')).toContain('\x1b[1m\x1b[33merror');
    expect(line('checkVims')).toContain('\x1b[1m\x1b[33m2');
    expect(line('checkVims')).not.toContain('\x1b[1m\x1b[33mevery-replica');
    // an age that only grew is not a change
    expect(line('syncInventory')).not.toContain('\x1b[33m');
    // a new row is green
    expect(line('purge')).toContain('\x1b[32mpurge');

    w.signals.emit('SIGINT');
    expect(await w.result).toBe(EXIT.OK);
    expect(w.exits).toEqual([0]);
    expect(w.out().endsWith(SHOW)).toBe(true);
    expect(w.signals.listenerCount('SIGINT')).toBe(0);
    expect(w.signals.listenerCount('SIGTERM')).toBe(0);
    expect(w.stdin.raw).toEqual([true, false]);
    expect(w.stdin.listenerCount('data')).toBe(0);
    expect(w.stderr()).toBe('');
    expect(stub.requests()).toBe(2);
  });

  it('NO_COLOR on a terminal: still redrawn in place, no colour; changes still marked by text', async () => {
    stub = await opsStub([
      [200, FIRST],
      [200, SECOND],
    ]);
    const w = startWatch(['tasks', '--watch', '--url', stub.url], {
      tty: true,
      env: { NO_COLOR: '1' },
    });
    await w.drawn();
    const out = await w.next(2);
    expect(out.startsWith(HIDE)).toBe(true);
    expect(framesOf(out)).toHaveLength(2);
    expect(out).not.toMatch(SGR);
    const rows = tableOf(linesOf(framesOf(out)[1] ?? ''));
    expect(rows.map((r) => [r[0], r[1], r[8]])).toEqual([
      ['*', 'checkVims', 'error'],
      [' ', 'syncInventory', 'ok'],
      ['+', 'purge', 'ok'],
    ]);
    w.stdin.type('q');
    expect(await w.result).toBe(EXIT.OK);
    expect(w.out().endsWith(SHOW)).toBe(true);
  });

  it('not a terminal: one plain table per refresh, no escape sequence at all; Ctrl-C typed is not read', async () => {
    stub = await opsStub([
      [200, FIRST],
      [200, SECOND],
    ]);
    const w = startWatch(['tasks', '--watch', '--url', stub.url, '--interval', '0.5'], {
      tty: false,
    });
    await w.drawn();
    const out = await w.next(0.5);
    expect(out).not.toContain('\x1b');
    const headers = out.split('\n').filter((l) => l.startsWith('conductor tasks  '));
    expect(headers).toEqual([
      `conductor tasks  ${stub.url}/tasks  2030-01-01 00:00:00Z`,
      `conductor tasks  ${stub.url}/tasks  2030-01-01 00:00:00Z`,
    ]);
    expect(out.endsWith('\n\n')).toBe(true);
    expect(out).toContain('every 0.5 s · 3 tasks');
    expect(out).not.toContain('q or Ctrl-C');
    expect(out).toMatch(/^\* checkVims /m);
    expect(out).toMatch(/^\+ purge /m);
    // the keyboard is not read when stdout is no terminal (the view is not interactive)
    expect(w.stdin.listenerCount('data')).toBe(0);
    w.signals.emit('SIGTERM');
    expect(await w.result).toBe(EXIT.OK);
  });

  it('FORCE_COLOR=1 colours a pipe (but never moves its cursor); FORCE_COLOR=0 turns a terminal plain', async () => {
    stub = await opsStub([[200, FIRST]]);
    const piped = startWatch(['tasks', '--watch', '--url', stub.url], {
      tty: false,
      env: { FORCE_COLOR: '1' },
    });
    const out = await piped.drawn();
    expect(out).toMatch(SGR);
    expect(out).not.toContain(HOME);
    expect(out).not.toContain(HIDE);
    piped.signals.emit('SIGINT');
    expect(await piped.result).toBe(EXIT.OK);

    const plain = startWatch(['tasks', '--watch', '--url', stub.url], {
      tty: true,
      env: { FORCE_COLOR: '0' },
    });
    const t = await plain.drawn();
    expect(t).toContain(HOME);
    expect(t).not.toMatch(SGR);
    plain.stdin.type('\x03'); // Ctrl-C in raw mode arrives as a byte
    expect(await plain.result).toBe(EXIT.OK);
    expect(plain.out().endsWith(SHOW)).toBe(true);
  });

  it('a refresh that fails is shown in the frame (the last good table kept), and the view goes on', async () => {
    stub = await opsStub([
      [200, FIRST],
      [503, { status: 'stopping' }],
      [200, SECOND],
    ]);
    const w = startWatch(['tasks', '--watch', '--url', stub.url], { tty: true });
    await w.drawn();
    const frames = framesOf(await w.next(2));
    const l2 = linesOf(frames[1] ?? '');
    expect(l2[2]).toBe(
      `error: ${stub.url}/tasks answered HTTP 503 (stopping) (the table is from the last good refresh)`,
    );
    expect(tableOf(l2).map((r) => r[1])).toEqual(['checkVims', 'syncInventory']);
    expect(frames[1]).toContain('\x1b[31m');
    const l3 = linesOf(framesOf(await w.next(2))[2] ?? '');
    expect(l3.some((l) => l.startsWith('error:'))).toBe(false);
    // compared with the last good refresh
    expect(tableOf(l3).map((r) => r.slice(0, 2))).toEqual([
      ['*', 'checkVims'],
      [' ', 'syncInventory'],
      ['+', 'purge'],
    ]);
  });

  it('--json: one JSON line per refresh (time, source, tasks), no escape sequence', async () => {
    stub = await opsStub([
      [200, FIRST],
      [200, SECOND],
    ]);
    const w = startWatch(['tasks', '--watch', '--url', stub.url, '--json'], { tty: true });
    await w.drawn();
    const out = await w.next(2);
    expect(out).not.toContain('\x1b');
    const lines = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; source: string; tasks: { name: string }[] });
    expect(lines.map((l) => [l.time, l.source, l.tasks.map((t) => t.name)])).toEqual([
      [iso(0), `${stub.url}/tasks`, ['checkVims', 'syncInventory']],
      [iso(2), `${stub.url}/tasks`, ['checkVims', 'syncInventory', 'purge']],
    ]);
  });
});

describe('conductor tasks --url (one shot)', () => {
  it('a table of the running service, JSON with --json; an unreachable endpoint exits 1 with one line', async () => {
    const stub = await opsStub([[200, FIRST]]);
    try {
      const io = (out: { s: string }) => ({
        stdout: { write: (s: string) => (out.s += s) },
        stderr: { write: (s: string) => (out.s += s) },
        exit: () => undefined,
        env: {},
        logStream: { write: () => undefined },
        now: () => new Date(T0 + 1000),
      });
      const t = { s: '' };
      expect(await runCli(['tasks', '--url', stub.url], io(t))).toBe(EXIT.OK);
      expect(t.s.split('\n')[0]).toMatch(
        /^TASK +PLACEMENT +EVERY +LAST RUN +TOOK +NEXT +LATE +OUTCOME +RUNS/,
      );
      expect(t.s).toMatch(/^checkVims +every-replica +2 s +1\.0 s ago +0\.012 s +in 1\.0 s /m);
      expect(t.s).not.toContain('\x1b');
      const j = { s: '' };
      expect(
        await runCli(['tasks', '--url', stub.url.replace('http://', ''), '--json'], io(j)),
      ).toBe(EXIT.OK);
      expect(JSON.parse(j.s)).toEqual(FIRST);
    } finally {
      await stub.close();
    }
    const port = await freePort();
    const e = { s: '' };
    const code = await runCli(['tasks', '--url', `http://127.0.0.1:${port}`], {
      stdout: { write: (s: string) => (e.s += s) },
      stderr: { write: (s: string) => (e.s += s) },
      exit: () => undefined,
      env: {},
      logStream: { write: () => undefined },
    });
    expect(code).toBe(EXIT.FAILURE);
    expect(e.s).toBe(
      `conductor: cannot reach the ops endpoint http://127.0.0.1:${port}/tasks: ECONNREFUSED\n`,
    );
  });

  it('usage errors: --manager with --watch, a bad --interval, --watch with [ops] listen = 0', async () => {
    const run = async (argv: string[]): Promise<[number, string]> => {
      let err = '';
      const code = await runCli(argv, {
        stdout: { write: () => undefined },
        stderr: { write: (s: string) => (err += s) },
        exit: () => undefined,
        env: {},
        logStream: { write: () => undefined },
      });
      return [code, err];
    };
    expect(await run(['tasks', '--watch', '--manager', './x.js#X'])).toEqual([
      EXIT.USAGE,
      'conductor: --manager lists the tasks of a class; --url and --watch read those of a running service: give one or the other\n',
    ]);
    expect(await run(['tasks', '--watch', '--interval', '0'])).toEqual([
      EXIT.USAGE,
      "conductor: option '--interval <seconds>' argument '0' is invalid. must be a number of seconds from 0.1 to 3600\n",
    ]);
    expect(await run(['tasks', '--watch', '--set', 'ops.listen=0'])).toEqual([
      EXIT.USAGE,
      'conductor: the ops endpoint is disabled ([ops] listen = "0"): give the endpoint with --url http://host:port\n',
    ]);
  });
});

const hasScript = existsSync('/usr/bin/script');

/** The environment of the pseudo-terminal run: a colour terminal, no colour override. */
function terminalEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env['NO_COLOR'];
  delete env['FORCE_COLOR'];
  return env;
}

describe('conductor tasks --watch (real processes, a pseudo-terminal)', () => {
  beforeAll(() => ensureBuilt(), 120_000);
  const procs: ChildProcess[] = [];
  afterEach(() => {
    for (const p of procs.splice(0))
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  it.runIf(hasScript)(
    'the built CLI in `script` against a running conductor: two frames, SIGINT, exit 0, the cursor shown last',
    async () => {
      const port = await freePort();
      const service = spawn(
        process.execPath,
        [
          join(ROOT, 'dist/src/cli/main.js'),
          'run',
          '--manager',
          `${join(ROOT, 'test/fixtures/cli/manager.mjs')}#FixtureManager`,
          '--topic',
          'CLI_WATCH',
          '--host',
          'watch-1',
          '--set',
          `transport_url=memory://cli-watch`,
          '--set',
          `ops.listen=127.0.0.1:${port}`,
          '--set',
          'report_interval=0',
          '--set',
          'periodic_fuzzy_delay=0',
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      procs.push(service);
      let log = '';
      service.stdout?.on('data', (d: Buffer) => (log += d.toString('utf8')));
      await vi.waitFor(
        () => {
          if (!log.includes('"msg":"Service started"')) throw new Error(`not started: ${log}`);
        },
        { timeout: 15_000, interval: 50 },
      );

      const command = `exec '${process.execPath}' '${join(ROOT, 'dist/src/cli/main.js')}' tasks --watch --url http://127.0.0.1:${port} --interval 0.3`;
      const term = spawn('script', ['-qefc', command, '/dev/null'], {
        cwd: ROOT,
        env: terminalEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      procs.push(term);
      let out = '';
      term.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
      const exited = new Promise<number | null>((resolve) =>
        term.on('exit', (code) => resolve(code)),
      );
      await vi.waitFor(
        () => {
          if (out.split(HOME).length < 3)
            throw new Error(`fewer than two frames: ${JSON.stringify(out)}`);
        },
        { timeout: 15_000, interval: 50 },
      );
      expect(out.startsWith(HIDE)).toBe(true);
      const frames = framesOf(out);
      expect(linesOf(frames[0] ?? '')[0]).toMatch(
        new RegExp(
          `^conductor tasks  http://127\\.0\\.0\\.1:${port}/tasks  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
        ),
      );
      expect(stripAnsi(frames[1] ?? '')).toMatch(/^[ *] tick +every-replica +1 s /m);
      expect(frames[1]).toMatch(SGR); // a terminal, no NO_COLOR: colours

      // the CLI is the child of `script` (exec'd by its shell)
      const pid = Number(
        execFileSync('ps', ['-o', 'pid=', '--ppid', String(term.pid)], { encoding: 'utf8' }).trim(),
      );
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGINT');
      expect(await exited).toBe(0);
      expect(out.trimEnd().endsWith(SHOW)).toBe(true);
      service.kill('SIGTERM');
    },
    40_000,
  );
});
