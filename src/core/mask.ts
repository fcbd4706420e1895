/** What a secret looks like when printed. */
export const MASK = '***';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([\s\S]*)$/;
/** `host`, `host:port`, `[v6]`, `[v6]:port`, or empty (`sqlite:///path`). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]*)(?::\d*)?$/;
const SECRET_QUERY = /([?&;](?:password|passwd|pass|pwd|secret|token)=)[^&;#]*/gi;

/**
 * Masks the password of every `user:password@host` of a URL (`rabbit://guest:***@host:5672/`,
 * `mysql+pymysql://tacker:***@db/tacker`) and `password=` / `secret=` / `token=` query parameters.
 * User names, hosts, ports, paths stay visible.
 *
 * The credentials are taken up to the **last** `@` (so a password with a raw `@`, `/`, `?` or `#`
 * is still masked whole). When the layout is ambiguous (comma-separated hosts with and without
 * credentials, a user part containing `@`, or a "host" that is not one), everything between `://`
 * and the last `@` is masked instead: over-masking rather than a leak. A value that is not a URL
 * (no `scheme://`) is masked completely.
 */
export function maskUrlPassword(url: string): string {
  const m = SCHEME.exec(url);
  if (!m) return MASK;
  const scheme = m[1] as string;
  const rest = m[2] as string;
  const lastAt = rest.lastIndexOf('@');
  if (lastAt < 0) return scheme + rest.replace(SECRET_QUERY, `$1${MASK}`);
  const after = rest.slice(lastAt + 1).search(/[/?#]/);
  const hostEnd = after < 0 ? rest.length : lastAt + 1 + after;
  const authority = rest.slice(0, hostEnd);
  const tail = rest.slice(hostEnd).replace(SECRET_QUERY, `$1${MASK}`);
  const masked: string[] = [];
  for (const entry of authority.split(',')) {
    const at = entry.lastIndexOf('@');
    if (at < 0) return fallback(scheme, authority, tail);
    const cred = entry.slice(0, at);
    const host = entry.slice(at + 1);
    if (!HOST.test(host)) return fallback(scheme, authority, tail);
    const colon = cred.indexOf(':');
    if (colon < 0) {
      if (cred.includes('@')) return fallback(scheme, authority, tail);
      masked.push(entry); // a user without a password
    } else {
      masked.push(`${cred.slice(0, colon)}:${MASK}@${host}`);
    }
  }
  return scheme + masked.join(',') + tail;
}

function fallback(scheme: string, authority: string, tail: string): string {
  return `${scheme}${MASK}@${authority.slice(authority.lastIndexOf('@') + 1)}${tail}`;
}
