import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type ChannelModel, connect, credentials } from 'amqplib';
import { createLogger, RequestContext } from '../../../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  RpcClient,
  type RpcServer,
  type RpcServerOptions,
  type Transport,
  type TransportOptions,
} from '../../../../src/messaging/index.js';

const run = promisify(execFile);

/** The broker the rabbit tests use. */
export const RABBIT_URL = process.env['RABBIT_URL'] ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const AMQP = { hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' };

/**
 * True when the broker answers. Under CI=true an unreachable broker is an error (the tests must
 * run); otherwise the rabbit tests are skipped with a loud warning.
 */
export async function rabbitAvailable(): Promise<boolean> {
  try {
    const c = await connect(AMQP, { timeout: 2000 });
    await c.close();
    return true;
  } catch (err) {
    if (process.env['CI'] === 'true') {
      throw new Error(
        `RabbitMQ is not reachable at ${AMQP.hostname}:${AMQP.port} (CI=true): ${String(err)}`,
      );
    }
    console.warn(
      `\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n` +
        `!!! RabbitMQ is not reachable at ${AMQP.hostname}:${AMQP.port}: SKIPPING the rabbit driver tests.\n` +
        `!!! (${String(err)})\n` +
        `!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`,
    );
    return false;
  }
}

/** A name no other test (file, run) uses. */
export function unique(what = 'test'): string {
  return `${what}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/** A raw amqplib connection (PLAIN login) to inspect or inject wire traffic. */
export async function rawConnection(): Promise<ChannelModel> {
  const c = await connect(AMQP, {
    credentials: credentials.plain('guest', 'guest'),
    clientProperties: { connection_name: `raw-test-${process.pid}` },
  });
  c.on('error', () => undefined);
  return c;
}

/** Polls `cond` every 20 ms until true; throws after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Has the broker force-close (CONNECTION_FORCED) every connection whose `connection_name`
 * contains `marker` — by default every driver connection of this process (`<script>:<pid>:<uuid>`).
 * Returns how many were closed.
 */
export async function cutConnections(marker = `:${process.pid}:`): Promise<number> {
  const expr =
    `Pat = <<"${marker}">>, ` +
    `length([rabbit_networking:close_connection(P, "cut by test") || P <- rabbit_networking:connections(), ` +
    `begin [{client_properties, CP}] = rabbit_networking:connection_info(P, [client_properties]), ` +
    `case lists:keyfind(<<"connection_name">>, 1, CP) of {_, longstr, N} -> binary:match(N, Pat) =/= nomatch; _ -> false end end]).`;
  const { stdout } = await run('rabbitmqctl', ['eval', expr], { timeout: 20_000 });
  return Number(stdout.trim());
}

export const ctx = (): RequestContext =>
  new RequestContext({ userId: 'user-1', projectId: 'project-1', isAdmin: true, roles: ['admin'] });

/** The log level of test transports: CONDUCTOR_LOG_LEVEL, else silent. */
export const quietLogger = () =>
  createLogger({ level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'silent' });

/** A transport on the test broker with a control exchange of its own. */
export function transport(
  controlExchange: string,
  rabbit: Record<string, unknown> = {},
  extra: Partial<TransportOptions> = {},
): Promise<Transport> {
  return getRpcTransport({
    transportUrl: RABBIT_URL,
    controlExchange,
    rabbit,
    logger: quietLogger(),
    ...extra,
  });
}

/** Starts a server; returns it. */
export async function startServer(
  t: Transport,
  topic: string,
  server: string,
  endpoints: object[],
  options: RpcServerOptions = {},
): Promise<RpcServer> {
  const s = getRpcServer(t, { topic, server }, endpoints, options);
  await s.start();
  return s;
}

export { RpcClient };

/** A Python builtin a peer can rebuild. */
export class ValueError extends Error {
  override name = 'ValueError';
}

/** The test endpoint. */
export class Calc {
  calls = 0;
  readonly seen: unknown[] = [];

  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    this.calls++;
    this.seen.push(args.value);
    return args.value;
  }

  whoami(c: RequestContext): unknown {
    return { user: c.userId, project: c.projectId, admin: c.isAdmin };
  }

  fail(_ctx: RequestContext, args: { message?: string }): never {
    throw new ValueError(args.message ?? 'bad value');
  }

  async sleep(_ctx: RequestContext, args: { seconds: number }): Promise<number> {
    await new Promise((r) => setTimeout(r, args.seconds * 1000));
    this.calls++;
    return args.seconds;
  }
}

/** Deletes what a test file declared (best effort; the broker keeps non-durable queues otherwise). */
export async function cleanup(
  exchanges: readonly string[],
  queues: readonly (string | undefined)[],
): Promise<void> {
  let c: ChannelModel | undefined;
  try {
    c = await rawConnection();
    for (const q of queues) {
      if (!q) continue;
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const x of exchanges) {
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } catch {
    // best effort
  } finally {
    await c?.close().catch(() => undefined);
  }
}

/** The reply queue of a rabbit transport. */
export function replyQueueOf(t: Transport): string | undefined {
  return (t.driver as { replyQueue?: string }).replyQueue;
}
