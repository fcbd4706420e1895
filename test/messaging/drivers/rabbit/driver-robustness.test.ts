import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../../../src/core/index.js';
import type { Transport } from '../../../../src/messaging/index.js';
import { captureLogs } from '../../../helpers/log-capture.js';
import {
  cleanup,
  ctx,
  rabbitAvailable,
  rawConnection,
  replyQueueOf,
  RpcClient,
  startServer,
  transport,
  unique,
  waitFor,
} from './helpers.js';
import { mulberry32 as prng } from '../../../../bench/lib/random.js';

const available = await rabbitAvailable();

const envelope = (inner: unknown, version: unknown = '2.0'): string =>
  JSON.stringify({ 'oslo.version': version, 'oslo.message': JSON.stringify(inner) });

/** Endpoint of the robustness server: nothing it does can block for long. */
class Echo {
  calls = 0;
  echo(_c: RequestContext, args: { value?: unknown }): unknown {
    this.calls++;
    return args.value ?? null;
  }
  fail(): never {
    throw new TypeError('fuzz failure');
  }
}

/** Endpoint whose `block` waits until released. */
class Gate {
  readonly started: number[] = [];
  readonly finished: number[] = [];
  #release: (() => void) | undefined;
  #released = new Promise<void>((r) => (this.#release = r));
  async block(_c: RequestContext, args: { id: number }): Promise<number> {
    this.started.push(args.id);
    await this.#released;
    this.finished.push(args.id);
    return args.id;
  }
  release(): void {
    this.#release?.();
  }
}

describe.skipIf(!available)('rabbit driver: robustness', () => {
  const E = unique('robust');
  const logs = captureLogs();
  const topics: string[] = [];
  let raw: ChannelModel;
  let ch: ConfirmChannel;
  let serverT: Transport;
  let clientT: Transport;
  let replies: ConsumeMessage[] = [];
  let rawReplyQ: string;

  beforeAll(async () => {
    raw = await rawConnection();
    ch = await raw.createConfirmChannel();
    rawReplyQ = unique('rawreply');
    await ch.assertQueue(rawReplyQ, { durable: false, autoDelete: true });
    await ch.consume(rawReplyQ, (m) => m && replies.push(m), { noAck: true });
    serverT = await transport(
      E,
      { kombu_missing_consumer_retry_timeout: 0.5, rabbit_max_message_size: 256 * 1024 },
      { logger: logs.logger },
    );
    clientT = await transport(E);
  });

  afterAll(async () => {
    await serverT?.close();
    await clientT?.close();
    await raw?.close();
    await cleanup(
      [E, ...topics.map((t) => `${t}_fanout`)],
      [
        ...topics.flatMap((t) => [t, `${t}.host-a`, `${t}.host-b`]),
        replyQueueOf(clientT),
        replyQueueOf(serverT),
      ],
    );
  });

  const replyBodies = (): Record<string, unknown>[] =>
    replies.map(
      (m) =>
        JSON.parse(
          (JSON.parse(m.content.toString('utf8')) as Record<string, string>)[
            'oslo.message'
          ] as string,
        ) as Record<string, unknown>,
    );

  async function publish(routingKey: string, body: string | Buffer): Promise<void> {
    ch.publish(E, routingKey, typeof body === 'string' ? Buffer.from(body) : body);
    await ch.waitForConfirms();
  }

  it('rejects malformed messages without requeue, replies a failure when it can, keeps serving', async () => {
    const T = unique('mal');
    topics.push(T);
    const server = await startServer(serverT, T, 'host-a', [new Echo()]);
    const client = new RpcClient(clientT, { topic: T }, { timeout: 5 });
    replies = [];
    const call = (id: string, extra: object = {}): object => ({
      _msg_id: id,
      _reply_q: rawReplyQ,
      _unique_id: unique('u'),
      ...extra,
    });
    await publish(T, 'not json at all');
    await publish(T, Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
    await publish(T, envelope({ method: 'echo', args: {}, ...call('envver') }, '3.0'));
    await publish(T, JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '[1, 2]' }));
    await publish(T, '[1, 2, 3]');
    await publish(T, envelope({ args: {}, ...call('nomethod') }));
    await publish(T, envelope({ method: 'echo', args: [], ...call('badargs') }));
    await publish(T, envelope({ method: 'echo', args: {}, _msg_id: 5, _reply_q: rawReplyQ }));
    await publish(T, envelope({ method: 'echo', args: {}, _msg_id: 'noreplyq' }));
    await publish(
      T,
      envelope({ method: 'echo', args: { value: 'x'.repeat(300 * 1024) }, ...call('big') }),
    );
    expect(await client.call(ctx(), 'echo', { value: 'still alive' })).toBe('still alive');
    await waitFor(() => replies.length >= 3, 5000, 'failure replies');
    await new Promise((r) => setTimeout(r, 200));
    const byId = new Map(replyBodies().map((b) => [b['_msg_id'], b]));
    expect([...byId.keys()].sort()).toEqual(['badargs', 'envver', 'nomethod']);
    for (const b of byId.values()) {
      expect(b['ending']).toBe(true);
      expect(b['result']).toBeNull();
      expect(typeof b['failure']).toBe('string');
    }
    expect(JSON.parse(byId.get('envver')?.['failure'] as string)['message']).toMatch(
      /Envelope version 3.0/,
    );
    expect(JSON.parse(byId.get('nomethod')?.['failure'] as string)['message']).toMatch(/method/);
    const rejected = logs.lines.filter((l) => l.msg === 'Rejected a malformed message');
    expect(rejected.length).toBeGreaterThanOrEqual(7);
    await server.stop();
    await server.wait();
    expect((await ch.checkQueue(T)).messageCount).toBe(0);
  });

  it('drops duplicate _unique_ids (last 16) without dispatching them', async () => {
    const T = unique('dup');
    topics.push(T);
    const echo = new Echo();
    const server = await startServer(serverT, T, 'host-a', [echo]);
    replies = [];
    const body = envelope({
      method: 'echo',
      args: { value: 1 },
      _msg_id: 'dup1',
      _reply_q: rawReplyQ,
      _timeout: null,
      _unique_id: 'd'.repeat(32),
    });
    await publish(T, body);
    await publish(T, body);
    await publish(`${T}.host-a`, body);
    await publish(T, body.replace('d'.repeat(32), 'e'.repeat(32)));
    await waitFor(() => replies.length >= 2, 5000, 'replies');
    await new Promise((r) => setTimeout(r, 200));
    expect(replies.length).toBe(2);
    expect(echo.calls).toBe(2);
    expect(
      logs.lines.filter((l) => l.msg === 'Failed to process message ... skipping it.').length,
    ).toBe(2);
    await server.stop();
    await server.wait();
    expect((await ch.checkQueue(T)).messageCount).toBe(0);
  });

  it('retries a reply to a missing reply queue, then drops it and remembers the queue', async () => {
    const T = unique('ret');
    topics.push(T);
    const server = await startServer(serverT, T, 'host-a', [new Echo()]);
    const gone = `reply_${'0'.repeat(32)}`;
    const req = (id: string): string =>
      envelope({
        method: 'echo',
        args: { value: 1 },
        _msg_id: id,
        _reply_q: gone,
        _unique_id: unique('u'),
      });
    const t0 = Date.now();
    await publish(T, req('r1'));
    await waitFor(
      () => logs.lines.some((l) => /The reply r1 failed to send after 0.5 seconds/.test(l.msg)),
      5000,
      'the reply to be abandoned',
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    await publish(T, req('r2'));
    await waitFor(
      () =>
        logs.lines.some((l) =>
          /The reply r2 cannot be sent: reply queue .* does not exist$/.test(l.msg),
        ),
      2000,
      'the second reply to be dropped at once',
    );
    await server.stop();
    await server.wait();
  });

  it('delivers a returned reply once its reply queue appears (a caller reconnecting)', async () => {
    const T = unique('late');
    topics.push(T);
    const server = await startServer(serverT, T, 'host-a', [new Echo()]);
    const late = unique('latereply');
    const got: ConsumeMessage[] = [];
    await publish(
      T,
      envelope({
        method: 'echo',
        args: { value: 'late' },
        _msg_id: 'l1',
        _reply_q: late,
        _unique_id: unique('u'),
      }),
    );
    await waitFor(
      () => logs.lines.some((l) => /The reply l1 cannot be sent: .* retrying/.test(l.msg)),
      3000,
      'the reply to be returned',
    );
    // The caller's queue comes back within kombu_missing_consumer_retry_timeout (0.5 s here).
    const c2 = await raw.createChannel();
    await c2.assertQueue(late, { durable: false, autoDelete: true });
    await c2.consume(late, (m) => m && got.push(m), { noAck: true });
    await waitFor(() => got.length === 1, 3000, 'the retried reply');
    await new Promise((r) => setTimeout(r, 400));
    expect(got.length).toBe(1);
    const inner = JSON.parse(
      (JSON.parse((got[0] as ConsumeMessage).content.toString('utf8')) as Record<string, string>)[
        'oslo.message'
      ] as string,
    ) as Record<string, unknown>;
    expect(inner).toMatchObject({ result: 'late', failure: null, ending: true, _msg_id: 'l1' });
    expect(logs.lines.some((l) => /The reply l1 failed to send/.test(l.msg))).toBe(false);
    await c2.close();
    await server.stop();
    await server.wait();
  });

  it('bounds the deliveries a busy server holds (prefetch) and requeues undispatched ones on stop', async () => {
    const T = unique('pf');
    topics.push(T);
    const gate = new Gate();
    const server = await startServer(serverT, T, 'host-a', [gate], {
      executorPoolSize: 2,
      prefetch: 2,
    });
    const client = new RpcClient(clientT, { topic: T }, { timeout: 10 });
    const first = client.call(ctx(), 'block', { id: 0 });
    for (let id = 1; id < 10; id++) await client.cast(ctx(), 'block', { id });
    // 2 running (acknowledged) + 2 prefetched (waiting, unacknowledged); 6 stay in the queue.
    await waitFor(
      async () => (await ch.checkQueue(T)).messageCount === 6,
      5000,
      '6 ready messages',
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await ch.checkQueue(T)).messageCount).toBe(6);
    expect(gate.started.length).toBe(2);
    expect(server.inFlight).toBe(2);

    await server.stop();
    // The 2 waiting deliveries went back to the queue; the 2 running calls still finish and reply.
    await waitFor(
      async () => (await ch.checkQueue(T)).messageCount === 8,
      5000,
      '8 ready messages',
    );
    expect(server.inFlight).toBe(2);
    gate.release();
    await server.wait();
    expect(gate.finished.length).toBe(2);
    expect(await first).toBe(0);

    const gate2 = new Gate();
    gate2.release();
    const server2 = await startServer(serverT, T, 'host-b', [gate2], { executorPoolSize: 2 });
    await waitFor(() => gate2.finished.length === 8, 5000, 'the rest to be served');
    expect(new Set([...gate.started, ...gate2.started]).size).toBe(10);
    await server2.stop();
    await server2.wait();
  });

  it('fails fast when the broker refuses a declaration', async () => {
    const X = unique('durable');
    await ch.assertExchange(X, 'topic', { durable: true, autoDelete: false });
    const t = await transport(X);
    try {
      const T = unique('t');
      const t0 = Date.now();
      await expect(startServer(t, T, 'host-a', [new Echo()])).rejects.toThrow(/PRECONDITION/);
      await expect(new RpcClient(t, { topic: T }).cast(ctx(), 'echo')).rejects.toMatchObject({
        code: 'CONDUCTOR_RPC_DELIVERY_FAILURE',
        message: expect.stringMatching(/refused.*PRECONDITION/) as unknown,
      });
      await expect(
        new RpcClient(t, { topic: T }, { timeout: 5 }).call(ctx(), 'echo'),
      ).rejects.toMatchObject({
        code: 'CONDUCTOR_RPC_DELIVERY_FAILURE',
      });
      expect(Date.now() - t0).toBeLessThan(2000);
      // The transport still works for other exchanges.
      await new RpcClient(t, { topic: T, exchange: E }).cast(ctx(), 'echo');
      expect(t.connected).toBe(true);
    } finally {
      await t.close();
      await ch.deleteExchange(X);
    }
  });

  it('recovers its publishing channel after a fanout exchange vanished', async () => {
    const T = unique('vanish');
    topics.push(T);
    const echo = new Echo();
    const server = await startServer(serverT, T, 'host-a', [echo]);
    const fan = new RpcClient(clientT, { topic: T, fanout: true });
    await fan.cast(ctx(), 'echo', { value: 1 });
    await waitFor(() => echo.calls === 1, 5000, 'the first fanout cast');
    // The server deletes its fanout queue; the auto-delete exchange goes with it.
    await server.stop();
    await server.wait();
    await fan.cast(ctx(), 'echo', { value: 2 }); // 404 on the cached exchange: channel reopened, sent again
    const server2 = await startServer(serverT, T, 'host-a', [echo]);
    await fan.cast(ctx(), 'echo', { value: 3 });
    await waitFor(() => echo.calls === 2, 5000, 'the fanout cast after recovery');
    expect(
      await new RpcClient(clientT, { topic: T }, { timeout: 5 }).call(ctx(), 'echo', { value: 4 }),
    ).toBe(4);
    await server2.stop();
    await server2.wait();
  });

  it('survives a fuzz of 10,000 malformed messages interleaved with valid calls', async () => {
    const T = unique('fuzz');
    topics.push(T);
    const echo = new Echo();
    const server = await startServer(serverT, T, 'host-a', [echo], { executorPoolSize: 64 });
    const client = new RpcClient(clientT, { topic: T }, { timeout: 10 });
    const rnd = prng(0xc0ffee);
    const pick = <V>(xs: readonly V[]): V => xs[Math.floor(rnd() * xs.length)] as V;
    const randomValue = (): unknown =>
      pick<() => unknown>([
        () => null,
        () => true,
        () => Math.floor(rnd() * 1e9) - 5e8,
        () => rnd() * 1e300,
        () => 'x'.repeat(Math.floor(rnd() * 40)),
        () => [1, 'a', null],
        () => ({ nested: { deep: [{}] } }),
        () => ({ __proto__: { polluted: true } }),
        () => '\u0000\ud800é\u2028',
        () => -0,
      ])();
    const validFields = (): Record<string, unknown> => ({
      method: pick([
        'echo',
        'echo',
        'fail',
        'nope',
        '_private',
        'constructor',
        '__proto__',
        'toString',
        'calls',
        '',
      ]),
      args: { value: 1 },
      namespace: undefined,
      version: pick([undefined, '1.0', '1.1', '2.0', 'x.y', '1', '1.0.0']),
      _msg_id: unique('m'),
      _reply_q: pick([
        rawReplyQ,
        rawReplyQ,
        rawReplyQ,
        `reply_${'f'.repeat(32)}`,
        '',
        'x'.repeat(300),
      ]),
      _timeout: pick([null, 2, -1, 'soon', 1e9]),
      _unique_id: unique('u'),
      _context_user_id: 'fuzz',
    });
    const generators: (() => Buffer | string)[] = [
      // random bytes
      () =>
        Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))),
      // truncated JSON
      () => {
        const s = envelope(validFields());
        return s.slice(0, Math.floor(rnd() * s.length));
      },
      // each field with a wrong type
      () => {
        const m = validFields();
        m[pick(Object.keys(m))] = randomValue();
        return envelope(m);
      },
      // a field missing
      () => {
        const m = validFields();
        delete m[pick(Object.keys(m))];
        return envelope(m);
      },
      // envelope fields of the wrong type
      () => JSON.stringify({ 'oslo.version': randomValue(), 'oslo.message': randomValue() }),
      () =>
        JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(randomValue()) }),
      // prototype keys everywhere
      () =>
        `{"oslo.version": "2.0", "oslo.message": ${JSON.stringify(
          `{"__proto__": {"isAdmin": true}, "method": "echo", "args": {"__proto__": {"x": 1}, "value": 2}, "_context___proto__": {"is_admin": true}, "_context_constructor": 1, "_unique_id": "${unique('u')}", "_msg_id": "${unique('m')}", "_reply_q": "${rawReplyQ}"}`,
        )}}`,
      // huge strings (some over the 256 KiB limit)
      () =>
        envelope({
          ...validFields(),
          args: { value: 'h'.repeat(Math.floor(rnd() * (rnd() < 0.1 ? 400 : 20) * 1024)) },
        }),
      // deep nesting
      () =>
        envelope({
          ...validFields(),
          args: { value: JSON.parse('['.repeat(3000) + ']'.repeat(3000)) },
        }),
      // legacy (no envelope) messages
      () => JSON.stringify({ ...validFields(), method: 'echo' }),
      // casts
      () =>
        envelope({
          method: pick(['echo', 'nope', 'fail']),
          args: { value: randomValue() },
          _unique_id: unique('u'),
        }),
    ];
    let valid = 0;
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i++) {
      const body = pick(generators)();
      const key = rnd() < 0.8 ? T : `${T}.host-a`;
      ch.publish(E, key, typeof body === 'string' ? Buffer.from(body) : body);
      if (i % 500 === 499) {
        await ch.waitForConfirms();
        const results = await Promise.all(
          Array.from({ length: 5 }, (_, j) => client.call(ctx(), 'echo', { value: `${i}-${j}` })),
        );
        expect(results).toEqual(Array.from({ length: 5 }, (_, j) => `${i}-${j}`));
        valid += 5;
      }
    }
    await ch.waitForConfirms();
    expect(await client.call(ctx(), 'echo', { value: 'the end' })).toBe('the end');
    valid++;
    await waitFor(
      async () => (await ch.checkQueue(T)).messageCount === 0,
      20_000,
      'the queue to drain',
    );
    await waitFor(() => server.inFlight === 0, 20_000, 'the server to be idle');
    expect(valid).toBe(101);
    // Nothing is held unacknowledged: stopping requeues nothing.
    await server.stop();
    await server.wait();
    expect((await ch.checkQueue(T)).messageCount).toBe(0);
    expect((await ch.checkQueue(`${T}.host-a`)).messageCount).toBe(0);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
    if (process.env['CONDUCTOR_TEST_VERBOSE'] === '1')
      console.log(`fuzz: 10,000 messages + ${valid} calls in ${Date.now() - t0} ms`);
  }, 60_000);
});
