/**
 * Issue 16, scenario 4, fast variant: a storm of malformed messages of every kind (bench/faults/
 * malformed.ts; `npm run bench:faults` runs 100,000) against a conductor-ts server in a child
 * process, while a client keeps calling it. Runs the built script (`npm run build` first; CI does).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { reachable, requireService } from '../helpers/services.js';

const SCRIPT = fileURLToPath(new URL('../../dist/bench/faults/malformed.js', import.meta.url));
const ready = await requireService('RabbitMQ on 127.0.0.1:5672', await reachable(5672));
const run = promisify(execFile);

interface Storm {
  messages: number;
  replies: number;
  expectedReplies: number;
  failureReplies: number;
  expectedFailureReplies: number;
  valid: { ok: number; failed: number };
  server: { alive: boolean; polluted: boolean; echoes: number };
  clientPolluted: boolean;
}

describe.skipIf(!ready)('malformed traffic', () => {
  it('answers what it can, drops the rest, keeps serving valid calls and pollutes nothing', async () => {
    if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run npm run build first`);
    const { stdout } = await run(process.execPath, [SCRIPT, '--count', '3000', '--big', '1'], {
      timeout: 120_000,
      maxBuffer: 1 << 24,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, stdout).toBeDefined();
    const r = JSON.parse((line as string).slice('RESULT '.length)) as Storm;
    expect(r.messages).toBe(3001);
    // Every message naming a usable reply address was answered, every refusal as a failure.
    expect(r.replies).toBe(r.expectedReplies);
    expect(r.failureReplies).toBeGreaterThanOrEqual(r.expectedFailureReplies);
    expect(r.valid.failed).toBe(0);
    expect(r.valid.ok).toBeGreaterThan(0);
    expect(r.server).toMatchObject({ alive: true, polluted: false });
    expect(r.clientPolluted).toBe(false);
  }, 150_000);
});
