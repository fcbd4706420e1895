/**
 * Issue 16, scenario 1, fast variant: the broker closes every connection, then stops and starts,
 * under load (16 callers, confirmed casts on durable queues, a periodic task), against a service
 * in a child process; on a private RabbitMQ node, so no other test file sees the faults. Runs the
 * built script (bench/faults/broker.ts; `npm run bench:faults` runs it longer): `npm run build`
 * first (CI does).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseResult } from '../../bench/faults/result.js';
import { hasRabbitServer } from '../helpers/rabbit-node.js';
import { requireService } from '../helpers/services.js';

const SCRIPT = fileURLToPath(new URL('../../dist/bench/faults/broker.js', import.meta.url));
const ready = await requireService('rabbitmq-server (a private node)', hasRabbitServer());
const run = promisify(execFile);

interface BrokerData {
  faults: { fault: string; back: number | null; zombies: number }[];
  calls: { ok: number; failed: Record<string, number>; hung: number };
  longestCallMs: number;
  casts: { sent: number; confirmed: number; lost: number; refused: Record<string, number> };
  zombies: number;
  consumersAsAtStart: boolean;
  taskRuns: number;
  longestTaskGap: number;
  exitStatus: number | null;
}

describe.skipIf(!ready)('broker faults under load', () => {
  it('loses no confirmed cast, hangs no call, and gets every consumer back', async () => {
    if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run npm run build first`);
    const { stdout } = await run(
      process.execPath,
      [SCRIPT, '--rounds', '1', '--casts', '1500', '--settle', '1.5', '--outage', '2'],
      { timeout: 150_000, maxBuffer: 1 << 24 },
    );
    const r = parseResult<BrokerData>(stdout);
    const d = r.data;
    expect(d.faults.map((f) => f.fault)).toEqual(['close_all_connections', 'stop_app']);
    // Every consumer came back (the same queues, as many consumers), within 5 s, none doubled.
    for (const f of d.faults) {
      expect(f.back, f.fault).not.toBeNull();
      expect(f.back as number, f.fault).toBeLessThanOrEqual(5);
      expect(f.zombies, f.fault).toBe(0);
    }
    expect(d.consumersAsAtStart).toBe(true);
    // Calls: none hung. The only failures: MessagingTimeout (sent, the request or its reply lost
    // with the connection) and MessageDeliveryFailure (never sent: no connection within the
    // call's timeout, so a retry is safe).
    expect(d.calls.hung).toBe(0);
    expect(d.calls.ok).toBeGreaterThan(100);
    const expected = ['MessagingTimeout', 'MessageDeliveryFailure'];
    expect(Object.keys(d.calls.failed).filter((k) => !expected.includes(k))).toEqual([]);
    expect(d.longestCallMs).toBeLessThan(5000 + 2000);
    // Casts: every confirmed one was handled; refusals (the caller was told) only if any.
    expect(d.casts.sent).toBe(1500);
    expect(d.casts.lost).toBe(0);
    expect(d.casts.confirmed).toBeGreaterThan(1400);
    // The periodic task kept its 1 s spacing through the faults; the server stopped cleanly.
    expect(d.taskRuns).toBeGreaterThan(5);
    expect(d.longestTaskGap).toBeLessThan(2.5);
    expect(d.exitStatus).toBe(0);
  }, 180_000);
});
