import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getAdminContext, VirtualClock } from '../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  RemoteError,
  RpcClient,
  type RpcDispatchEvent,
  Target,
  type Transport,
  UNKNOWN_METHOD,
} from '../../src/messaging/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

const ctx = getAdminContext();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class Endpoint {
  readonly target = new Target({ version: '1.0' });
  constructor(private readonly clock?: VirtualClock) {}
  echo(_c: unknown, args: { value: unknown }): unknown {
    return args.value;
  }
  fail(): never {
    throw new Error('boom');
  }
  async slow(): Promise<string> {
    await this.clock?.sleep(3);
    return 'done';
  }
}

async function setup(
  onDispatch: (e: RpcDispatchEvent) => void,
  clock?: VirtualClock,
): Promise<{
  transport: Transport;
  client: RpcClient;
  lines: ReturnType<typeof captureLogs>['lines'];
}> {
  const { logger, lines } = captureLogs();
  const transport = await getRpcTransport({
    transportUrl: `memory://${randomUUID()}`,
    logger,
    ...(clock ? { clock } : {}),
  });
  cleanups.push(() => transport.close());
  const server = getRpcServer(transport, { topic: 'T', server: 'h' }, [new Endpoint(clock)], {
    onDispatch,
  });
  await server.start();
  cleanups.push(async () => {
    await server.stop();
    await server.wait();
  });
  return { transport, client: new RpcClient(transport, { topic: 'T' }, { timeout: 30 }), lines };
}

describe('RpcServerOptions.onDispatch', () => {
  it('reports each call once, after the reply, with its outcome', async () => {
    const events: RpcDispatchEvent[] = [];
    const { client } = await setup((e) => events.push(e));
    expect(await client.call(ctx, 'echo', { value: 1 })).toBe(1);
    // The observer runs once the reply is sent, which may be just after the caller has it.
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events).toEqual([
      { method: 'echo', outcome: 'ok', duration: expect.any(Number), isCall: true },
    ]);
    await expect(client.call(ctx, 'fail')).rejects.toBeInstanceOf(RemoteError);
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toMatchObject({ method: 'fail', outcome: 'error', isCall: true });
    expect(events).toHaveLength(2);
  });

  it('labels refused requests naming no served method _unknown_, so clients cannot mint labels', async () => {
    const events: RpcDispatchEvent[] = [];
    const { client, transport } = await setup((e) => events.push(e));
    await expect(client.call(ctx, `no_such_${randomUUID()}`)).rejects.toThrow();
    await expect(client.prepare({ version: '2.0' }).call(ctx, 'echo')).rejects.toThrow();
    await expect(client.call(ctx, 'constructor')).rejects.toThrow();
    const malformed = transport.driver.send(
      new Target({ topic: 'T' }),
      ctx.toDict() as unknown as Record<string, unknown>,
      { method: 5 },
      { waitForReply: true, timeout: 5 },
    );
    await expect(malformed).rejects.toBeInstanceOf(RemoteError);
    await vi.waitFor(() => expect(events).toHaveLength(4));
    expect(events.map((e) => [e.method, e.outcome])).toEqual([
      [UNKNOWN_METHOD, 'refused'],
      [UNKNOWN_METHOD, 'refused'],
      [UNKNOWN_METHOD, 'refused'],
      [UNKNOWN_METHOD, 'refused'],
    ]);
    expect(UNKNOWN_METHOD).toBe('_unknown_');
  });

  it('reports casts after their dispatch, with isCall false', async () => {
    const events: RpcDispatchEvent[] = [];
    const { client } = await setup((e) => events.push(e));
    await client.cast(ctx, 'echo', { value: 2 });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ method: 'echo', outcome: 'ok', isCall: false });
  });

  it("measures the duration on the transport's clock", async () => {
    const clock = new VirtualClock(100);
    const events: RpcDispatchEvent[] = [];
    const { client } = await setup((e) => events.push(e), clock);
    const call = client.call(ctx, 'slow');
    await clock.advance(5);
    expect(await call).toBe('done');
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events).toEqual([{ method: 'slow', outcome: 'ok', duration: 3, isCall: true }]);
  });

  it('an observer that throws is logged and never breaks the server', async () => {
    const { client, lines } = await setup(() => {
      throw new Error('observer bug');
    });
    expect(await client.call(ctx, 'echo', { value: 'a' })).toBe('a');
    expect(await client.call(ctx, 'echo', { value: 'b' })).toBe('b');
    const logged = () =>
      lines.filter((l) => l.level === LEVEL.error && l.msg === 'onDispatch observer failed');
    await vi.waitFor(() => expect(logged()).toHaveLength(2));
    expect(logged()[0]?.err?.message).toBe('observer bug');
  });
});
