/**
 * Reliability figures (issue 16): runs each fault scenario that has a script, bounded in time and
 * count, on loopback, and prints a markdown table with the figures (RELIABILITY.md records them).
 *
 *   npm run bench:faults [-- --only broker,malformed] [--count 100000 --rounds 3]
 *
 * Scenarios (each a script of this folder printing one `RESULT` line, run in a process of its own,
 * one after another):
 * - broker (broker.ts): the broker closes every connection, then stops and starts, under load, on
 *   a private RabbitMQ node;
 * - shutdown (shutdown.ts): SIGTERM under load, past the timeout, with workers, SIGHUP;
 * - postgres (postgres.ts): PostgreSQL restarted while `update_vim` calls arrive, on a private
 *   cluster;
 * - malformed (malformed.ts): a storm of bad messages of 27 kinds plus 10 MiB calls against a
 *   server in a child process, while a client keeps calling it; repeated `--rounds` times against
 *   the same server to show whether its RSS stays flat;
 * - security (security.ts): TLS to a private RabbitMQ node's TLS listener; the password in no line
 *   of a run's output.
 * The configuration and input table (scenario 5) is test/reliability/config-input.test.ts.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { fmt, markdownTable } from '../lib/stats.js';
import { type FaultResult, parseResult } from './result.js';

const SCENARIOS = ['broker', 'shutdown', 'postgres', 'malformed', 'security'] as const;

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string', default: SCENARIOS.join(',') },
    count: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    big: { type: 'string', default: '4' },
  },
  strict: true,
});
const HERE = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

interface Storm {
  messages: number;
  rounds: number;
  seconds: number;
  replies: number;
  expectedReplies: number;
  failureReplies: number;
  expectedFailureReplies: number;
  rssAfterRound: number[];
  heapBefore: number;
  heapAfterRound: number[];
  validErrors: string[];
  valid: { ok: number; failed: number; p50: number; p99: number };
  server: { rssBefore: number; rssAfter: number; alive: boolean; polluted: boolean };
  clientPolluted: boolean;
}

async function malformed(): Promise<Storm> {
  const { stdout } = await run(
    process.execPath,
    [
      join(HERE, 'malformed.js'),
      `--count=${opts.count}`,
      `--rounds=${opts.rounds}`,
      `--big=${opts.big}`,
    ],
    { timeout: 900_000, maxBuffer: 1 << 26 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`malformed.js printed no RESULT:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as Storm;
}

const mib = (b: number): string => fmt(b / 2 ** 20, 1);

const ok = (b: boolean): string => (b ? 'yes' : '**no**');

/** The malformed-traffic rows (its script predates the shared RESULT shape). */
async function malformedRows(): Promise<{ rows: string[][]; notes: string[] }> {
  process.stderr.write(`malformed traffic: ${opts.count} messages × ${opts.rounds} rounds\n`);
  const m = await malformed();
  return {
    rows: [
      ['malformed traffic', 'messages (rounds)', `${fmt(m.messages, 0)} (${m.rounds})`, ''],
      ['', 'server crashes', m.server.alive ? '0' : '1', ok(m.server.alive)],
      [
        '',
        'replies to messages with a reply address',
        `${fmt(m.replies, 0)} of ${fmt(m.expectedReplies, 0)}`,
        ok(m.replies === m.expectedReplies),
      ],
      [
        '',
        'of which failures (refused)',
        `${fmt(m.failureReplies, 0)} (≥ ${fmt(m.expectedFailureReplies, 0)} expected)`,
        ok(m.failureReplies >= m.expectedFailureReplies),
      ],
      [
        '',
        'valid calls during the storm: ok / failed (p50, p99 ms)',
        `${fmt(m.valid.ok, 0)} / ${m.valid.failed} (${m.valid.p50}, ${m.valid.p99})`,
        ok(m.valid.failed === 0 && m.valid.ok > 0),
      ],
      [
        '',
        'server RSS MiB: start → after each round',
        `${mib(m.server.rssBefore)} → ${m.rssAfterRound.map(mib).join(' → ')}`,
        '',
      ],
      [
        '',
        'server heap in use after a full GC, MiB: start → after each round',
        `${mib(m.heapBefore)} → ${m.heapAfterRound.map(mib).join(' → ')}`,
        ok(Math.max(...m.heapAfterRound) < m.heapBefore + 8 * 2 ** 20),
      ],
      [
        '',
        'prototypes polluted (server, client)',
        `${m.server.polluted ? 1 : 0}, ${m.clientPolluted ? 1 : 0}`,
        ok(!m.server.polluted && !m.clientPolluted),
      ],
      ['', 'seconds', fmt(m.seconds, 1), ''],
    ],
    notes: m.validErrors.map((e) => `valid call failed: ${e}`),
  };
}

/** Runs `<name>.js` of this folder and reads its RESULT line. */
async function scenario(name: string, args: string[] = []): Promise<FaultResult> {
  process.stderr.write(`${name}: running\n`);
  const { stdout } = await run(process.execPath, [join(HERE, `${name}.js`), ...args], {
    timeout: 900_000,
    maxBuffer: 1 << 26,
  });
  return parseResult(stdout);
}

async function main(): Promise<void> {
  const only = opts.only.split(',');
  const unknown = only.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}`);
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const name of SCENARIOS) {
    if (!only.includes(name)) continue;
    if (name === 'malformed') {
      const m = await malformedRows();
      rows.push(...m.rows);
      notes.push(...m.notes);
      continue;
    }
    const r = await scenario(name);
    r.figures.forEach((f, i) =>
      rows.push([
        i === 0 ? r.scenario : '',
        f.figure,
        f.measured,
        f.ok === undefined ? '' : ok(f.ok),
      ]),
    );
    if (!r.figures.some((f) => f.figure === 'seconds'))
      rows.push(['', 'seconds', fmt(r.seconds, 1), '']);
    notes.push(...(r.notes ?? []).map((n) => `${r.scenario}: ${n}`));
  }
  console.log(
    [
      `Reliability figures, ${new Date().toISOString()}; Node ${process.version}.`,
      '',
      markdownTable(['scenario', 'figure', 'measured', 'as promised'], rows),
      ...(notes.length > 0 ? ['', ...notes.map((n) => `- ${n}`)] : []),
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
