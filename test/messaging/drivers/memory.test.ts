import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { getAdminContext, RequestContext, VirtualClock } from '../../../src/core/index.js';
import {
  ExplicitRpcAccessPolicy,
  getRpcServer,
  getRpcTransport,
  InvalidTarget,
  MessageDeliveryFailure,
  MessagingTimeout,
  NoSuchMethod,
  RemoteError,
  RpcClient,
  type RpcServer,
  RPCVersionCapError,
  Target,
  type Transport,
  UnsupportedVersion,
} from '../../../src/messaging/index.js';
import { periodicTask, PeriodicTasks } from '../../../src/periodic/index.js';
import { captureLogs } from '../../helpers/log-capture.js';

const ctx = getAdminContext();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: { clock?: VirtualClock } = {}) {
  const { logger, lines } = captureLogs();
  const transport = await getRpcTransport({
    transportUrl: `memory://${randomUUID()}`,
    controlExchange: 'tacker',
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  cleanups.push(() => transport.close());
  return { transport, lines };
}

async function serve(
  transport: Transport,
  server: string,
  endpoints: object[],
  opts: Parameters<typeof getRpcServer>[3] = {},
  topic = 'conductor',
): Promise<RpcServer> {
  const s = getRpcServer(transport, { topic, server }, endpoints, opts);
  await s.start();
  cleanups.push(async () => {
    await s.stop();
    await s.wait();
  });
  return s;
}

class Conductor {
  readonly target = new Target({ version: '1.3' });
  readonly vims = new Map<string, string>();
  constructor(readonly name = 'a') {}
  update_vim(_ctx: RequestContext, args: { vim_id: string; status: string }): string {
    this.vims.set(args.vim_id, args.status);
    return args.status;
  }
  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    return args.value;
  }
  whoami(): string {
    return this.name;
  }
  echo_context(c: RequestContext): unknown {
    return c.toDict();
  }
  nothing(): void {}
  bigint(): unknown {
    return 10n;
  }
  fail(_ctx: RequestContext, args: { message: string }): never {
    throw new TypeError(args.message);
  }
}

describe('RPC over memory://', () => {
  it('calls a method as method(ctx, args) and returns its result through JSON', async () => {
    const { transport } = await setup();
    const conductor = new Conductor();
    await serve(transport, 'host-a', [conductor]);
    const client = new RpcClient(transport, { topic: 'conductor', version: '1.0' });
    expect(await client.call(ctx, 'update_vim', { vim_id: 'v1', status: 'REACHABLE' })).toBe(
      'REACHABLE',
    );
    expect(conductor.vims.get('v1')).toBe('REACHABLE');
    const value = { s: 'ü ☃', n: 1.5, b: true, z: null, l: [1, { x: 'y' }], d: new Date(0) };
    expect(await client.call(ctx, 'echo', { value })).toEqual({
      ...value,
      d: '1970-01-01T00:00:00.000Z',
    });
    expect(await client.call(ctx, 'nothing')).toBeNull();
  });

  it('returns results exactly as JSON would carry them', async () => {
    const { transport } = await setup();
    class Values {
      value(_c: RequestContext, args: { kind: string }): unknown {
        const values: Record<string, unknown> = {
          nan: Number.NaN,
          inf: Infinity,
          negzero: -0,
          undef: undefined,
          num: 1.5,
          str: 's',
          t: true,
          date: new Date(0),
        };
        return values[args.kind];
      }
    }
    await serve(transport, 'host-a', [new Values()]);
    const client = new RpcClient(transport, { topic: 'conductor' });
    const got = async (kind: string) => client.call(ctx, 'value', { kind });
    expect(await got('nan')).toBeNull();
    expect(await got('inf')).toBeNull();
    expect(Object.is(await got('negzero'), 0)).toBe(true);
    expect(await got('undef')).toBeNull();
    expect(await got('num')).toBe(1.5);
    expect(await got('str')).toBe('s');
    expect(await got('t')).toBe(true);
    expect(await got('date')).toBe('1970-01-01T00:00:00.000Z');
  });

  it('carries the request context', async () => {
    const { transport } = await setup();
    await serve(transport, 'host-a', [new Conductor()]);
    const c = new RequestContext({
      userId: 'u',
      projectId: 'p',
      roles: ['admin'],
      authToken: 't',
      requestId: 'req-1',
    });
    const got = (await new RpcClient(transport, { topic: 'conductor' }).call(
      c,
      'echo_context',
    )) as Record<string, unknown>;
    expect(got).toEqual(JSON.parse(JSON.stringify(c.toDict())));
  });

  it('round-robins the shared queue, targets one server with server=, and fans out casts to all', async () => {
    const { transport } = await setup();
    const a = new Conductor('a');
    const b = new Conductor('b');
    await serve(transport, 'host-a', [a]);
    await serve(transport, 'host-b', [b]);
    const client = new RpcClient(transport, { topic: 'conductor' });
    const who = [];
    for (let i = 0; i < 4; i++) who.push(await client.call(ctx, 'whoami'));
    expect(who.sort()).toEqual(['a', 'a', 'b', 'b']);
    for (let i = 0; i < 3; i++)
      expect(await client.prepare({ server: 'host-b' }).call(ctx, 'whoami')).toBe('b');
    await client.prepare({ fanout: true }).cast(ctx, 'update_vim', { vim_id: 'f', status: 'X' });
    await client
      .prepare({ server: 'host-a' })
      .cast(ctx, 'update_vim', { vim_id: 's', status: 'Y' });
    await new Promise((r) => setImmediate(r));
    expect([a.vims.get('f'), b.vims.get('f')]).toEqual(['X', 'X']);
    expect([a.vims.get('s'), b.vims.get('s')]).toEqual(['Y', undefined]);
  });

  it('dispatches on namespace and version: NoSuchMethod versus UnsupportedVersion', async () => {
    const { transport } = await setup();
    class Ns1 {
      readonly target = new Target({ namespace: 'ns1', version: '1.0' });
      ns1_ping(_c: RequestContext, args: { value: unknown }) {
        return { namespace: 'ns1', value: args.value };
      }
    }
    await serve(transport, 'host-a', [new Conductor(), new Ns1()]);
    const client = new RpcClient(transport, { topic: 'conductor' });
    expect(await client.prepare({ namespace: 'ns1' }).call(ctx, 'ns1_ping', { value: 1 })).toEqual({
      namespace: 'ns1',
      value: 1,
    });
    await expect(client.call(ctx, 'ns1_ping')).rejects.toBeInstanceOf(NoSuchMethod);
    await expect(client.call(ctx, 'update_vimx')).rejects.toThrow(
      'Endpoint does not support RPC method update_vimx',
    );
    await expect(client.prepare({ version: '1.3' }).call(ctx, 'whoami')).resolves.toBe('a');
    await expect(client.prepare({ version: '1.4' }).call(ctx, 'whoami')).rejects.toThrow(
      'Endpoint does not support RPC version 1.4. Attempted method: whoami',
    );
    await expect(client.prepare({ version: '2.0' }).call(ctx, 'whoami')).rejects.toBeInstanceOf(
      UnsupportedVersion,
    );
    await expect(client.prepare({ namespace: 'nope' }).call(ctx, 'whoami')).rejects.toBeInstanceOf(
      UnsupportedVersion,
    );
  });

  it('raises remote errors as RemoteError naming the remote class, and logs them', async () => {
    const { transport, lines } = await setup();
    await serve(transport, 'host-a', [new Conductor()]);
    const err = (await new RpcClient(transport, { topic: 'conductor' })
      .call(ctx, 'fail', { message: 'boom 42' })
      .catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.excType).toBe('TypeError');
    expect(err.value).toBe('boom 42');
    expect(err.traceback.at(-1)).toBe('TypeError: boom 42\n');
    expect(lines.some((l) => l.msg === 'Exception during message handling')).toBe(true);
  });

  it('answers a result that cannot travel as JSON with a failure, not a timeout', async () => {
    const { transport } = await setup();
    await serve(transport, 'host-a', [new Conductor()]);
    const err = (await new RpcClient(
      transport,
      { topic: 'conductor', server: 'host-a' },
      { timeout: 5 },
    )
      .call(ctx, 'bigint')
      .catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.excType).toBe('TypeError');
  });

  it('answers malformed requests with a failure and keeps serving', async () => {
    const { transport } = await setup();
    await serve(transport, 'host-a', [new Conductor()]);
    const target = new Target({ topic: 'conductor' });
    const send = (message: Record<string, unknown>) =>
      transport.driver.send(target, ctx.toDict() as unknown as Record<string, unknown>, message, {
        waitForReply: true,
        timeout: 5,
      });
    for (const bad of [
      {},
      { method: 5 },
      { method: '' },
      { method: 'echo', args: [1] },
      { method: 'echo', args: 'x' },
      { method: 'echo', version: 1 },
      { method: 'echo', namespace: 3 },
    ]) {
      const err = (await send(bad).catch((e: unknown) => e)) as RemoteError;
      expect(err).toBeInstanceOf(RemoteError);
      expect(err.excType).toBe('InvalidRpcMessage');
    }
    expect(await new RpcClient(transport, target).call(ctx, 'echo', { value: 'still here' })).toBe(
      'still here',
    );
  });

  it('times out calls nobody answers, and drops late replies (virtual clock)', async () => {
    const clock = new VirtualClock();
    const { transport } = await setup({ clock });
    let release!: () => void;
    class Slow {
      async slow(): Promise<string> {
        await new Promise<void>((r) => (release = r));
        return 'late';
      }
      fast(): string {
        return 'fast';
      }
    }
    await serve(transport, 'host-a', [new Slow()]);
    const client = new RpcClient(transport, { topic: 'conductor' }, { timeout: 10 });
    const nobody = client.prepare({ server: 'no-such-host' }).call(ctx, 'fast');
    const slow = client.call(ctx, 'slow');
    const outcomes = Promise.allSettled([nobody, slow]);
    await clock.advance(9.9);
    expect(
      await Promise.race([
        outcomes.then(() => 'settled'),
        new Promise((r) => setImmediate(() => r('pending'))),
      ]),
    ).toBe('pending');
    await clock.advance(0.1);
    const [a, b] = await outcomes;
    expect(a.status === 'rejected' && a.reason).toBeInstanceOf(MessagingTimeout);
    expect(b.status === 'rejected' && (b.reason as Error).message).toMatch(
      /^Timed out waiting for a reply to message ID [0-9a-f]{32}$/,
    );
    release();
    expect(await client.call(ctx, 'fast')).toBe('fast');
  });

  it('keeps a call alive with call-monitor heartbeats and fails it early without them (virtual clock)', async () => {
    const clock = new VirtualClock();
    const { transport } = await setup({ clock });
    class Worker {
      async work(_c: RequestContext, args: { seconds: number }): Promise<number> {
        await clock.sleep(args.seconds);
        return args.seconds;
      }
    }
    await serve(transport, 'host-a', [new Worker()]);
    const client = new RpcClient(
      transport,
      { topic: 'conductor' },
      { timeout: 30, callMonitorTimeout: 2 },
    );
    const p = client.call(ctx, 'work', { seconds: 7 });
    await clock.advance(7);
    expect(await p).toBe(7);
    // Without a server, nothing beats: the monitor fails the call after 2 s, well before 30 s.
    const lost = client
      .prepare({ server: 'gone' })
      .call(ctx, 'work', { seconds: 1 })
      .catch((e: unknown) => e);
    await clock.advance(2);
    expect(await lost).toBeInstanceOf(MessagingTimeout);
  });

  it('close() fails the calls still waiting, and later sends, with MessageDeliveryFailure', async () => {
    const { transport } = await setup();
    const client = new RpcClient(
      transport,
      { topic: 'conductor', server: 'nobody' },
      { timeout: 60 },
    );
    const waiting = [client.call(ctx, 'a'), client.call(ctx, 'b')].map((p) =>
      p.catch((e: unknown) => e),
    );
    await transport.close();
    for (const e of await Promise.all(waiting)) expect(e).toBeInstanceOf(MessageDeliveryFailure);
    await expect(client.call(ctx, 'c')).rejects.toBeInstanceOf(MessageDeliveryFailure);
  });

  it('checks targets, versions and arguments before sending', async () => {
    const { transport } = await setup();
    const client = new RpcClient(transport, { topic: 'conductor' });
    await expect(client.prepare({ fanout: true }).call(ctx, 'x')).rejects.toThrow(InvalidTarget);
    await expect(client.prepare({ fanout: true }).call(ctx, 'x')).rejects.toThrow(
      'A call cannot be used with fanout',
    );
    await expect(new RpcClient(transport, {}).cast(ctx, 'x')).rejects.toThrow(
      'A topic is required to send',
    );
    await expect(
      client.prepare({ version: '1.5', versionCap: '1.4' }).call(ctx, 'x'),
    ).rejects.toBeInstanceOf(RPCVersionCapError);
    expect(() => client.prepare({ version: '1' })).toThrow(
      'Version must contain a major and minor integer. Got 1',
    );
    expect(() => client.prepare({ timeout: -1 })).toThrow(/timeout/);
    expect(() => client.prepare({ callMonitorTimeout: 1 })).toThrow(/callMonitorTimeout/);
    await expect(client.call(ctx, 'x', [] as never)).rejects.toThrow(/plain object/);
    expect(client.prepare({ versionCap: '1.4' }).canSendVersion('1.2')).toBe(true);
    expect(client.prepare({ versionCap: '1.4' }).canSendVersion('2.0')).toBe(false);
    await expect(getRpcServer(transport, { topic: 'conductor' }, []).start()).rejects.toThrow(
      "A server's target must have topic and server names specified",
    );
    expect(() =>
      getRpcServer(transport, { topic: 't', server: 's' }, [], { executorPoolSize: 0 }),
    ).toThrow(/executorPoolSize/);
    for (const prefetch of [0, 1.5, 65536, Number.NaN]) {
      expect(() => getRpcServer(transport, { topic: 't', server: 's' }, [], { prefetch })).toThrow(
        /prefetch must be an integer from 1 to 65535/,
      );
    }
    // The default (4 × the pool) is capped to what Basic.Qos can carry.
    expect(() =>
      getRpcServer(transport, { topic: 't', server: 's' }, [], { executorPoolSize: 20000 }),
    ).not.toThrow();
  });
});

describe('access policy', () => {
  class Base extends PeriodicTasks {
    @periodicTask
    tick(): void {}
  }
  class Endpoint extends Base {
    field = 'data';
    override runPeriodicTasks(ctx: RequestContext): Promise<number> {
      return super.runPeriodicTasks(ctx); // an override of a framework method stays private
    }
    arrow = (): string => 'arrow';
    static staticMethod(): string {
      return 'static';
    }
    get getter(): string {
      return 'getter';
    }
    _private(): string {
      return 'private';
    }
    #hidden(): string {
      return 'hidden';
    }
    override toString(): string {
      return 'overridden';
    }
    hello(): string {
      return `hello ${this.#hidden().length}`;
    }
  }

  it('calls only public methods the endpoint classes define', async () => {
    const { transport } = await setup();
    await serve(transport, 'host-a', [new Endpoint({ clock: new VirtualClock() })]);
    const client = new RpcClient(transport, { topic: 'conductor' });
    expect(await client.call(ctx, 'hello')).toBe('hello 6');
    expect(await client.call(ctx, 'tick')).toBeNull(); // a task the user declared is the user's method
    for (const name of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      'isPrototypeOf',
      '_private',
      '#hidden',
      'hidden',
      'field',
      'arrow',
      'getter',
      'staticMethod',
      'prototype',
      'runPeriodicTasks',
      'addPeriodicTask',
      'periodicTaskInfo',
      'periodicTaskNames',
      'call',
      'apply',
      'bind',
    ]) {
      await expect(client.call(ctx, name), name).rejects.toBeInstanceOf(NoSuchMethod);
    }
    expect(Object.prototype.toString.call({})).toBe('[object Object]');
  });

  it('an explicit allow-list narrows further and refuses dangerous names up front', async () => {
    const { transport } = await setup();
    class Two {
      a(): string {
        return 'a';
      }
      b(): string {
        return 'b';
      }
    }
    await serve(transport, 'host-a', [new Two()], {
      accessPolicy: new ExplicitRpcAccessPolicy(['a']),
    });
    const client = new RpcClient(transport, { topic: 'conductor' });
    expect(await client.call(ctx, 'a')).toBe('a');
    await expect(client.call(ctx, 'b')).rejects.toBeInstanceOf(NoSuchMethod);
    for (const bad of ['constructor', '__proto__', '_x', 'toString']) {
      expect(() => new ExplicitRpcAccessPolicy([bad])).toThrow(/can never be exposed/);
    }
  });
});

describe('server lifecycle', () => {
  it('stop() lets dispatched calls finish and reply; later requests wait in the queue for a server', async () => {
    const { transport } = await setup();
    const releases: Array<() => void> = [];
    class Gate {
      async hold(_c: RequestContext, args: { id: number }): Promise<number> {
        await new Promise<void>((r) => releases.push(r));
        return args.id;
      }
      ping(): string {
        return 'pong';
      }
    }
    const server = getRpcServer(transport, { topic: 'conductor', server: 'host-a' }, [new Gate()]);
    await server.start();
    const client = new RpcClient(transport, { topic: 'conductor' }, { timeout: 30 });
    const inFlight = client.call(ctx, 'hold', { id: 1 });
    await new Promise((r) => setImmediate(r));
    expect(server.inFlight).toBe(1);
    await server.stop();
    const queued = client.call(ctx, 'ping');
    let waited = false;
    const waiting = server.wait().then(() => (waited = true));
    await new Promise((r) => setImmediate(r));
    expect(waited).toBe(false);
    releases.forEach((r) => r());
    expect(await inFlight).toBe(1);
    await waiting;
    // The request sent after stop() was not lost: a new server picks it up.
    await serve(transport, 'host-b', [new Gate()]);
    expect(await queued).toBe('pong');
  });

  it('handles at most executorPoolSize requests at once and requeues the waiting ones on stop', async () => {
    const { transport } = await setup();
    let active = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    class Busy {
      async work(): Promise<string> {
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => releases.push(r));
        active--;
        return 'done';
      }
    }
    const server = await serve(transport, 'host-a', [new Busy()], { executorPoolSize: 2 });
    const client = new RpcClient(transport, { topic: 'conductor' }, { timeout: 30 });
    const calls = Array.from({ length: 5 }, () => client.call(ctx, 'work'));
    await new Promise((r) => setImmediate(r));
    expect(peak).toBe(2);
    while (releases.length) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(calls)).toEqual(Array(5).fill('done'));
    expect(peak).toBe(2);
    expect(server.inFlight).toBe(0);
  });

  it('drains thousands of synchronous requests queued behind a full pool, in order, without nesting', async () => {
    const { transport } = await setup();
    const releases: Array<() => void> = [];
    const seen: number[] = [];
    class Mixed {
      async slow(): Promise<string> {
        await new Promise<void>((r) => releases.push(r));
        return 'slow';
      }
      fast(_ctx: RequestContext, args: { i: number }): number {
        seen.push(args.i);
        return args.i;
      }
      boom(): never {
        throw new Error('sync failure');
      }
    }
    const server = await serve(transport, 'host-a', [new Mixed()], {
      executorPoolSize: 1,
      prefetch: 65535,
    });
    const client = new RpcClient(transport, { topic: 'conductor' }, { timeout: 30 });
    const slow = client.call(ctx, 'slow');
    await new Promise((r) => setImmediate(r));
    // The pool is full: these wait, then run one after another once the slow call ends.
    const n = 5000;
    const fast = Array.from({ length: n }, (_, i) => client.call(ctx, 'fast', { i }));
    const failed = client.call(ctx, 'boom').catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    releases.shift()?.();
    expect(await slow).toBe('slow');
    expect(await Promise.all(fast)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(String(await failed)).toMatch(/sync failure/);
    await server.stop();
    await server.wait();
    expect(server.inFlight).toBe(0);
  });
});
