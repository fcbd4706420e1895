import {
  InvalidCoordinationUrl,
  MASK,
  maskUrlPassword,
  UnsupportedCoordinationBackend,
} from '../core/index.js';

/** The backends a coordination URL can name. */
export type CoordinationScheme = 'memory' | 'redis' | 'postgresql';

/** A parsed `[coordination] backend_url`. */
export interface CoordinationUrl {
  readonly scheme: CoordinationScheme;
  /** The URL as given (holds the password: never log it). */
  readonly url: string;
  /** The URL with its password masked, for logs and health reports. */
  readonly where: string;
  /** `memory://name`: the name of the in-process space ('' when absent). */
  readonly name: string;
}

const SCHEMES: Readonly<Record<string, CoordinationScheme>> = {
  'memory:': 'memory',
  'redis:': 'redis',
  'rediss:': 'redis',
  'postgresql:': 'postgresql',
  'postgres:': 'postgresql',
};

/** `scheme://[userinfo@]host[:port]`: the host and the port as written, when there is a port. */
const AUTHORITY_PORT =
  /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)((?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#[\]]*)):([^/?#]*)([\s\S]*)$/;

/**
 * Why `new URL()` refused `url`, and the URL as the error may show it. A "port" that is not a
 * number, with no `@` before it, is masked: `redis://user:secret` reads as host `user` and port
 * `secret` (maskUrlPassword masks only what comes before an `@`).
 */
function notAUrl(url: string): InvalidCoordinationUrl {
  const m = AUTHORITY_PORT.exec(url);
  const [, scheme = '', authority = '', port = '', rest = ''] = m ?? [];
  if (!m || port === '' || (/^\d+$/.test(port) && Number(port) <= 65535)) {
    return new InvalidCoordinationUrl(maskUrlPassword(url), 'not a URL (expected scheme://...)');
  }
  const hidden = !authority.includes('@') && !/^\d+$/.test(port);
  const where = hidden
    ? maskUrlPassword(`${scheme}${authority}:${MASK}${rest}`)
    : maskUrlPassword(url);
  // Quoted only when the masked URL shows it anyway (with a raw '@' in a password, the "port" may
  // hold part of the password).
  const quoted = !hidden && where.includes(`:${port}`) ? ` '${port}'` : '';
  return new InvalidCoordinationUrl(where, `invalid port${quoted} (expected an integer 0..65535)`);
}

/**
 * The database index of a parsed `redis://` URL: its path (`/2`) or, without a path, its `?db=`
 * query (as ioredis reads them); 0 when neither is given. Throws `InvalidCoordinationUrl` (naming
 * `where`, the masked URL) when it is not a non-negative integer: ioredis would send `SELECT NaN`,
 * or `parseInt` would quietly read `/2x` as db 2. Whether the server has that many databases is
 * only known once connected (`RedisBackend.connect`).
 */
export function redisDbIndex(parsed: URL, where: string): number {
  const path = parsed.pathname === '/' ? '' : parsed.pathname.slice(1);
  const query = parsed.searchParams.get('db');
  // As written: ioredis does not decode a percent-escape (`/%31` would be `SELECT NaN`).
  const text = path !== '' ? path : query;
  if (text === null) return 0;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidCoordinationUrl(
      where,
      `the db index must be a non-negative integer (redis://host:port/0)${where.includes(text) ? `, got '${text}'` : ''}`,
    );
  }
  return Number(text);
}

/**
 * Parses a coordination backend URL: `memory://[name]`, `redis://[:password@]host[:port][/db]`
 * (`rediss://` for TLS) or `postgresql://user[:password]@host[:port]/database`. Errors name the URL
 * with its password masked; a redis db index that is not a non-negative integer is an error.
 */
export function parseCoordinationUrl(url: unknown): CoordinationUrl {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidCoordinationUrl(
      JSON.stringify(url ?? null),
      'expected a non-empty URL string',
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw notAUrl(url);
  }
  const where = maskUrlPassword(url);
  const scheme = SCHEMES[parsed.protocol];
  if (!scheme) throw new UnsupportedCoordinationBackend(parsed.protocol.replace(/:$/, ''));
  if (scheme !== 'memory' && parsed.hostname === '') {
    throw new InvalidCoordinationUrl(where, 'a host is required');
  }
  if (scheme === 'redis') redisDbIndex(parsed, where);
  return { scheme, url, where, name: scheme === 'memory' ? parsed.host + parsed.pathname : '' };
}
