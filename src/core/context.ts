import { randomUUID } from 'node:crypto';

/** The dict form of a request context, as oslo.context 2.17 and Tacker put it on the wire. */
export interface RequestContextDict {
  user: string | null;
  tenant: string | null;
  domain: string | null;
  user_domain: string | null;
  project_domain: string | null;
  is_admin: boolean;
  read_only: boolean;
  show_deleted: boolean;
  auth_token: string | null;
  request_id: string;
  global_request_id: string | null;
  resource_uuid: string | null;
  roles: string[];
  user_identity: string;
  is_admin_project: boolean;
  user_id: string | null;
  tenant_id: string | null;
  project_id: string | null;
  timestamp: string;
  tenant_name: string | null;
  project_name: string | null;
  user_name: string | null;
}

/** Fields accepted by the {@link RequestContext} constructor. All optional. */
export interface RequestContextFields {
  userId?: string | null;
  projectId?: string | null;
  domain?: string | null;
  userDomain?: string | null;
  projectDomain?: string | null;
  isAdmin?: boolean;
  readOnly?: boolean;
  showDeleted?: boolean;
  authToken?: string | null;
  requestId?: string;
  globalRequestId?: string | null;
  resourceUuid?: string | null;
  roles?: readonly string[];
  isAdminProject?: boolean;
  timestamp?: string;
  projectName?: string | null;
  userName?: string | null;
  /** Keys this class does not know (newer oslo.context fields, a caller's own), carried through as is. */
  extra?: Readonly<Record<string, unknown>>;
}

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'user',
  'tenant',
  'domain',
  'user_domain',
  'project_domain',
  'is_admin',
  'read_only',
  'show_deleted',
  'auth_token',
  'request_id',
  'global_request_id',
  'resource_uuid',
  'roles',
  'user_identity',
  'is_admin_project',
  'user_id',
  'tenant_id',
  'project_id',
  'timestamp',
  'tenant_name',
  'project_name',
  'user_name',
]);

const NO_ROLES: readonly string[] = Object.freeze([]);
const NO_EXTRA: Readonly<Record<string, unknown>> = Object.freeze(
  Object.create(null) as Record<string, unknown>,
);

/**
 * `o[k] = v` for a key from the wire: `__proto__` is data, defined as an own property (assigning it
 * would set a plain object's prototype).
 */
export function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') {
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  } else {
    o[k] = v;
  }
}

/**
 * Unknown keys only, on a null-prototype object. A key named `__proto__` (or `constructor`) is kept
 * as an own data property like any other: on a null-prototype object no key reaches a prototype.
 */
function ownExtra(fields: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  let extra: Record<string, unknown> | undefined;
  for (const k of Object.keys(fields)) {
    if (KNOWN_KEYS.has(k)) continue;
    extra ??= Object.create(null) as Record<string, unknown>;
    setOwn(extra, k, fields[k]);
  }
  return extra ? Object.freeze(extra) : NO_EXTRA;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const bool = (v: unknown, dflt: boolean): boolean => (typeof v === 'boolean' ? v : dflt);

/** The strings of a wire array (anything else: none). */
function stringsOf(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const r of v) if (typeof r === 'string') out.push(r);
  return out;
}

/** `str(datetime.utcnow())` as Python prints it: `2017-09-01 10:00:00.123456`. */
export function pythonTimestamp(date: Date = new Date()): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.${String(date.getUTCMilliseconds()).padStart(3, '0')}000`;
}

/**
 * Who asks, on whose behalf, and the request's id: oslo.context's `RequestContext` with Tacker's
 * additions. Immutable. Travels as `_context_<key>` entries on the wire ({@link toDict}).
 */
export class RequestContext {
  readonly userId: string | null;
  readonly projectId: string | null;
  readonly domain: string | null;
  readonly userDomain: string | null;
  readonly projectDomain: string | null;
  readonly isAdmin: boolean;
  readonly readOnly: boolean;
  readonly showDeleted: boolean;
  readonly authToken: string | null;
  #requestId: string | undefined;
  readonly globalRequestId: string | null;
  readonly resourceUuid: string | null;
  readonly roles: readonly string[];
  readonly isAdminProject: boolean;
  #timestamp: string | number;
  readonly projectName: string | null;
  readonly userName: string | null;
  /**
   * Unknown keys received with the context, sent on again by {@link toDict}: a frozen
   * null-prototype object, whose keys (`__proto__` included) are all own data properties.
   */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(fields: RequestContextFields = {}) {
    this.userId = fields.userId ?? null;
    this.projectId = fields.projectId ?? null;
    this.domain = fields.domain ?? null;
    this.userDomain = fields.userDomain ?? null;
    this.projectDomain = fields.projectDomain ?? null;
    this.isAdmin = fields.isAdmin ?? false;
    this.readOnly = fields.readOnly ?? false;
    this.showDeleted = fields.showDeleted ?? false;
    this.authToken = fields.authToken ?? null;
    // Made on first use: a context nobody reads the id or time of (most periodic runs) costs nothing.
    this.#requestId = fields.requestId;
    this.globalRequestId = fields.globalRequestId ?? null;
    this.resourceUuid = fields.resourceUuid ?? null;
    this.roles = fields.roles?.length ? Object.freeze([...fields.roles]) : NO_ROLES;
    this.isAdminProject = fields.isAdminProject ?? true;
    this.#timestamp = fields.timestamp ?? Date.now();
    this.projectName = fields.projectName ?? null;
    this.userName = fields.userName ?? null;
    this.extra = fields.extra ? ownExtra(fields.extra) : NO_EXTRA;
    Object.freeze(this);
  }

  /** `req-<uuid4>`, made on first use unless given. */
  get requestId(): string {
    this.#requestId ??= `req-${randomUUID()}`;
    return this.#requestId;
  }

  /** When the context was made, as Python's `str(datetime.utcnow())`. */
  get timestamp(): string {
    if (typeof this.#timestamp === 'number')
      this.#timestamp = pythonTimestamp(new Date(this.#timestamp));
    return this.#timestamp;
  }

  /** oslo.context's `user_identity`: five fields, `-` for a missing one. */
  get userIdentity(): string {
    return [this.userId, this.projectId, this.domain, this.userDomain, this.projectDomain]
      .map((v) => v ?? '-')
      .join(' ');
  }

  /**
   * The wire dict, with keys in the order Tacker sends them, then the extra keys. Contains the auth
   * token in clear.
   */
  toDict(): RequestContextDict {
    const d: RequestContextDict = {
      user: this.userId,
      tenant: this.projectId,
      domain: this.domain,
      user_domain: this.userDomain,
      project_domain: this.projectDomain,
      is_admin: this.isAdmin,
      read_only: this.readOnly,
      show_deleted: this.showDeleted,
      auth_token: this.authToken,
      request_id: this.requestId,
      global_request_id: this.globalRequestId,
      resource_uuid: this.resourceUuid,
      roles: [...this.roles],
      user_identity: this.userIdentity,
      is_admin_project: this.isAdminProject,
      user_id: this.userId,
      tenant_id: this.projectId,
      project_id: this.projectId,
      timestamp: this.timestamp,
      tenant_name: this.projectName,
      project_name: this.projectName,
      user_name: this.userName,
    };
    for (const [k, v] of Object.entries(this.extra))
      setOwn(d as unknown as Record<string, unknown>, k, v);
    return d;
  }

  /**
   * Rebuilds a context from a wire dict. Known keys with a value of the wrong type are ignored;
   * unknown keys are kept in {@link extra}, in order — `__proto__`, `constructor` and `prototype`
   * too, as own data properties — and sent on by {@link toDict}; nothing can reach a prototype.
   */
  static fromDict(d: Readonly<Record<string, unknown>>): RequestContext {
    // One pass over the keys, no lookups per known key: this runs for every request a server
    // receives. Own keys only (Object.keys), so nothing comes from a prototype.
    const b = new ContextBuilder();
    for (const k of Object.keys(d)) b.add(k, d[k]);
    return b.build();
  }

  /**
   * Rebuilds a context straight from a decoded oslo request, whose context travels as
   * `_context_<key>` entries beside the request's own fields: the same as
   * `fromDict(<the _context_ entries, unprefixed>)`, without building that dict.
   */
  static fromPrefixed(message: Readonly<Record<string, unknown>>): RequestContext {
    const b = new ContextBuilder();
    for (const k of Object.keys(message)) {
      // '_' (95) first: most keys of a request are context keys, the rest are a handful.
      if (k.charCodeAt(0) === 95 && k.startsWith(CONTEXT_PREFIX)) b.add(unprefixed(k), message[k]);
    }
    return b.build();
  }

  /** For logs: the dict form with the auth token masked. */
  toJSON(): RequestContextDict {
    const d = this.toDict();
    if (d.auth_token !== null) d.auth_token = '***';
    return d;
  }
}

/** An admin context, as Tacker's `get_admin_context()` builds for periodic tasks. */
export function getAdminContext(): RequestContext {
  return new RequestContext({ isAdmin: true });
}

const CONTEXT_PREFIX = '_context_';
/** `_context_k` -> `k`, for the keys seen (bounded: keys from the wire are arbitrary). */
const unprefixedNames = new Map<string, string>();

function unprefixed(key: string): string {
  let name = unprefixedNames.get(key);
  if (name === undefined) {
    name = key.slice(CONTEXT_PREFIX.length);
    if (unprefixedNames.size < 512 && key.length <= 64) unprefixedNames.set(key, name);
  }
  return name;
}

/** The fields of a context read from its wire keys, one key at a time. */
class ContextBuilder {
  readonly f: RequestContextFields = {};
  user: unknown;
  tenant: unknown;
  tenantId: unknown;
  tenantName: unknown;
  extra: Record<string, unknown> | undefined;

  /** Known keys with a value of the wrong type are ignored; unknown keys go to `extra`. */
  add(k: string, v: unknown): void {
    const f = this.f;
    switch (k) {
      case 'user_id':
        f.userId = str(v);
        break;
      case 'user':
        this.user = v;
        break;
      case 'project_id':
        f.projectId = str(v);
        break;
      case 'tenant_id':
        this.tenantId = v;
        break;
      case 'tenant':
        this.tenant = v;
        break;
      case 'domain':
        f.domain = str(v);
        break;
      case 'user_domain':
        f.userDomain = str(v);
        break;
      case 'project_domain':
        f.projectDomain = str(v);
        break;
      case 'is_admin':
        f.isAdmin = bool(v, false);
        break;
      case 'read_only':
        f.readOnly = bool(v, false);
        break;
      case 'show_deleted':
        f.showDeleted = bool(v, false);
        break;
      case 'auth_token':
        f.authToken = str(v);
        break;
      case 'request_id':
        if (typeof v === 'string') f.requestId = v;
        break;
      case 'global_request_id':
        f.globalRequestId = str(v);
        break;
      case 'resource_uuid':
        f.resourceUuid = str(v);
        break;
      case 'roles':
        f.roles = stringsOf(v);
        break;
      case 'is_admin_project':
        f.isAdminProject = bool(v, true);
        break;
      case 'timestamp':
        if (typeof v === 'string') f.timestamp = v;
        break;
      case 'project_name':
        f.projectName = str(v);
        break;
      case 'tenant_name':
        this.tenantName = v;
        break;
      case 'user_name':
        f.userName = str(v);
        break;
      case 'user_identity':
        break;
      default:
        // Null-prototype: every key, `__proto__` included, is an own data property.
        this.extra ??= Object.create(null) as Record<string, unknown>;
        this.extra[k] = v;
    }
  }

  build(): RequestContext {
    const f = this.f;
    f.userId ??= str(this.user);
    f.projectId ??= str(this.tenantId) ?? str(this.tenant);
    f.projectName ??= str(this.tenantName);
    // The constructor copies `extra` onto a frozen null-prototype object.
    if (this.extra) f.extra = this.extra;
    return new RequestContext(f);
  }
}
