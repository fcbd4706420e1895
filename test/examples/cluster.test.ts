/**
 * `examples/cluster.ts` (`npm run example:cluster`), run as it is built (`node
 * dist/examples/cluster.js`) on the real RabbitMQ and PostgreSQL (both required under CI=true):
 * it exits 0 by itself, its lines show three members and then, after it stops one conductor, two;
 * after the stop every VIM is probed (by the conductor whose shard holds it, as the survivors'
 * own run reports agree), and what it made is gone afterwards (its PostgreSQL schema, its RabbitMQ
 * queues).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { pgAdmin, reachable, requirePostgres, requireService } from '../helpers/services.js';

const rabbit = await requireService('RabbitMQ on 127.0.0.1:5672', await reachable(5672));
const postgres = await requirePostgres();

const SOURCE = join(ROOT, 'examples/cluster.ts');
const BUILT = join(ROOT, 'dist/examples/cluster.js');

/** The VIM numbers and counts of one status line, per conductor. */
function shardsOf(line: string): Map<string, { vims: string[]; count: number; ran: number }> {
  const out = new Map<string, { vims: string[]; count: number; ran: number }>();
  for (const m of line.matchAll(/(conductor-\d): ([\d ]*?)\s*\((\d+) ran (\d+)\)/g)) {
    out.set(m[1] as string, {
      vims: (m[2] as string).split(' ').filter(Boolean),
      count: Number(m[3]),
      ran: Number(m[4]),
    });
  }
  return out;
}

describe.runIf(rabbit && postgres)('examples/cluster (RabbitMQ + PostgreSQL)', () => {
  beforeAll(() => {
    ensureBuilt();
    if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < statSync(SOURCE).mtimeMs)
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }, 180_000);

  it('three conductors, then two after a SIGTERM; every VIM probed after the stop; exit 0 and nothing left behind', async () => {
    const proc = spawn(process.execPath, [BUILT], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
      proc.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const took = (Date.now() - t0) / 1000;
    const context = `after ${took.toFixed(1)} s:\n${out}`;
    expect(code, context).toBe(0);
    expect(took, context).toBeLessThan(45);

    const lines = out.split('\n');
    // a dashboard URL per conductor
    const dashboards = lines.filter((l) =>
      /started; dashboard http:\/\/127\.0\.0\.1:\d+\/$/.test(l),
    );
    expect(dashboards, context).toHaveLength(3);

    const stopAt = lines.findIndex((l) => l.includes('-- stopping conductor-2 (SIGTERM)'));
    expect(stopAt, context).toBeGreaterThan(0);
    const three = lines.slice(0, stopAt).filter((l) => / {2}3 members \| /.test(l));
    const two = lines.slice(stopAt).filter((l) => / {2}2 members \| /.test(l));
    expect(three.length, context).toBeGreaterThanOrEqual(5);
    expect(two.length, context).toBeGreaterThanOrEqual(5);
    expect(
      lines.slice(stopAt).some((l) => / {2}3 members \| /.test(l)),
      context,
    ).toBe(false);

    // Before: the twelve VIMs split between the three; after: between conductor-1 and -3 only.
    const all = Array.from({ length: 12 }, (_, i) => String(i + 1).padStart(2, '0'));
    const before = shardsOf(three.at(-1) as string);
    expect([...before.keys()].sort()).toEqual(['conductor-1', 'conductor-2', 'conductor-3']);
    expect([...before.values()].flatMap((s) => s.vims).sort()).toEqual(all);
    const after = shardsOf(two.at(-1) as string);
    expect([...after.keys()].sort()).toEqual(['conductor-1', 'conductor-3']);
    expect([...after.values()].flatMap((s) => s.vims).sort()).toEqual(all);
    // the VIMs of the stopped one moved; the others' stayed where they were (a hash ring)
    for (const [host, s] of after) {
      for (const v of before.get(host)?.vims ?? []) expect(s.vims).toContain(v);
    }
    // each survivor's own last run probed as many VIMs as the ring gives it
    for (const s of after.values()) expect(s.ran).toBe(s.count);

    // every VIM was probed after the stop (its endpoint saw it), by the two left
    expect(out, context).toMatch(
      /summary: members 3 -> 2 \([\d.]+ s after the stop\); after the stop every VIM probed: 12\/12 \(conductor-1 ran \d+, conductor-3 ran \d+\)/,
    );
    expect(out).toMatch(/ {2}2 members \| .*\| probed 12\/12 in 1\.5 s/);

    // nothing left behind
    const run =
      /run ([0-9a-f]{6}): topic (CLUSTER_DEMO_[0-9A-F]{6}), control_exchange (\S+), PostgreSQL schema (\S+)/.exec(
        out,
      );
    expect(run, context).not.toBeNull();
    const [, , topic, , schema] = run as RegExpExecArray;
    expect(out).toContain(`removed PostgreSQL schema ${schema}`);
    const schemas = await pgAdmin((c) =>
      c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]),
    );
    expect(schemas.rowCount).toBe(0);
    const conn = await connect('amqp://guest:guest@127.0.0.1:5672');
    try {
      for (const q of [topic, `${topic}.conductor-1`, `${topic}.conductor-3`]) {
        const ch = await conn.createChannel();
        ch.on('error', () => undefined);
        await expect(ch.checkQueue(q as string)).rejects.toThrow(/NOT_FOUND/);
      }
    } finally {
      await conn.close().catch(() => undefined);
    }
    expect(out).toMatch(/done, exit 0\n$/);
  }, 120_000);
});
