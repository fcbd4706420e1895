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
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, RequestContext } from '../../src/core/index.js';
import { remoteKwargsOf } from '../../src/messaging/index.js';
import {
  DictContextSerializer,
  getRpcServer,
  getRpcTransport,
  RemoteError,
  RequestContextSerializer,
  RpcClient,
  type Serializer,
  type Transport,
} from '../../src/messaging/index.js';
import { RABBIT_URL, reachable, requireService } from '../helpers/services.js';
import {
  type Dict,
  expectSame,
  expectUnpolluted,
  pick,
  PROTO_KEYS_TABLE,
  ProtoEndpoint,
} from '../helpers/proto-keys.js';
import {
  deleteTopology,
  hasOslo,
  type Names,
  names,
  python,
  pythonClient,
  pythonServer,
  stopChild,
} from './helpers.js';

const ready = await requireService(
  'RabbitMQ on 127.0.0.1:5672 and python3-oslo.messaging',
  (await reachable(5672)) && hasOslo(),
);

const FIXTURE = fileURLToPath(new URL('./fixtures/proto_keys.py', import.meta.url));
const PAYLOADS = fileURLToPath(new URL('./fixtures/proto-keys-payloads.json', import.meta.url));
const TABLE = PROTO_KEYS_TABLE;

/** The tests' own oslo_messaging script, as `server` or `client`, with the payload table. */
const fixture = (mode: 'server' | 'client', n: Names) =>
  python(FIXTURE, n, [mode, '--payloads', PAYLOADS]);

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
      const { code, out } = await pythonClient(n, fixture('client', n));
      const total = TABLE.args.length + 2;
      expect(out, out).toContain(`${total} passed, 0 failed`);
      expect(code).toBe(0);
      // What the endpoint received from Python: each payload, own keys in order.
      const args = endpoint.seen.filter((x) => !(x instanceof RequestContext));
      expect(args).toHaveLength(TABLE.args.length);
      args.forEach((got, i) => expectSame(got, TABLE.args[i]?.args));
      const ctx = endpoint.seen.find((x) => x instanceof RequestContext) as RequestContext;
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
    const child = await pythonServer(n, fixture('server', n));
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
