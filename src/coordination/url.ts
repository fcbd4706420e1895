import {
  InvalidCoordinationUrl,
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

/**
 * Parses a coordination backend URL: `memory://[name]`, `redis://[:password@]host[:port][/db]`
 * (`rediss://` for TLS) or `postgresql://user[:password]@host[:port]/database`. Errors name the URL
 * with its password masked.
 */
export function parseCoordinationUrl(url: unknown): CoordinationUrl {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidCoordinationUrl(
      JSON.stringify(url ?? null),
      'expected a non-empty URL string',
    );
  }
  const where = maskUrlPassword(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidCoordinationUrl(where, 'not a URL (expected scheme://...)');
  }
  const scheme = SCHEMES[parsed.protocol];
  if (!scheme) throw new UnsupportedCoordinationBackend(parsed.protocol.replace(/:$/, ''));
  if (scheme !== 'memory' && parsed.hostname === '') {
    throw new InvalidCoordinationUrl(where, 'a host is required');
  }
  return { scheme, url, where, name: scheme === 'memory' ? parsed.host + parsed.pathname : '' };
}
