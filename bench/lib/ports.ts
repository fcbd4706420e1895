/** Free TCP ports on loopback, for the servers that benches and fault tests start. */
import { type AddressInfo, createServer } from 'node:net';

/** A TCP port nothing listens on (bound, then freed just now). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
