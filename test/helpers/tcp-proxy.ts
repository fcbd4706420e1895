/**
 * A tiny TCP proxy for fault tests: point a client at `proxy.port` instead of the real service, then
 * `cut()` its connections (a server restart, a dropped network) or `block()` the service outright
 * (down until `unblock()`), without touching the service other tests share.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/** A running proxy from {@link startTcpProxy}. */
export interface TcpProxy {
  /** The local port it listens on (127.0.0.1). */
  readonly port: number;
  /** Destroys every current connection (both sides); new ones are accepted as before. */
  cut(): void;
  /**
   * Destroys every current connection and every new one at once, as a service that is down does
   * (the client sees the connection accepted, then closed), until {@link unblock}.
   */
  block(): void;
  /** Accepts and forwards new connections again. */
  unblock(): void;
  /** How many client connections are open through it now. */
  connections(): number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) that forwards every connection to
 * `targetHost:targetPort`. A failing target closes the client's connection, as the service would.
 */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  /** Each client socket with its upstream socket. */
  const pairs = new Map<Socket, Socket>();
  let blocked = false;

  const destroyAll = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect({ port: targetPort, host: targetHost });
    pairs.set(client, upstream);
    const drop = (): void => {
      pairs.delete(client);
      client.destroy();
      upstream.destroy();
    };
    // Errors (resets, a refused target) end the pair; a listener keeps them from being thrown.
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    port: (server.address() as AddressInfo).port,
    cut: destroyAll,
    block(): void {
      blocked = true;
      destroyAll();
    },
    unblock(): void {
      blocked = false;
    },
    connections: () => pairs.size,
    close(): Promise<void> {
      blocked = true;
      destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
