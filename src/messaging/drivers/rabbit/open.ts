import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { type ChannelModel, connect, credentials } from 'amqplib';
import type { BrokerEndpoint, ConnectionConfig } from './connection.js';

/** `<argv[1] basename>:<pid>:<uuid4>`, the connection name oslo.messaging sends. */
export function connectionName(): string {
  const script = process.argv[1] ? basename(process.argv[1]) : 'node';
  return `${script}:${process.pid}:${randomUUID()}`;
}

/**
 * Opens one AMQP connection to `e` with oslo.messaging's login, locale, frame size, heartbeat and
 * client properties, its socket writes coalesced per event-loop turn ({@link coalesceWrites}).
 * `rabbit_connect_timeout` is amqplib's socket timeout: real time, since it bounds socket I/O.
 */
export async function openConnection(
  config: ConnectionConfig,
  e: BrokerEndpoint,
): Promise<ChannelModel> {
  const { options: o, tls } = config;
  const cred =
    o.rabbit_login_method === 'EXTERNAL'
      ? credentials.external()
      : o.rabbit_login_method === 'PLAIN'
        ? credentials.plain(e.username, e.password)
        : credentials.amqplain(e.username, e.password);
  const conn = await connect(
    {
      protocol: tls ? 'amqps' : 'amqp',
      hostname: e.hostname,
      port: e.port,
      // The login goes through `credentials` below.
      locale: 'en_US',
      frameMax: 131072,
      heartbeat: o.heartbeat_timeout_threshold,
      // amqplib unescapes the vhost once.
      vhost: encodeURIComponent(config.virtualHost),
    },
    {
      ...(tls ?? {}),
      servername: e.hostname,
      credentials: cred,
      noDelay: true,
      timeout: o.rabbit_connect_timeout * 1000,
      clientProperties: { product: 'conductor-ts', connection_name: connectionName() },
    },
  );
  coalesceWrites(conn);
  return conn;
}

/**
 * amqplib writes every frame with its own socket write; under load that is one syscall per frame.
 * Corking the socket on the first write of an event-loop turn and uncorking on the next tick sends a
 * turn's frames in one `writev`, without delaying any of them past the current turn.
 */
function coalesceWrites(conn: ChannelModel): void {
  const stream = (
    conn as unknown as {
      connection?: {
        stream?: NodeJS.WritableStream & {
          cork?: () => void;
          uncork?: () => void;
          write: (...a: unknown[]) => boolean;
        };
      };
    }
  ).connection?.stream;
  if (!stream || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
  const write = stream.write.bind(stream);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork?.();
  };
  stream.write = (...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      stream.cork?.();
      process.nextTick(uncork);
    }
    return write(...args);
  };
}
