/**
 * Keys named `__proto__`, `constructor` and `prototype` are data (issue 18): a table of payloads —
 * top-level arguments, nested, in arrays, the context dict, failure kwargs — called over memory://,
 * rabbit:// on oslo's wire and rabbit:// on the lean wire, with the stock serializer (arguments
 * passed through), a serializer with a base (arguments copied key by key on both sides) and the dict
 * context serializer. Every key comes back an own data property, with its value, in order, on the
 * endpoint's side and the caller's; after each call no prototype is polluted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, RequestContext } from '../../src/core/index.js';
import { leanExchangeOf } from '../../src/messaging/drivers/rabbit/lean.js';
import { remoteKwargsOf } from '../../src/messaging/failure.js';
import {
  DictContextSerializer,
  getRpcServer,
  getRpcTransport,
  RemoteError,
  RequestContextSerializer,
  RpcClient,
  type RpcServer,
  type Serializer,
  type Transport,
} from '../../src/messaging/index.js';
import {
  cleanup,
  rabbitAvailable,
  replyQueueOf,
  transport as rabbitTransport,
  unique,
} from './drivers/rabbit/helpers.js';
import {
  type Dict,
  expectSame,
  expectUnpolluted,
  pick,
  PROTO_KEYS_TABLE,
  ProtoEndpoint,
} from '../helpers/proto-keys.js';

const TABLE = PROTO_KEYS_TABLE;

/** A serializer with a base: both sides copy arguments and results key by key. */
const withBase = (): RequestContextSerializer =>
  new RequestContextSerializer({
    serializeEntity: (_c, e) => e,
    deserializeEntity: (_c, e) => e,
  });

interface SerializerCase {
  name: string;
  make(): Serializer<unknown>;
  /** The caller's context with the table's keys as extra keys. */
  context(extra: Dict): unknown;
  /** The context keys the endpoint and the caller see. */
  read(ctx: unknown): Dict;
}

const requestContext = (extra: Dict): RequestContext =>
  new RequestContext({ userId: 'u', projectId: 'p', extra });

const SERIALIZERS: SerializerCase[] = [
  {
    name: 'stock serializer',
    make: () => new RequestContextSerializer(),
    context: requestContext,
    read: (c) => (c instanceof RequestContext ? c.extra : (c as Dict)),
  },
  {
    name: 'serializer with a base',
    make: withBase,
    context: requestContext,
    read: (c) => (c instanceof RequestContext ? c.extra : (c as Dict)),
  },
  {
    name: 'dict context serializer',
    make: () => new DictContextSerializer(),
    context: (extra) => ({ user_id: 'u', ...extra }),
    read: (c) => c as Dict,
  },
];

interface Wire {
  /** A transport for the server side and one for the client side. */
  open(): Promise<{ server: Transport; client: Transport }>;
  cleanup(exchange: string, topics: readonly string[], transports: Transport[]): Promise<void>;
}

const silent = createLogger({ level: 'silent' });

const memoryWire: Wire = {
  async open() {
    const url = `memory://${randomUUID()}`;
    const exchange = 'tacker';
    const server = await getRpcTransport({
      transportUrl: url,
      controlExchange: exchange,
      logger: silent,
    });
    const client = await getRpcTransport({
      transportUrl: url,
      controlExchange: exchange,
      logger: silent,
    });
    return { server, client };
  },
  async cleanup() {},
};

const EXCHANGE = unique('proto-keys');

function rabbitWire(rabbit: Dict): Wire {
  return {
    async open() {
      return {
        server: await rabbitTransport(EXCHANGE),
        client: await rabbitTransport(EXCHANGE, rabbit),
      };
    },
    async cleanup(exchange, topics, transports) {
      await cleanup(
        [exchange, leanExchangeOf(exchange), ...topics.map((t) => `${t}_fanout`)],
        [...topics.flatMap((t) => [t, `${t}.host-a`]), ...transports.map((t) => replyQueueOf(t))],
      );
    },
  };
}

const hasRabbit = await rabbitAvailable();

const WIRES: { name: string; wire: Wire; skip: boolean }[] = [
  { name: 'memory://', wire: memoryWire, skip: false },
  { name: 'rabbit:// (oslo wire)', wire: rabbitWire({}), skip: !hasRabbit },
  {
    name: 'rabbit:// (lean wire)',
    wire: rabbitWire({ rpc_reply_mode: 'direct' }),
    skip: !hasRabbit,
  },
];

for (const { name, wire, skip } of WIRES) {
  describe.skipIf(skip)(`__proto__ keys over ${name}`, () => {
    let transports: { server: Transport; client: Transport } | undefined;
    const servers: RpcServer[] = [];
    const topics: string[] = [];
    const endpoints = new Map<string, ProtoEndpoint>();
    const clients = new Map<string, RpcClient<unknown>>();

    beforeAll(async () => {
      transports = await wire.open();
      for (const s of SERIALIZERS) {
        const topic = unique(`proto-${s.name.split(' ')[0] ?? 'x'}`);
        topics.push(topic);
        const endpoint = new ProtoEndpoint();
        const server = getRpcServer(transports.server, { topic, server: 'host-a' }, [endpoint], {
          serializer: s.make(),
        });
        await server.start();
        servers.push(server);
        endpoints.set(s.name, endpoint);
        clients.set(
          s.name,
          new RpcClient<unknown>(
            transports.client,
            { topic, version: '1.0' },
            { timeout: 10, serializer: s.make() },
          ),
        );
      }
    });

    afterAll(async () => {
      for (const s of servers) {
        await s.stop();
        await s.wait();
      }
      if (transports) {
        await transports.client.close();
        await transports.server.close();
        await wire.cleanup(EXCHANGE, topics, [transports.client, transports.server]);
      }
      expectUnpolluted();
    });

    for (const s of SERIALIZERS) {
      describe(s.name, () => {
        const ctx = s.context({ ...TABLE.context });

        for (const c of TABLE.args) {
          it(`arguments: ${c.name}`, async () => {
            const endpoint = endpoints.get(s.name) as ProtoEndpoint;
            const client = clients.get(s.name) as RpcClient<unknown>;
            const before = endpoint.seen.length;
            const result = await client.call(ctx, 'echo_args', c.args);
            expectSame(endpoint.seen[before], c.args); // what the endpoint got
            expectSame(result, c.args); // what came back
            expectUnpolluted();
          });
        }

        it('the context dict', async () => {
          const endpoint = endpoints.get(s.name) as ProtoEndpoint;
          const client = clients.get(s.name) as RpcClient<unknown>;
          const before = endpoint.seen.length;
          const result = (await client.call(ctx, 'echo_context')) as Dict;
          // The endpoint's context holds every key, in order, as own data...
          const seen = s.read(endpoint.seen[before]);
          expectSame(pick(seen, TABLE.context), TABLE.context);
          expect(Object.keys(seen).filter((k) => Object.hasOwn(TABLE.context, k))).toEqual(
            Object.keys(TABLE.context),
          );
          // ...and an is_admin under `__proto__` is data, not the context's is_admin.
          if (endpoint.seen[before] instanceof RequestContext)
            expect((endpoint.seen[before] as RequestContext).isAdmin).toBe(false);
          expectSame(pick(result, TABLE.context), TABLE.context);
          expect(result['is_admin'] ?? false).toBe(false);
          expectUnpolluted();
        });

        it('failure kwargs', async () => {
          const client = clients.get(s.name) as RpcClient<unknown>;
          const err = await client.call(ctx, 'fail_kwargs', { kwargs: TABLE.kwargs }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(RemoteError);
          expect((err as RemoteError).excType).toBe('ProtoKeysError');
          expectSame(remoteKwargsOf(err), TABLE.kwargs);
          expectUnpolluted();
        });
      });
    }
  });
}
