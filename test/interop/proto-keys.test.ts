/**
 * Keys named `__proto__`, `constructor` and `prototype` between Python oslo.messaging and
 * conductor-ts over RabbitMQ (issue 18), with the payload table of
 * fixtures/proto-keys-payloads.json (arguments at the top level, nested and in arrays; the context
 * dict; failure kwargs) and the fixture fixtures/proto_keys.py, which uses oslo_messaging directly:
 *
 * - Python → TS → Python: the Python client calls a conductor-ts server (stock serializer) and
 *   checks that every payload comes back as sent, key order included; the TS endpoint saw them so.
 * - TS → Python → TS: conductor-ts clients (stock and dict serializers) call the Python server and
 *   check the same.
 *
 * After each, no prototype is polluted.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, RequestContext } from '../../src/core/index.js';
import { remoteKwargsOf } from '../../src/messaging/failure.js';
import {
  DictContextSerializer,
  getRpcServer,
  getRpcTransport,
  RemoteError,
  RequestContextSerializer,
  RpcClient,
  type Serializer,
  Target,
  type Transport,
} from '../../src/messaging/index.js';
import { PYTHON, RABBIT_URL, reachable, requireService } from '../helpers/services.js';
import { deleteTopology, hasOslo, type Names, names, stopChild } from './helpers.js';

type Dict = Record<string, unknown>;
type Child = ChildProcessByStdio<null, Readable, Readable>;

const ready = await requireService(
  'RabbitMQ on 127.0.0.1:5672 and python3-oslo.messaging',
  (await reachable(5672)) && hasOslo(),
);

const FIXTURE = fileURLToPath(new URL('./fixtures/proto_keys.py', import.meta.url));
const PAYLOADS = fileURLToPath(new URL('./fixtures/proto-keys-payloads.json', import.meta.url));
const TABLE = JSON.parse(readFileSync(PAYLOADS, 'utf8')) as {
  args: { name: string; args: Dict }[];
  context: Dict;
  kwargs: Dict;
};

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

function expectUnpolluted(): void {
  for (const k of ['polluted', 'is_admin']) expect(({} as Dict)[k], k).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
}

/** Plain objects and arrays only, all the way down. */
function isPlain(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (Array.isArray(v)) return proto === Array.prototype && v.every(isPlain);
  return (proto === Object.prototype || proto === null) && Object.values(v).every(isPlain);
}

/** Same own keys, in order, same values, plain objects. */
function expectSame(got: unknown, want: unknown): void {
  expect(JSON.stringify(got)).toBe(JSON.stringify(want));
  expect(isPlain(got)).toBe(true);
}

/** The entries of `dict` whose keys `want` has, in `dict`'s order, as own data. */
function pick(dict: Dict, want: Dict): Dict {
  const out: Dict = {};
  for (const k of Object.keys(dict)) {
    if (Object.hasOwn(want, k))
      Object.defineProperty(out, k, { value: dict[k], enumerable: true, writable: true });
  }
  return out;
}

const fixture = (mode: 'server' | 'client', n: Names): Child =>
  spawn(
    PYTHON,
    [
      FIXTURE,
      mode,
      '--url',
      RABBIT_URL,
      '--exchange',
      n.exchange,
      '--topic',
      n.topic,
      '--server',
      n.server,
      '--payloads',
      PAYLOADS,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );

/** Runs the fixture's client to its end: its exit code and everything it printed. */
async function pythonClient(n: Names): Promise<{ code: number | null; out: string }> {
  const child = fixture('client', n);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out };
}

/** Starts the fixture's server; resolves once it printed READY. */
async function pythonServer(n: Names): Promise<Child> {
  const child = fixture('server', n);
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('READY')) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (buf += d.toString()));
    child.on('exit', (code) => reject(new Error(`proto_keys.py exited ${String(code)}: ${buf}`)));
  });
  return child;
}

/** The endpoint's error, which Python rebuilds from `proto_keys_exc` with its kwargs. */
class ProtoKeysError extends Error {
  static readonly remoteModule = 'proto_keys_exc';
  override name = 'ProtoKeysError';
  constructor(readonly kwargs: Dict) {
    super('proto keys');
  }
}

class ProtoEndpoint {
  readonly target = new Target({ version: '1.0' });
  readonly args: Dict[] = [];
  readonly contexts: RequestContext[] = [];

  echo_args(_ctx: RequestContext, args: Dict): Dict {
    this.args.push(args);
    return args;
  }

  echo_context(ctx: RequestContext): unknown {
    this.contexts.push(ctx);
    return ctx.toDict();
  }

  fail_kwargs(_ctx: RequestContext, args: { kwargs: Dict }): never {
    throw new ProtoKeysError(args.kwargs);
  }
}

const transportOf = (n: Names): Promise<Transport> =>
  getRpcTransport({
    transportUrl: RABBIT_URL,
    controlExchange: n.exchange,
    logger: createLogger({ level: 'silent' }),
  });

describe.skipIf(!ready)('__proto__ keys with Python oslo.messaging over RabbitMQ', () => {
  it('Python → TS → Python: every payload comes back as sent, and the TS endpoint saw it so', async () => {
    const n = names('proto-keys-it', 'proto-keys');
    const t = await transportOf(n);
    const endpoint = new ProtoEndpoint();
    const server = getRpcServer(t, { topic: n.topic, server: n.server }, [endpoint]);
    await server.start();
    try {
      const { code, out } = await pythonClient(n);
      const total = TABLE.args.length + 2;
      expect(out, out).toContain(`${total} passed, 0 failed`);
      expect(code).toBe(0);
      // What the endpoint received from Python: each payload, own keys in order.
      expect(endpoint.args).toHaveLength(TABLE.args.length);
      endpoint.args.forEach((got, i) => expectSame(got, TABLE.args[i]?.args));
      const ctx = endpoint.contexts[0] as RequestContext;
      expectSame(pick(ctx.extra, TABLE.context), TABLE.context);
      expect(Object.keys(ctx.extra).filter((k) => Object.hasOwn(TABLE.context, k))).toEqual(
        Object.keys(TABLE.context),
      );
      expect(ctx.isAdmin).toBe(false); // `__proto__: {is_admin: true}` is data
      expect(ctx.userId).toBe('py-user');
      expectUnpolluted();
    } finally {
      await server.stop();
      await server.wait();
      await t.close();
      await deleteTopology(n);
    }
  }, 90_000);

  it('TS → Python → TS: every payload comes back as sent (stock and dict serializers)', async () => {
    const n = names('proto-keys-it', 'proto-keys');
    const child = await pythonServer(n);
    const t = await transportOf(n);
    try {
      const cases: { name: string; serializer: Serializer<unknown>; ctx: unknown }[] = [
        {
          name: 'stock',
          serializer: new RequestContextSerializer(),
          ctx: new RequestContext({ userId: 'ts-user', extra: TABLE.context }),
        },
        {
          name: 'dict',
          serializer: new DictContextSerializer(),
          ctx: { user_id: 'ts-user', ...TABLE.context },
        },
      ];
      for (const c of cases) {
        const client = new RpcClient<unknown>(
          t,
          { topic: n.topic, version: '1.0' },
          { timeout: 20, serializer: c.serializer },
        );
        for (const p of TABLE.args) {
          expectSame(await client.call(c.ctx, 'echo_args', p.args), p.args);
          expectUnpolluted();
        }
        const back = (await client.call(c.ctx, 'echo_context')) as Dict;
        expectSame(pick(back, TABLE.context), TABLE.context);
        expect(Object.keys(back).filter((k) => Object.hasOwn(TABLE.context, k))).toEqual(
          Object.keys(TABLE.context),
        );
        expect(back['user_id']).toBe('ts-user');
        expectUnpolluted();
        const err = await client.call(c.ctx, 'fail_kwargs', { kwargs: TABLE.kwargs }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, c.name).toBeInstanceOf(RemoteError);
        expect((err as RemoteError).excType).toBe('ProtoKeysError');
        expectSame(remoteKwargsOf(err), TABLE.kwargs);
        expectUnpolluted();
      }
    } finally {
      await t.close();
      await stopChild(child);
      await deleteTopology(n);
    }
  }, 90_000);
});
