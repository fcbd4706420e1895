import { InvalidTransportUrl, MASK, maskUrlPassword, UnsupportedTransport } from '../core/index.js';

/** One broker address of a transport URL. */
export interface TransportHost {
  readonly hostname: string;
  readonly port: number | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/** A parsed transport URL: `driver://[user:pass@]host[:port][,...]/[vhost][?query]`. */
export interface TransportUrl {
  /** `memory` or `rabbit` (`amqp` is read as `rabbit`). */
  readonly transport: 'memory' | 'rabbit';
  readonly hosts: readonly TransportHost[];
  /** Virtual host (rabbit) or bus name (memory); undefined when the path is empty. */
  readonly virtualHost: string | undefined;
  readonly query: Readonly<Record<string, string>>;
}

const SCHEMES: Readonly<Record<string, TransportUrl['transport']>> = {
  memory: 'memory',
  rabbit: 'rabbit',
  amqp: 'rabbit',
  amqps: 'rabbit',
};

/**
 * Parses a transport URL as oslo.messaging does: several comma-separated hosts, each with optional
 * credentials; percent-escapes decoded. Throws `InvalidTransportUrl` naming what is wrong (the
 * message never contains the password).
 *
 * An `@` after the host list (in the virtual host or the query) is refused: it is what a password
 * with a raw `/` or `?` looks like (`rabbit://user:pa/ss@host/`), whose end would otherwise be read
 * as the virtual host and its start as a host or port, and then logged. Such characters, and an
 * `@` of a virtual host, must be percent-encoded (`%2F`, `%3F`, `%23`, `%40`).
 */
export function parseTransportUrl(url: string): TransportUrl {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m)
    throw new InvalidTransportUrl(
      `Invalid transport URL '${maskTransportUrl(url)}': expected driver://host/...`,
    );
  const scheme = (m[1] as string).toLowerCase();
  const transport = SCHEMES[scheme];
  if (!transport) {
    throw new UnsupportedTransport(scheme);
  }
  if (`${m[3] ?? ''}?${m[4] ?? ''}`.includes('@'))
    throw new InvalidTransportUrl(
      `Invalid transport URL '${maskTransportUrl(url)}': '@' after the host list; percent-encode '/', '?', '#' and '@' in user names, passwords and virtual hosts (%2F, %3F, %23, %40)`,
    );
  const hosts: TransportHost[] = [];
  for (const part of (m[2] as string).split(',').filter((p) => p !== '')) {
    const at = part.lastIndexOf('@');
    const cred = at >= 0 ? part.slice(0, at) : undefined;
    const hostPort = at >= 0 ? part.slice(at + 1) : part;
    const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
    if (!hp)
      throw new InvalidTransportUrl(
        `Invalid host '${at >= 0 ? hostPort : shownHost(hostPort)}' in transport URL`,
      );
    const [user, pass] = cred === undefined ? [undefined, undefined] : splitOnce(cred, ':');
    const port = hp[2] === undefined ? undefined : Number(hp[2]);
    if (port !== undefined && (port < 1 || port > 65535))
      throw new InvalidTransportUrl(`Invalid port ${port} in transport URL`);
    hosts.push({
      hostname: decodeURIComponent((hp[1] as string).replace(/^\[|\]$/g, '')),
      port,
      username: user === undefined ? undefined : decodeURIComponent(user),
      password: pass === undefined ? undefined : decodeURIComponent(pass),
    });
  }
  if (transport === 'rabbit' && scheme === 'amqps' && !/(^|&)ssl=/.test(m[4] ?? ''))
    m[4] = `${m[4] ? `${m[4]}&` : ''}ssl=1`;
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(m[4] ?? '')) query[k] = v;
  const path = m[3];
  return {
    transport,
    hosts,
    virtualHost: path === undefined || path === '' ? undefined : decodeURIComponent(path),
    query,
  };
}

/**
 * A host without credentials before it that did not parse, as an error message may show it: what
 * follows its first `:` (outside `[...]`) is masked, since `user:secret` without `@host` reads as a
 * host with a port that is no number. (After an `@`, the credentials are split off already.)
 */
function shownHost(hostPort: string): string {
  const start = hostPort.startsWith('[') ? hostPort.indexOf(']') : 0;
  const colon = start < 0 ? -1 : hostPort.indexOf(':', start);
  return colon < 0 ? hostPort : `${hostPort.slice(0, colon)}:${MASK}`;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** The URL with every password replaced by `***`, for logs and config dumps (core's `maskUrlPassword`). */
export function maskTransportUrl(url: string): string {
  return maskUrlPassword(url);
}
