import { isIPv4, isIPv6 } from 'node:net';
import { InvalidListenAddress } from '../core/index.js';

/** Where the ops endpoint listens. */
export interface ListenAddress {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
}

/** Host of an address that names none (`:9410`): loopback, so nothing is exposed unless asked. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';

const HOSTNAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function bad(text: string, why: string): InvalidListenAddress {
  return new InvalidListenAddress(JSON.stringify(text), why);
}

/**
 * Parses an ops listen address: `127.0.0.1:9410`, `0.0.0.0:9410`, `localhost:9410`, `[::1]:9410`,
 * or `:9410` (host left out: {@link DEFAULT_LISTEN_HOST}, loopback). `0` or an empty string
 * disables the endpoint (undefined). Port 0 (`:0`) picks a free port. Anything else throws
 * `InvalidListenAddress` naming the text.
 */
export function parseListen(text: string): ListenAddress | undefined {
  if (typeof text !== 'string') throw bad(String(text), 'not a string');
  const t = text.trim();
  if (t === '' || t === '0') return undefined;
  if (t.includes('://')) throw bad(text, 'a URL, not an address');
  const colon = t.lastIndexOf(':');
  if (colon < 0) throw bad(text, `no port; write :${t} for loopback`);
  let host = t.slice(0, colon);
  const portText = t.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
    throw bad(text, 'the port must be an integer 0..65535');
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (!isIPv6(host)) throw bad(text, `${host} is not an IPv6 address`);
  } else if (host === '') {
    host = DEFAULT_LISTEN_HOST;
  } else if (host.includes(':')) {
    throw bad(text, 'an IPv6 address needs brackets, as in [::1]:9410');
  } else if (!isIPv4(host) && !HOSTNAME.test(host)) {
    throw bad(text, `${host} is not a host name or IP address`);
  }
  return { host, port: Number(portText) };
}

/** `host:port`, with brackets around an IPv6 host (`[::1]:9410`), for logs and errors. */
export function formatListen(address: ListenAddress): string {
  return isIPv6(address.host)
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
