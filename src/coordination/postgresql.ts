import pg from 'pg';
import {
  CoordinationUnavailable,
  getLogger,
  InvalidCoordinationOption,
  maskUrlPassword,
  toError,
} from '../core/index.js';
import type { BackendOptions, CoordinationBackend, LeaseRecord } from './backend.js';

/** Default seconds an operation may take (see {@link BackendOptions.operationTimeout}). */
const DEFAULT_OPERATION_TIMEOUT = 2;
const DEFAULT_PREFIX = 'conductor';
/** Unquoted SQL identifier; the longest suffix added (`_coordination_members`) leaves 42 bytes. */
const PREFIX_PATTERN = /^[a-z_][a-z0-9_]*$/;
const PREFIX_MAX = 63 - '_coordination_members'.length;
/** Connections per backend: the coordinator runs a handful of operations at a time. */
const POOL_MAX = 4;
/** How often `members()` also deletes expired memberships of every group (milliseconds). */
const PRUNE_EVERY_MS = 60_000;
/**
 * First key of the advisory lock that serialises table creation ('coor'); the second is a hash of
 * the prefix, so applications with other prefixes do not wait on each other.
 */
const LOCK_CLASS = 0x636f6f72;

/** The table and sequence names of one key prefix (validated, so safe to splice into SQL). */
interface Names {
  readonly leases: string;
  readonly slots: string;
  readonly members: string;
  readonly fence: string;
}

/** `$n::float8 * interval '1 second'`: seconds as an interval, fractions kept. */
const seconds = (param: string): string => `(${param}::float8 * interval '1 second')`;

/**
 * `postgresql://user[:password]@host[:port]/database`: leases, slots and memberships in three
 * tables of the database (`<prefix>_coordination_leases`, `_slots`, `_members`) and fencing tokens
 * from one sequence (`<prefix>_coordination_fence`), created by {@link PostgresBackend.connect}.
 *
 * Every operation is one statement, so each is atomic on its own without explicit transactions, and
 * every expiry is judged by the database's `clock_timestamp()`: replicas whose clocks disagree
 * still agree on who holds a lease. Lease rows are never deleted (a release expires the row): the
 * row keeps the last token of its name, so a later holding's token is always larger.
 *
 * Connections come from a `pg.Pool` (at most 4). A connection the server drops is discarded and
 * replaced on the next operation, so the same object works again once the database is back. Every
 * failure, including an operation that takes longer than `operationTimeout`, rejects with
 * `CoordinationUnavailable`, whose message shows the URL with its password masked.
 */
export class PostgresBackend implements CoordinationBackend {
  /** Always `postgresql`. */
  readonly kind = 'postgresql';
  /** The URL with its password masked (or the `where` option), as messages show it. */
  readonly where: string;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #prefix: string;
  readonly #names: Names;
  /** The URL's password, scrubbed from reasons in case a driver message ever quotes it. */
  readonly #password: string;
  #pool: pg.Pool;
  #closed = false;
  #closing: Promise<void> | undefined;
  #lastPrune = 0;

  /**
   * @param url A `postgresql://` or `postgres://` URL as `pg` reads it (query parameters such as
   *   `sslmode` included).
   * @param options `operationTimeout` (seconds, default 2) bounds every operation, connecting
   *   included; `keyPrefix` (default `conductor`, an SQL identifier of lower-case letters, digits
   *   and `_`) names the tables; `where` overrides the masked URL shown in messages.
   * @throws InvalidCoordinationOption for a bad `keyPrefix` or `operationTimeout`.
   */
  constructor(url: string, options: BackendOptions & { where?: string } = {}) {
    const timeout = options.operationTimeout ?? DEFAULT_OPERATION_TIMEOUT;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
      throw new InvalidCoordinationOption(
        `operationTimeout must be a positive number of seconds, got ${String(timeout)}`,
      );
    }
    const prefix = options.keyPrefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix) || prefix.length > PREFIX_MAX) {
      throw new InvalidCoordinationOption(
        `keyPrefix of the PostgreSQL coordination backend must be an SQL identifier ` +
          `([a-z_][a-z0-9_]*, at most ${PREFIX_MAX} characters), got ${JSON.stringify(prefix)}`,
      );
    }
    this.#url = url;
    this.where = options.where ?? maskUrlPassword(url);
    this.#timeoutMs = Math.ceil(timeout * 1000);
    this.#prefix = prefix;
    this.#names = {
      leases: `${prefix}_coordination_leases`,
      slots: `${prefix}_coordination_slots`,
      members: `${prefix}_coordination_members`,
      fence: `${prefix}_coordination_fence`,
    };
    this.#password = passwordOf(url);
    this.#pool = this.#newPool();
  }

  #newPool(): pg.Pool {
    const pool = new pg.Pool({
      connectionString: this.#url,
      application_name: 'conductor-ts coordination',
      max: POOL_MAX,
      // pg waits forever by default, for a connection and for an answer: bound both, on the client
      // (connect, read) and on the server (a statement stuck on a lock is cancelled there too).
      connectionTimeoutMillis: this.#timeoutMs,
      query_timeout: this.#timeoutMs,
      statement_timeout: this.#timeoutMs,
      keepAlive: true,
      // Idle connections do not keep the process alive (the coordinator's own timers decide).
      allowExitOnIdle: true,
    });
    // An idle connection the server drops (restart, pg_terminate_backend) emits 'error' on the pool;
    // unhandled, that would kill the process. The pool discards it and opens a new one when needed.
    pool.on('error', (err) =>
      getLogger('coordination').debug(
        { err, where: this.where },
        'idle PostgreSQL coordination connection lost; the pool will reconnect',
      ),
    );
    // The same can happen while a connection is checked out between two statements (pg-pool has
    // removed its own listener then); the statement fails and the connection is discarded.
    pool.on('connect', (client) =>
      client.on('error', (err) =>
        getLogger('coordination').debug(
          { err, where: this.where },
          'PostgreSQL coordination connection error',
        ),
      ),
    );
    return pool;
  }

  /**
   * Opens a first connection and creates the tables and the sequence if absent. Several processes
   * may start at once: creation runs in one transaction under an advisory lock, since concurrent
   * `CREATE TABLE IF NOT EXISTS` of one table can fail. After {@link close}, opens a new pool.
   * Rejects with `CoordinationUnavailable`.
   */
  async connect(): Promise<void> {
    if (this.#closed) {
      // Wait for the old pool to end so its connections are not counted against the new one's.
      await this.#closing;
      this.#closed = false;
      this.#closing = undefined;
      this.#pool = this.#newPool();
    }
    const n = this.#names;
    await this.#run('connect', async (client) => {
      const present = async (): Promise<boolean> => {
        const r = await client.query<{ missing: number }>(
          `SELECT count(*)::int - count(to_regclass(x))::int AS missing
             FROM unnest($1::text[]) AS x`,
          [[n.leases, n.slots, n.members, n.fence]],
        );
        return r.rows[0]?.missing === 0;
      };
      // The usual case (the tables exist) needs neither a lock nor the CREATE privilege.
      if (await present()) return;
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [
          LOCK_CLASS,
          this.#prefix,
        ]);
        if (!(await present())) {
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${n.leases} (
               name text PRIMARY KEY,
               holder text NOT NULL,
               token bigint NOT NULL,
               expires_at timestamptz NOT NULL)`,
          );
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${n.slots} (
               name text PRIMARY KEY,
               last_slot bigint NOT NULL)`,
          );
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${n.members} (
               grp text NOT NULL,
               member text NOT NULL,
               expires_at timestamptz NOT NULL,
               PRIMARY KEY (grp, member))`,
          );
          await client.query(`CREATE SEQUENCE IF NOT EXISTS ${n.fence}`);
        }
        await client.query('COMMIT');
      } catch (err) {
        // The failure is what counts; the connection is discarded anyway (see #run).
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Ends the pool (idempotent); operations afterwards reject with `CoordinationUnavailable`. Waits
   * at most the operation timeout for operations in flight.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const pool = this.#pool;
      this.#closing = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#timeoutMs);
        timer.unref();
        pool.end().then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          // A failing end leaves nothing to do: the connections are gone either way.
          () => {
            clearTimeout(timer);
            resolve();
          },
        );
      });
    }
    await this.#closing;
  }

  /** `SELECT 1`. Rejects with `CoordinationUnavailable` when the database is away. */
  async ping(): Promise<void> {
    await this.#query('ping', 'SELECT 1');
  }

  /**
   * Takes lease `name` for `member` when free or expired (a new token from the sequence, taken
   * after the row is locked so it is larger than the row's), or extends `member`'s unexpired
   * holding (same token). One `INSERT ... ON CONFLICT DO UPDATE ... WHERE`; null when another
   * member holds it.
   */
  async acquire(name: string, member: string, ttl: number): Promise<LeaseRecord | null> {
    const { leases, fence } = this.#names;
    const r = await this.#query<LeaseRow>(
      'acquire',
      `INSERT INTO ${leases} AS l (name, holder, token, expires_at)
         VALUES ($1, $2, nextval('${fence}'), clock_timestamp() + ${seconds('$3')})
       ON CONFLICT (name) DO UPDATE SET
         holder = EXCLUDED.holder,
         token = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > clock_timestamp()
                      THEN l.token ELSE nextval('${fence}') END,
         expires_at = EXCLUDED.expires_at
       WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp()
       RETURNING ${LEASE_COLUMNS}`,
      [name, member, ttl],
    );
    return leaseRecord(r.rows[0]);
  }

  /** Compare-and-set: extends the lease if `member` holds it with `token`, unexpired. */
  async renew(name: string, member: string, token: number, ttl: number): Promise<boolean> {
    if (!Number.isSafeInteger(token)) return this.#answer('renew', false);
    const r = await this.#query(
      'renew',
      `UPDATE ${this.#names.leases} SET expires_at = clock_timestamp() + ${seconds('$4')}
        WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp()`,
      [name, member, token, ttl],
    );
    return r.rowCount === 1;
  }

  /**
   * Compare-and-set: frees the lease if `member` holds it with `token`, unexpired. The row stays,
   * expired, so that it keeps the name's last token.
   */
  async release(name: string, member: string, token: number): Promise<boolean> {
    if (!Number.isSafeInteger(token)) return this.#answer('release', false);
    const r = await this.#query(
      'release',
      `UPDATE ${this.#names.leases} SET expires_at = '-infinity'
        WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp()`,
      [name, member, token],
    );
    return r.rowCount === 1;
  }

  /** The unexpired holding of `name`, or null. */
  async holder(name: string): Promise<LeaseRecord | null> {
    const r = await this.#query<LeaseRow>(
      'holder',
      `SELECT ${LEASE_COLUMNS} FROM ${this.#names.leases}
        WHERE name = $1 AND expires_at > clock_timestamp()`,
      [name],
    );
    return leaseRecord(r.rows[0]);
  }

  /**
   * Records `slot` when `member` holds `name` with `token`, unexpired, and `slot` is greater than
   * the recorded one: one `INSERT ... SELECT ... FOR SHARE ON CONFLICT DO UPDATE ... WHERE`. The
   * share lock on the lease row keeps a takeover from slipping between the check and the write;
   * of concurrent claims of one slot, the first to write wins and the others see its row.
   * @throws InvalidCoordinationOption when `slot` is not a safe integer.
   */
  async claimSlot(name: string, member: string, token: number, slot: number): Promise<boolean> {
    if (!Number.isSafeInteger(slot)) {
      throw new InvalidCoordinationOption(`slot must be a safe integer, got ${String(slot)}`);
    }
    if (!Number.isSafeInteger(token)) return this.#answer('claimSlot', false);
    const { leases, slots } = this.#names;
    const r = await this.#query(
      'claimSlot',
      `INSERT INTO ${slots} AS s (name, last_slot)
         SELECT l.name, $4::bigint FROM ${leases} l
          WHERE l.name = $1 AND l.holder = $2 AND l.token = $3 AND l.expires_at > clock_timestamp()
          FOR SHARE
       ON CONFLICT (name) DO UPDATE SET last_slot = EXCLUDED.last_slot
         WHERE s.last_slot < EXCLUDED.last_slot
       RETURNING 1`,
      [name, member, token, slot],
    );
    return r.rowCount === 1;
  }

  /** The last slot recorded for `name`, or null. */
  async lastSlot(name: string): Promise<number | null> {
    const r = await this.#query<{ last_slot: string }>(
      'lastSlot',
      `SELECT last_slot FROM ${this.#names.slots} WHERE name = $1`,
      [name],
    );
    const row = r.rows[0];
    // bigint comes back as a string (it may exceed 2^53 in general; slots and tokens do not).
    return row ? Number(row.last_slot) : null;
  }

  /** Joins `group` or refreshes the membership: expires `ttl` seconds from the database's now. */
  async heartbeat(group: string, member: string, ttl: number): Promise<void> {
    await this.#query(
      'heartbeat',
      `INSERT INTO ${this.#names.members} AS m (grp, member, expires_at)
         VALUES ($1, $2, clock_timestamp() + ${seconds('$3')})
       ON CONFLICT (grp, member) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [group, member, ttl],
    );
  }

  /** Leaves `group` at once (no-op when not a member). */
  async leave(group: string, member: string): Promise<void> {
    await this.#query(
      'leave',
      `DELETE FROM ${this.#names.members} WHERE grp = $1 AND member = $2`,
      [group, member],
    );
  }

  /**
   * The unexpired members of `group`, sorted as JavaScript sorts strings (not by the database's
   * collation). About once a minute the same statement also deletes expired memberships of every
   * group, so replicas that are gone for good do not pile up.
   */
  async members(group: string): Promise<string[]> {
    const table = this.#names.members;
    const select = `SELECT member FROM ${table} WHERE grp = $1 AND expires_at > clock_timestamp()`;
    // The local clock only paces this housekeeping; expiry itself is the database's judgement.
    const now = performance.now();
    const prune = now - this.#lastPrune >= PRUNE_EVERY_MS;
    if (prune) this.#lastPrune = now;
    const r = await this.#query<{ member: string }>(
      'members',
      prune
        ? `WITH pruned AS (DELETE FROM ${table} WHERE expires_at <= clock_timestamp()) ${select}`
        : select,
      [group],
    );
    return r.rows.map((row) => row.member).sort();
  }

  /**
   * `value`, unless the backend is closed: an argument that cannot match anything still answers as
   * a closed backend does.
   */
  async #answer<T>(what: string, value: T): Promise<T> {
    if (this.#closed) throw this.#unavailable(what, 'closed');
    return value;
  }

  #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    what: string,
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return this.#run(what, (client) => client.query<R>(text, values));
  }

  /**
   * Runs `work` on a pooled connection within the operation timeout. A connection whose work fails
   * is destroyed rather than returned (it may be broken or mid-transaction); the pool opens a
   * fresh one next time, which is how operations recover once the database is back.
   */
  #run<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#unavailable(what, 'closed'));
    const pool = this.#pool;
    return new Promise<T>((resolve, reject) => {
      let late = false;
      // pg's own timeouts (connect, read, statement) each cover one step; this one covers the sum.
      const timer = setTimeout(() => {
        late = true;
        reject(this.#unavailable(what, `no answer within ${this.#timeoutMs / 1000} s`));
      }, this.#timeoutMs);
      const attempt = async (): Promise<T> => {
        const client = await pool.connect();
        if (late) {
          // The caller has its answer: doing the work now could take a lease it does not know of.
          client.release();
          throw new Error('abandoned after the operation timeout');
        }
        try {
          const result = await work(client);
          client.release();
          return result;
        } catch (err) {
          client.release(toError(err));
          throw err;
        }
      };
      attempt().then(
        (value) => {
          clearTimeout(timer);
          if (!late) resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (!late) reject(this.#unavailable(what, this.#reason(err), err));
        },
      );
    });
  }

  #unavailable(what: string, reason: string, cause?: unknown): CoordinationUnavailable {
    const text = `${reason} (during ${what})`;
    return cause === undefined
      ? new CoordinationUnavailable(this.where, text)
      : new CoordinationUnavailable(this.where, text, { cause });
  }

  /** A one-line reason for `err`: the driver's message, its code, never the password. */
  #reason(err: unknown): string {
    let text = describe(err, this.#timeoutMs / 1000);
    if (this.#password !== '') text = text.split(this.#password).join('***');
    return text;
  }
}

/** Columns a lease query returns: the holding and the seconds left by the database's clock. */
const LEASE_COLUMNS =
  'holder, token, extract(epoch FROM expires_at - clock_timestamp())::float8 AS expires_in';

interface LeaseRow {
  holder: string;
  /** bigint: a string. */
  token: string;
  expires_in: number;
}

function leaseRecord(row: LeaseRow | undefined): LeaseRecord | null {
  if (!row) return null;
  return { holder: row.holder, token: Number(row.token), expiresIn: row.expires_in };
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** pg's timeout messages, said plainly. */
const TIMEOUTS: Readonly<Record<string, string>> = {
  'timeout exceeded when trying to connect': 'no connection within %t s',
  'Connection terminated due to connection timeout': 'no connection within %t s',
  'Query read timeout': 'no answer within %t s',
};

function describe(err: unknown, timeout: number): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    // Node's happy-eyeballs connect (localhost: ::1 and 127.0.0.1) fails with an empty message.
    return err.errors.map((e: unknown) => describe(e, timeout)).join('; ');
  }
  const e = toError(err);
  const plain = TIMEOUTS[e.message];
  if (plain !== undefined) return plain.replace('%t', String(timeout));
  const code = (e as { code?: unknown }).code;
  let text = e.message === '' ? e.name : e.message;
  // SQLSTATE 57P01 (admin shutdown), 57014 (statement timeout), system codes (ECONNREFUSED)...
  if (typeof code === 'string' && code !== '' && !text.includes(code)) text += ` [${code}]`;
  return text;
}
