import { describe, expect, it } from 'vitest';
import { runConformance, CASE_ORDER } from '../../interop/conformance-client.js';
import { startReferenceServer } from '../../interop/reference-server.js';
import { RABBIT_URL, reachable, requireService } from '../helpers/services.js';
import {
  deleteTopology,
  hasOslo,
  names,
  pythonClient,
  pythonServer,
  stopChild,
} from './helpers.js';

const ready = await requireService(
  'RabbitMQ on 127.0.0.1:5672 and python3-oslo.messaging',
  (await reachable(5672)) && hasOslo(),
);

describe.skipIf(!ready)('interop with Python oslo.messaging over RabbitMQ', () => {
  it('the TypeScript reference server passes every case of rpc_client.py', async () => {
    const n = names('tacker-it', 'conductor-it');
    const server = await startReferenceServer({ url: RABBIT_URL, ...n });
    try {
      const { code, out } = await pythonClient(n);
      expect(out, out).toContain(`${CASE_ORDER.length} passed, 0 failed`);
      expect(code).toBe(0);
    } finally {
      await server.stop();
      await deleteTopology(n);
    }
  }, 90_000);

  it('the TypeScript conformance client passes every case against rpc_server.py', async () => {
    const n = names('tacker-it', 'conductor-it');
    const child = await pythonServer(n);
    try {
      const lines: string[] = [];
      const { passed, failed } = await runConformance({ url: RABBIT_URL, ...n, timeout: 10 }, (l) =>
        lines.push(l),
      );
      expect(
        lines.filter((l) => l.startsWith('FAIL')),
        lines.join('\n'),
      ).toEqual([]);
      expect([passed, failed]).toEqual([CASE_ORDER.length, 0]);
      expect(lines.at(-1)).toBe(`${CASE_ORDER.length} passed, 0 failed`);
    } finally {
      await stopChild(child);
      await deleteTopology(n);
    }
  }, 90_000);
});
