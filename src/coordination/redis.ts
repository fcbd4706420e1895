import { Redis } from 'ioredis';
import {
  CoordinationUnavailable,
  InvalidCoordinationOption,
  maskUrlPassword,
} from '../core/index.js';
import type { BackendOptions, CoordinationBackend, LeaseRecord } from './backend.js';
import { redisDbIndex } from './url.js';

/*
 * Key layout (all under `${keyPrefix}:`):
 *   lease:<name>  string `${token}|${member}` with a PX expiry: exists only while the lease is held
 *   fence:<name>  integer counter (no expiry): the last fencing token handed out for <name>
 *   slot:<name>   the last slot claimed under <name> (no expiry: outlives the lease)
 *   group:<group> sorted set member -> expiry in ms by the Redis server clock
 * The token comes first in the lease value and never contains '|', so splitting at the first '|'
 * gives back members that contain '|' or ':' intact.
 *
 * Every script touches more than one key; they are for a standalone (or Sentinel-managed) Redis, not
 * Redis Cluster, where the keys of one name would land in different hash slots.
 */

/** Lets scripts write after TIME on Redis < 5 (effects replication is the default since 5). */
const EFFECTS = 'if redis.replicate_commands then redis.replicate_commands() end\n';

/** The Redis server's clock in ms, as a Lua number (exact: far below 2^53). */
const NOW_MS =
  'local t = redis.call("TIME")\n' +
  'local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n';

/**
 * KEYS: lease, fence. ARGV: member, ttl ms. Returns the token (a string), or nil when another member
 * holds the lease. A fence counter that does not exist (first use, or lost with a restart of a Redis
 * without persistence, or evicted) is seeded with the server time in microseconds, so tokens keep
 * growing across such a loss as long as fewer than one holding per microsecond was handed out and
 * the server clock did not go back.
 */
const ACQUIRE =
  EFFECTS +
  `local cur = redis.call('GET', KEYS[1])
if cur then
  local bar = string.find(cur, '|', 1, true)
  if bar and string.sub(cur, bar + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return string.sub(cur, 1, bar - 1)
  end
  return false
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2])))
end
redis.call('INCR', KEYS[2])
-- GET gives the counter's exact decimal text (Lua's tostring would round a large number).
local token = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[1], token .. '|' .. ARGV[1], 'PX', ARGV[2])
return token`;

/** KEYS: lease. ARGV: `${token}|${member}`, ttl ms. 1 when extended, else 0. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** KEYS: lease. ARGV: `${token}|${member}`. 1 when deleted, else 0. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** KEYS: lease. `{value, pttl}` or nil; one script so that the key cannot expire between the two. */
const HOLDER = `local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}`;

/**
 * KEYS: lease, slot. ARGV: `${token}|${member}`, slot. 1 when recorded. The lease key exists only
 * while unexpired, so an equal value means "held now, with this token".
 */
const CLAIM_SLOT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local last = redis.call('GET', KEYS[2])
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

/**
 * KEYS: group. ARGV: member, ttl ms. Drops expired members, sets this one's expiry, and keeps the
 * whole key alive for at least 2·ttl (never shortening it, since other members may use a longer
 * ttl) so that a group everyone abandoned disappears.
 */
const HEARTBEAT =
  EFFECTS +
  NOW_MS +
  `local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[1])
if redis.call('PTTL', KEYS[1]) < 2 * ttl then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', 2 * ttl))
end
return 1`;

/** KEYS: group. The unexpired members (expiry > now), after dropping the expired ones. */
const MEMBERS =
  EFFECTS +
  NOW_MS +
  `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%.0f', now), '+inf')`;

/** The commands `defineCommand` adds (ioredis types them only by declaration merging). */
interface Scripts {
  conductorAcquire(lease: string, fence: string, member: string, ttlMs: number): Promise<unknown>;
  conductorRenew(lease: string, value: string, ttlMs: number): Promise<unknown>;
  conductorRelease(lease: string, value: string): Promise<unknown>;
  conductorHolder(lease: string): Promise<unknown>;
  conductorClaimSlot(lease: string, slot: string, value: string, slotArg: string): Promise<unknown>;
  conductorHeartbeat(group: string, member: string, ttlMs: number): Promise<unknown>;
  conductorMembers(group: string): Promise<unknown>;
}

type ScriptedRedis = Redis & Scripts;

/** `connect()` not yet (successfully) called, connected, or closed. */
type State = 'idle' | 'open' | 'closed';

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Seconds to PX milliseconds: a positive integer, as SET PX and PEXPIRE require. */
function ttlMs(ttl: number): number {
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new InvalidCoordinationOption(
      `a lease or membership ttl must be a positive number of seconds, got ${String(ttl)}`,
    );
  }
  return Math.max(1, Math.round(ttl * 1000));
}

/** The lease value a holding `member`/`token` has; a non-integer token matches nothing. */
const leaseValue = (member: string, token: number): string => `${String(token)}|${member}`;

/**
 * `redis://[:password@]host[:port][/db]` (or `rediss://` for TLS): leases, slots and group
 * membership in one Redis server, shared by every replica that uses it.
 *
 * Each operation is one Lua script or command, so it is atomic on the server, and every expiry is
 * judged by the server (key TTLs, `TIME`), never by the replicas' clocks. After a successful
 * {@link connect} the client reconnects by itself with a capped backoff; while the server is away
 * every operation rejects at once with `CoordinationUnavailable` (there is no offline queue that
 * would replay a stale acquire later), and an operation that gets no reply rejects after
 * `operationTimeout`.
 *
 * Fencing tokens survive a restart of a Redis without persistence: the counter is re-seeded from the
 * server time in microseconds when it is missing (see the acquire script), so they stay monotonic
 * unless the server clock goes back.
 */
export class RedisBackend implements CoordinationBackend {
  readonly kind = 'redis';
  readonly where: string;
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #password: string;
  /** The database index of the URL (`/2`, `?db=2`); 0 when none. */
  readonly #db: number;
  #state: State = 'idle';
  /** True once connected: only then does the client retry a lost connection by itself. */
  #retry = false;
  #lastError: string | undefined;
  #connecting: Promise<void> | undefined;
  /** Bumped by every connect attempt and close(), so a stale attempt cannot reopen. */
  #generation = 0;

  /**
   * @param url `redis://` or `rediss://` URL (holds the password: only {@link where} is ever shown).
   * @param options operation timeout, key prefix, and `where` to override the masked URL shown in
   *   errors and health reports.
   * @throws InvalidCoordinationUrl when the URL's db index is not a non-negative integer.
   */
  constructor(url: string, options: BackendOptions & { where?: string } = {}) {
    this.where = options.where ?? maskUrlPassword(url);
    this.#prefix = options.keyPrefix ?? 'conductor';
    const timeout = options.operationTimeout ?? 2;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new InvalidCoordinationOption(
        `operationTimeout must be a positive number of seconds, got ${String(timeout)}`,
      );
    }
    this.#timeoutMs = Math.max(1, Math.round(timeout * 1000));
    this.#password = passwordOf(url);
    this.#db = dbIndexOf(url, this.where);
    const redis = new Redis(url, {
      lazyConnect: true,
      // Fail fast while disconnected instead of queueing: a queued acquire replayed seconds later
      // would take a lease its caller already gave up on.
      enableOfflineQueue: false,
      // In-flight commands of a dropped connection reject at once and are not resent.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.#timeoutMs,
      connectTimeout: this.#timeoutMs,
      // No retry before the first successful connect (connect() reports the failure and the caller
      // decides) nor after close(); in between, a capped backoff.
      retryStrategy: (times: number) => (this.#retry ? Math.min(50 * times, 1000) : null),
    });
    // Without a listener ioredis prints every connection error; keep the last one as the reason.
    redis.on('error', (e: unknown) => {
      this.#lastError = this.#scrub(errorText(e));
    });
    // A server that goes away cleanly (a restart, a kill) closes the socket without an error.
    redis.on('close', () => {
      this.#lastError ??= 'connection lost';
    });
    redis.on('ready', () => {
      this.#lastError = undefined;
    });
    redis.defineCommand('conductorAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('conductorRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('conductorRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('conductorHolder', { numberOfKeys: 1, lua: HOLDER });
    redis.defineCommand('conductorClaimSlot', { numberOfKeys: 2, lua: CLAIM_SLOT });
    redis.defineCommand('conductorHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
    redis.defineCommand('conductorMembers', { numberOfKeys: 1, lua: MEMBERS });
    this.#redis = redis as ScriptedRedis;
  }

  /**
   * Connects and checks the server with a PING (and a SELECT of the URL's db index, when not 0).
   * Rejects with `CoordinationUnavailable` (naming the cause, e.g. `connect ECONNREFUSED
   * 127.0.0.1:6390`, or a db index the server does not have) within `operationTimeout`; after a
   * failure nothing keeps retrying: call it again. Also reopens a closed backend.
   */
  connect(): Promise<void> {
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    const redis = this.#redis;
    if (this.#state === 'open' && redis.status !== 'end') return this.ping();
    const generation = ++this.#generation;
    this.#state = 'idle'; // reopening a closed backend: "not connected" until it succeeds
    this.#lastError = undefined;
    this.#retry = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CoordinationUnavailable(
              this.where,
              `no answer to connect and PING within ${String(this.#timeoutMs)} ms`,
            ),
          ),
        this.#timeoutMs,
      );
    });
    const attempt = async (): Promise<void> => {
      if (redis.status !== 'wait' && redis.status !== 'end') {
        // A connection still closing (close() just before): let it finish, then start afresh.
        const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
        redis.disconnect();
        await ended;
      }
      await redis.connect();
      await redis.ping();
      if (this.#db !== 0) await this.#select(redis);
    };
    try {
      await Promise.race([attempt(), deadline]);
      if (generation !== this.#generation) {
        throw new CoordinationUnavailable(this.where, 'closed while connecting');
      }
      this.#retry = true;
      this.#state = 'open';
    } catch (e) {
      // A client that already ended (a refused connect) is left alone: disconnect() would mark it
      // as closing by hand, and ioredis then swallows the next attempt's connect error, so the
      // reason of every later failure would be 'connection lost' instead of its cause.
      if (generation === this.#generation && redis.status !== 'end') redis.disconnect();
      if (e instanceof CoordinationUnavailable) throw e;
      // ioredis rejects connect() with "Connection is closed."; the 'error' event had the cause.
      const reason = this.#lastError ?? this.#scrub(errorText(e));
      this.#lastError = reason;
      throw new CoordinationUnavailable(this.where, reason, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Checks that the server took the URL's db index. ioredis sends that SELECT itself when it
   * connects, but only reports a refusal as an 'error' event and then runs every command in db 0,
   * so it is sent again here, where a refusal can fail connect().
   */
  async #select(redis: Redis): Promise<void> {
    try {
      await redis.select(this.#db);
    } catch (e) {
      const text = this.#scrub(errorText(e));
      // A reply from the server (`ERR DB index is out of range`, `ERR SELECT is not allowed in
      // cluster mode`): a wrong URL, not an outage. Anything else is for the caller's catch.
      if (!/^[A-Z][A-Z_]+ /.test(text)) throw e;
      throw new CoordinationUnavailable(
        this.where,
        `the server refused SELECT ${String(this.#db)} (${text}): check the db index in the URL (0 to the server's 'databases' setting - 1; 16 dbs by default)`,
        { cause: e },
      );
    }
  }

  /** Closes the connection (QUIT when connected) and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#generation += 1; // a connect() in flight must not reopen
    this.#retry = false;
    const redis = this.#redis;
    if (redis.status === 'ready') {
      try {
        await redis.quit();
      } catch {
        // The server went away meanwhile: disconnecting below is all that is left to do.
      }
    }
    redis.disconnect();
  }

  /** One PING round trip. */
  async ping(): Promise<void> {
    await this.#run('ping', (r) => r.ping());
  }

  /** See {@link CoordinationBackend.acquire}: one script, atomic on the server. */
  async acquire(name: string, member: string, ttl: number): Promise<LeaseRecord | null> {
    const ms = ttlMs(ttl);
    const token = await this.#run('acquire', (r) =>
      r.conductorAcquire(this.#key('lease', name), this.#key('fence', name), member, ms),
    );
    if (token === null) return null;
    return { holder: member, token: this.#number(token, 'acquire'), expiresIn: ms / 1000 };
  }

  /** See {@link CoordinationBackend.renew}: compare-and-PEXPIRE on holder and token. */
  async renew(name: string, member: string, token: number, ttl: number): Promise<boolean> {
    const ms = ttlMs(ttl);
    const done = await this.#run('renew', (r) =>
      r.conductorRenew(this.#key('lease', name), leaseValue(member, token), ms),
    );
    return done === 1;
  }

  /** See {@link CoordinationBackend.release}: compare-and-DEL on holder and token. */
  async release(name: string, member: string, token: number): Promise<boolean> {
    const done = await this.#run('release', (r) =>
      r.conductorRelease(this.#key('lease', name), leaseValue(member, token)),
    );
    return done === 1;
  }

  /** See {@link CoordinationBackend.holder}: the lease value and its remaining PTTL. */
  async holder(name: string): Promise<LeaseRecord | null> {
    const reply = await this.#run('holder', (r) => r.conductorHolder(this.#key('lease', name)));
    if (reply === null) return null;
    const [value, pttl] = Array.isArray(reply) ? (reply as unknown[]) : [];
    const bar = typeof value === 'string' ? value.indexOf('|') : -1;
    if (typeof value !== 'string' || bar < 0 || typeof pttl !== 'number') {
      throw new CoordinationUnavailable(this.where, `holder: unexpected reply for lease '${name}'`);
    }
    if (pttl === -2) return null; // cannot happen inside the script; kept for safety
    return {
      holder: value.slice(bar + 1),
      token: this.#number(value.slice(0, bar), 'holder'),
      // -1 (no expiry) cannot happen either: every lease is written with PX.
      expiresIn: Math.max(0, pttl) / 1000,
    };
  }

  /** See {@link CoordinationBackend.claimSlot}: one script checks the holding and the order. */
  async claimSlot(name: string, member: string, token: number, slot: number): Promise<boolean> {
    if (!Number.isFinite(slot)) {
      throw new InvalidCoordinationOption(`a slot must be a finite number, got ${String(slot)}`);
    }
    const done = await this.#run('claimSlot', (r) =>
      r.conductorClaimSlot(
        this.#key('lease', name),
        this.#key('slot', name),
        leaseValue(member, token),
        String(slot),
      ),
    );
    return done === 1;
  }

  /** See {@link CoordinationBackend.lastSlot}. */
  async lastSlot(name: string): Promise<number | null> {
    const value = await this.#run('lastSlot', (r) => r.get(this.#key('slot', name)));
    return value === null ? null : this.#number(value, 'lastSlot');
  }

  /** See {@link CoordinationBackend.heartbeat}: expiry by the server's `TIME`. */
  async heartbeat(group: string, member: string, ttl: number): Promise<void> {
    const ms = ttlMs(ttl);
    await this.#run('heartbeat', (r) =>
      r.conductorHeartbeat(this.#key('group', group), member, ms),
    );
  }

  /** See {@link CoordinationBackend.leave}. */
  async leave(group: string, member: string): Promise<void> {
    await this.#run('leave', (r) => r.zrem(this.#key('group', group), member));
  }

  /** See {@link CoordinationBackend.members}: sorted here, as the memory backend sorts. */
  async members(group: string): Promise<string[]> {
    const reply = await this.#run('members', (r) => r.conductorMembers(this.#key('group', group)));
    if (!Array.isArray(reply) || !reply.every((m): m is string => typeof m === 'string')) {
      throw new CoordinationUnavailable(this.where, `members: unexpected reply for '${group}'`);
    }
    return reply.sort();
  }

  #key(kind: 'lease' | 'fence' | 'slot' | 'group', name: string): string {
    return `${this.#prefix}:${kind}:${name}`;
  }

  #number(value: unknown, op: string): number {
    const n = typeof value === 'number' ? value : Number(value);
    if (typeof value !== 'number' && typeof value !== 'string') {
      throw new CoordinationUnavailable(this.where, `${op}: unexpected reply ${String(value)}`);
    }
    if (!Number.isFinite(n)) {
      throw new CoordinationUnavailable(this.where, `${op}: not a number: ${String(value)}`);
    }
    return n;
  }

  /** Runs one operation, turning every failure to get an answer into `CoordinationUnavailable`. */
  async #run<T>(op: string, fn: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    if (this.#state !== 'open') {
      const why =
        this.#state === 'closed'
          ? 'closed'
          : `not connected (${this.#lastError ? `connect() failed: ${this.#lastError}` : 'call connect() first'})`;
      throw new CoordinationUnavailable(this.where, `${op}: ${why}`);
    }
    const redis = this.#redis;
    try {
      return await fn(redis);
    } catch (e) {
      let text = this.#scrub(errorText(e));
      if (text === 'Command timed out') text = `no reply within ${String(this.#timeoutMs)} ms`;
      if (redis.status === 'ready' && e instanceof Error && e.message === 'Command timed out') {
        // No reply in time on a connection that looks fine: it may be half-open (a partition, a
        // stopped server). Reconnecting makes the next operations fail fast instead of each
        // waiting out its timeout.
        redis.disconnect(true);
      }
      // The socket can be gone a moment before the status says so.
      const offline = redis.status !== 'ready' || text.startsWith("Stream isn't writeable");
      const status = redis.status === 'ready' ? 'connection closing' : redis.status;
      const last = this.#lastError ? `, last error: ${this.#lastError}` : '';
      const reason = offline ? `not connected (${status}${last})` : text;
      throw new CoordinationUnavailable(this.where, `${op}: ${reason}`, { cause: e });
    }
  }

  /** Server or driver messages never carry the password, but make sure of it. */
  #scrub(text: string): string {
    return this.#password ? text.split(this.#password).join('***') : text;
  }
}

/**
 * The db index of a `redis://` or `rediss://` URL (0 when none). A URL `new URL()` cannot read is
 * left to ioredis, whose own error names it.
 */
function dbIndexOf(url: string, where: string): number {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 0;
  }
  return parsed.protocol === 'redis:' || parsed.protocol === 'rediss:'
    ? redisDbIndex(parsed, where)
    : 0;
}

/** The password of a redis URL ('' when none or not a URL). */
function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
