/**
 * `conductor members --watch`: the live view of a group's members. In-process, on a named
 * `memory://` space shared with the replicas the test joins (no backend needed), the refreshes
 * driven by a virtual clock: a member that joins is marked `+`, one that leaves is shown once as
 * `-` with the status `left`, moved shares are highlighted; escape sequences only on a terminal,
 * colours only without NO_COLOR; SIGINT / `q` end it with exit 0 and the cursor shown. Without
 * --watch the command stays one-shot (scriptable), `--json` included.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stripAnsi } from '../../../src/cli/ansi.js';
import { EXIT, runCli } from '../../../src/cli/index.js';
import { type Coordinator, getCoordinator } from '../../../src/coordination/index.js';
import { VirtualClock } from '../../../src/core/index.js';
import { captureLogs } from '../../helpers/log-capture.js';

const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const HOME = '\x1b[H';
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[\d+(;\d+)*m/;
const T0 = Date.UTC(2030, 0, 1);
const GROUP = 'WATCHED';

const started: Coordinator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop().catch(() => undefined)));
});

/** A replica joined to {@link GROUP} on the space `url`. */
async function member(url: string, memberId: string): Promise<Coordinator> {
  const c = getCoordinator(url, {
    memberId,
    leaseTtl: 30,
    heartbeatInterval: 5,
    logger: captureLogs().logger,
  });
  await c.start();
  started.push(c);
  await c.join(GROUP);
  return c;
}

class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  setRawMode(): void {}
}

function startWatch(argv: string[], o: { tty: boolean; env?: NodeJS.ProcessEnv }) {
  const clock = new VirtualClock();
  const signals = new EventEmitter();
  const stdin = new FakeStdin();
  let out = '';
  let err = '';
  const result = runCli(argv, {
    stdout: { write: (s: string) => (out += s), isTTY: o.tty },
    stderr: { write: (s: string) => (err += s) },
    exit: () => undefined,
    env: o.env ?? {},
    logStream: { write: () => undefined },
    signalTarget: signals,
    stdin,
    clock,
    now: () => new Date(T0 + clock.now() * 1000),
  });
  const frame = async (before: number): Promise<string> => {
    await vi.waitFor(
      () => {
        if (clock.pending !== 1 || out.length === before)
          throw new Error(`no new frame: ${JSON.stringify(out)} ${err}`);
      },
      { timeout: 5000, interval: 5 },
    );
    return out;
  };
  return {
    clock,
    signals,
    stdin,
    result,
    out: () => out,
    err: () => err,
    first: () => frame(0),
    next: async (seconds = 2) => {
      const before = out.length;
      await clock.advance(seconds);
      return frame(before);
    },
  };
}

/** [marker, member, share, status] of each row of the last frame (terminal or not). */
function rowsOfLast(out: string): string[][] {
  const text = stripAnsi(out);
  const last = text.slice(text.lastIndexOf('conductor members  '));
  const lines = last.split(/\r?\n/).map((l) => l.trimEnd());
  const head = lines.findIndex((l) => l.startsWith('  MEMBER'));
  return lines
    .slice(head + 1)
    .filter((l) => l !== '')
    .map((l) => [l.slice(0, 1), ...l.slice(2).split(/\s{2,}/)]);
}

const pct = (cell: string | undefined): number => Number(/^([\d.]+) %$/.exec(cell ?? '')?.[1]);

describe('conductor members --watch (in-process, memory:// space, virtual clock)', () => {
  it('on a terminal: joins marked +, moved shares highlighted, a member that left shown once as left; SIGINT exits 0', async () => {
    const url = `memory://members-watch-${randomUUID()}`;
    await member(url, 'node-a');
    const b = await member(url, 'node-b');
    const w = startWatch(
      ['members', '--watch', '--group', GROUP, '--set', `coordination.backend_url=${url}`],
      { tty: true },
    );
    const f1 = await w.first();
    expect(f1.startsWith(`${HIDE}${HOME}`)).toBe(true);
    expect(f1).toMatch(SGR);
    const head = stripAnsi(f1).split('\n');
    expect(head[0]?.trimEnd()).toBe(
      `conductor members  ${url} group ${GROUP}  2030-01-01 00:00:00Z`,
    );
    expect(head[1]?.trimEnd()).toBe(
      `every 2 s · q or Ctrl-C to quit · group ${GROUP} · 2 live members`,
    );
    const r1 = rowsOfLast(f1);
    expect(r1.map((r) => [r[0], r[1], r[3]])).toEqual([
      [' ', 'node-a', 'live'],
      [' ', 'node-b', 'live'],
    ]);
    expect(pct(r1[0]?.[2]) + pct(r1[1]?.[2])).toBeCloseTo(100, 0);

    await member(url, 'node-c');
    const f2 = await w.next();
    const r2 = rowsOfLast(f2);
    expect(r2.map((r) => [r[0], r[1], r[3]])).toEqual([
      ['*', 'node-a', 'live'],
      ['*', 'node-b', 'live'],
      ['+', 'node-c', 'live'],
    ]);
    const frame2 = f2.slice(f2.lastIndexOf(HOME));
    // the moved share is bold yellow, the joined member green, the status word green text
    // eslint-disable-next-line no-control-regex
    expect(frame2).toMatch(/\x1b\[1m\x1b\[33m[\d.]+ %/);
    expect(frame2).toContain('\x1b[32mnode-c');

    await b.leave(GROUP);
    const f3 = await w.next();
    const r3 = rowsOfLast(f3);
    expect(r3.map((r) => [r[0], r[1], r[2], r[3]])).toEqual([
      ['*', 'node-a', r3[0]?.[2], 'live'],
      ['*', 'node-c', r3[1]?.[2], 'live'],
      ['-', 'node-b', '-', 'left'],
    ]);
    expect(stripAnsi(f3.slice(f3.lastIndexOf(HOME)))).toContain('2 live members');
    expect(f3.slice(f3.lastIndexOf(HOME))).toContain('\x1b[31m\x1b[2mnode-b');

    const f4 = await w.next();
    expect(rowsOfLast(f4).map((r) => [r[0], r[1]])).toEqual([
      [' ', 'node-a'],
      [' ', 'node-c'],
    ]);

    w.signals.emit('SIGINT');
    expect(await w.result).toBe(EXIT.OK);
    expect(w.out().endsWith(SHOW)).toBe(true);
    expect(w.signals.listenerCount('SIGINT')).toBe(0);
    // memory:// is private to a process: the command says so (here the space is shared in-process)
    expect(w.err()).toMatch(/^conductor: \[coordination\] backend_url is memory:\/\//);
  });

  it('NO_COLOR: no colour, the marks and words still there; `q` quits', async () => {
    const url = `memory://members-watch-${randomUUID()}`;
    await member(url, 'node-a');
    const w = startWatch(
      ['members', '--watch', '--group', GROUP, '--set', `coordination.backend_url=${url}`],
      { tty: true, env: { NO_COLOR: '1' } },
    );
    await w.first();
    await member(url, 'node-b');
    const out = await w.next();
    expect(out).toContain(HOME);
    expect(out).not.toMatch(SGR);
    expect(rowsOfLast(out).map((r) => [r[0], r[1], r[3]])).toEqual([
      ['*', 'node-a', 'live'],
      ['+', 'node-b', 'live'],
    ]);
    w.stdin.emit('data', 'q');
    expect(await w.result).toBe(EXIT.OK);
    expect(w.out().endsWith(SHOW)).toBe(true);
  });

  it('not a terminal: plain tables appended, no escape sequence; --json: one line per refresh', async () => {
    const url = `memory://members-watch-${randomUUID()}`;
    await member(url, 'node-a');
    const plain = startWatch(
      ['members', '--watch', '--group', GROUP, '--set', `coordination.backend_url=${url}`],
      { tty: false },
    );
    await plain.first();
    await member(url, 'node-b');
    const out = await plain.next();
    expect(out).not.toContain('\x1b');
    expect(out.split('\n').filter((l) => l.startsWith('conductor members  '))).toHaveLength(2);
    expect(rowsOfLast(out).map((r) => [r[0], r[1]])).toEqual([
      ['*', 'node-a'],
      ['+', 'node-b'],
    ]);
    plain.signals.emit('SIGTERM');
    expect(await plain.result).toBe(EXIT.OK);

    const j = startWatch(
      [
        'members',
        '--watch',
        '--json',
        '--interval',
        '1',
        '--group',
        GROUP,
        '--set',
        `coordination.backend_url=${url}`,
      ],
      { tty: true },
    );
    await j.first();
    await member(url, 'node-c');
    const lines = (await j.next(1))
      .trimEnd()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            time: string;
            source: string;
            group: string;
            members: { member: string; share: number }[];
          },
      );
    expect(lines.map((l) => [l.time, l.group, l.members.map((m) => m.member)])).toEqual([
      ['2030-01-01T00:00:00.000Z', GROUP, ['node-a', 'node-b']],
      ['2030-01-01T00:00:01.000Z', GROUP, ['node-a', 'node-b', 'node-c']],
    ]);
    expect(lines[1]?.members.reduce((s, m) => s + m.share, 0)).toBeCloseTo(1, 6);
    j.signals.emit('SIGINT');
    expect(await j.result).toBe(EXIT.OK);
  });

  it('without --watch: one-shot even on a terminal; --json is --format json', async () => {
    const url = `memory://members-watch-${randomUUID()}`;
    await member(url, 'node-a');
    const once = async (extra: string[], tty: boolean): Promise<[number, string]> => {
      let out = '';
      const code = await runCli(
        ['members', '--group', GROUP, '--set', `coordination.backend_url=${url}`, ...extra],
        {
          stdout: { write: (s: string) => (out += s), isTTY: tty },
          stderr: { write: () => undefined },
          exit: () => undefined,
          env: {},
          logStream: { write: () => undefined },
        },
      );
      return [code, out];
    };
    const [code, table] = await once([], true);
    expect(code).toBe(EXIT.OK);
    expect(table).toBe('MEMBER  SHARE OF KEYS\nnode-a  100.0 %\n');
    const [, a] = await once(['--json'], false);
    const [, b] = await once(['--format', 'json'], false);
    expect(a).toBe(b);
    expect(JSON.parse(a)).toEqual({
      group: GROUP,
      backend: url,
      members: [{ member: 'node-a', share: 1 }],
    });
  });
});
