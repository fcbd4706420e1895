import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { TaskStateStore } from '../../periodic/task-state.js';
import {
  InvalidStoreArgument,
  InvalidVimStatusError,
  StoreClosedError,
  VimExistsError,
  VimNotFoundError,
} from '../errors.js';
import { codecFor, type StoreDialect, type ValueCodec } from './codec.js';
import type { ConductorDatabase, EventsTable, ServicesTable, VimsTable } from './schema.js';
import type { ServiceRecord, ServiceReport } from './service-record.js';
import { KyselyTaskStateStore } from './task-states.js';
import {
  databaseUnavailable,
  isConnectionError,
  type UnavailableKind,
  wasNotSent,
} from './unavailable.js';
import {
  checkVimInput,
  isVimStatus,
  VIM_STATUSES,
  type RegisterVimInput,
  type Vim,
  type VimEvent,
  type VimStatus,
} from './vim.js';

/** Events returned by `listEvents` when no limit is given. */
export const DEFAULT_EVENT_LIMIT = 20;

/**
 * The conductor's storage: VIMs, their status events and service heartbeats, over SQLite or
 * PostgreSQL with the same queries. Get one from `openStore()`, which also applies the migrations.
 *
 * When the PostgreSQL server cannot be reached or drops the connection (a restart, a crash), a call
 * rejects with `DatabaseOpenError` saying so, and the next call after the server is back succeeds on
 * a new connection: nothing needs reopening. A write that fails so wrote nothing, except when the
 * connection was lost while its `COMMIT` was under way: the message then says the outcome is unknown.
 */
export class ConductorStore {
  /** The SQL dialect underneath. */
  readonly dialect: StoreDialect;
  /** The Kysely instance, for queries the store has no method for. Do not destroy it; `close()`. */
  readonly db: Kysely<ConductorDatabase>;
  readonly #codec: ValueCodec;
  #closing: Promise<void> | undefined;
  #taskStates: TaskStateStore | undefined;

  /** Wraps an already migrated database; `openStore()` is the usual way in. */
  constructor(db: Kysely<ConductorDatabase>, dialect: StoreDialect) {
    this.db = db;
    this.dialect = dialect;
    this.#codec = codecFor(dialect);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The periodic tasks' states (`task_states`); rejects with `StoreClosedError` once closed. */
  get taskStates(): TaskStateStore {
    this.#taskStates ??= new KyselyTaskStateStore(() => this.#live(), this.dialect);
    return this.#taskStates;
  }

  /**
   * Registers a VIM (status `PENDING` unless given) and returns it. Throws `InvalidVimError` for an
   * empty name, an auth URL that is not `http(s)://...` or `tcp://host:port`, or a bad id, and
   * `VimExistsError` when the id or the name is taken. A UUID is generated when no id is given.
   */
  async registerVim(input: RegisterVimInput, now: Date = new Date()): Promise<Vim> {
    const db = this.#live();
    const checked = checkVimInput(input);
    const at = checkDate(now);
    const vim: Vim = {
      ...checked,
      id: checked.id ?? randomUUID(),
      isDefault: false,
      createdAt: at,
      updatedAt: null,
    };
    const c = this.#codec;
    try {
      await this.#write('registerVim', db, (conn) =>
        conn
          .insertInto('vims')
          .values({
            id: vim.id,
            name: vim.name,
            type: vim.type,
            auth_url: vim.authUrl,
            description: vim.description,
            tenant_id: vim.tenantId,
            status: vim.status,
            is_default: c.boolean(vim.isDefault),
            created_at: c.timestamp(at),
            updated_at: null,
          })
          .execute(),
      );
    } catch (err) {
      const clash = c.uniqueViolation(err);
      if (clash === undefined) throw err;
      const field = clash.includes('name') ? 'name' : 'id';
      throw new VimExistsError(field, field === 'name' ? vim.name : vim.id, { cause: err });
    }
    return vim;
  }

  /** The VIM with this id, or `undefined`. */
  async getVim(id: string): Promise<Vim | undefined> {
    const db = this.#live();
    const row = await this.#guard('getVim', 'read', () =>
      db.selectFrom('vims').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && this.#vim(row);
  }

  /** Every VIM, ordered by name. */
  async listVims(): Promise<Vim[]> {
    const db = this.#live();
    const rows = await this.#guard('listVims', 'read', () =>
      db.selectFrom('vims').selectAll().orderBy('name').execute(),
    );
    return rows.map((row) => this.#vim(row));
  }

  /**
   * Tacker's `update_vim_status`: sets the VIM's status and `updated_at` and records a `MONITOR`
   * event, in one transaction. Throws `InvalidVimStatusError` for a status outside `VIM_STATUSES`
   * and `VimNotFoundError` for an unknown id; nothing is written when it throws. A database that is
   * unreachable or drops the connection is a `DatabaseOpenError`: nothing was written, unless the
   * connection was lost during the `COMMIT`, when the message says the outcome is unknown (both
   * halves were written, or neither).
   */
  async updateVimStatus(
    vimId: string,
    status: VimStatus,
    now: Date = new Date(),
  ): Promise<VimStatus> {
    const db = this.#live();
    if (!isVimStatus(status)) throw new InvalidVimStatusError(status, VIM_STATUSES);
    const at = this.#codec.timestamp(checkDate(now));
    const what = 'updateVimStatus';
    // A transaction under our control, not `db.transaction()`: that one reports a failed ROLLBACK
    // instead of the failed COMMIT before it, and a lost COMMIT must be told from a lost statement.
    const trx = await this.#guard(what, 'write', () => db.startTransaction().execute());
    try {
      const updated = await trx
        .updateTable('vims')
        .set({ status, updated_at: at })
        .where('id', '=', vimId)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) throw new VimNotFoundError(vimId);
      await trx
        .insertInto('events')
        .values({
          resource_id: vimId,
          resource_type: 'vim',
          resource_state: status,
          event_type: 'MONITOR',
          event_details: '',
          timestamp: at,
        })
        .execute();
    } catch (err) {
      // Releases the connection; on a dead one the server has rolled back already.
      await trx
        .rollback()
        .execute()
        .catch(() => undefined);
      throw isConnectionError(err) ? databaseUnavailable(what, err, 'write') : err;
    }
    try {
      await trx.commit().execute();
    } catch (err) {
      await trx
        .rollback()
        .execute()
        .catch(() => undefined); // only to release the connection: the COMMIT's error stands
      if (!isConnectionError(err)) throw err; // refused by the server: rolled back
      throw databaseUnavailable(what, err, wasNotSent(err) ? 'write' : 'in-doubt');
    }
    return status;
  }

  /** The events of a resource, newest first, at most `limit` (default 20). */
  async listEvents(resourceId: string, options: { limit?: number } = {}): Promise<VimEvent[]> {
    const limit = options.limit ?? DEFAULT_EVENT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1)
      throw new InvalidStoreArgument(`listEvents limit must be an integer >= 1, got ${limit}`);
    const db = this.#live();
    const rows = await this.#guard('listEvents', 'read', () =>
      db
        .selectFrom('events')
        .selectAll()
        .where('resource_id', '=', resourceId)
        .orderBy('timestamp', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute(),
    );
    return rows.map((row) => this.#event(row));
  }

  /**
   * Records a heartbeat of (host, binary) and returns the row after it: created with
   * `reportCount` 1 on the first report, then `reportCount` + 1 and `updatedAt = now`. A single
   * upsert, so concurrent reports from several processes are all counted.
   */
  async reportService(report: ServiceReport, now: Date = new Date()): Promise<ServiceRecord> {
    const db = this.#live();
    for (const key of ['host', 'binary', 'topic'] as const) {
      const value: unknown = report[key];
      if (typeof value !== 'string' || value === '')
        throw new InvalidStoreArgument(`reportService: ${key} must be a non-empty string`);
    }
    const c = this.#codec;
    const at = c.timestamp(checkDate(now));
    const row = await this.#write('reportService', db, (conn) =>
      conn
        .insertInto('services')
        .values({
          host: report.host,
          binary: report.binary,
          topic: report.topic,
          report_count: 1,
          disabled: c.boolean(false),
          created_at: at,
          updated_at: null,
        })
        .onConflict((oc) =>
          oc.columns(['host', 'binary']).doUpdateSet((eb) => ({
            report_count: eb('services.report_count', '+', 1),
            topic: eb.ref('excluded.topic'),
            updated_at: at,
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return this.#service(row);
  }

  /** Every service row, ordered by binary, then host. */
  async listServices(): Promise<ServiceRecord[]> {
    const db = this.#live();
    const rows = await this.#guard('listServices', 'read', () =>
      db.selectFrom('services').selectAll().orderBy('binary').orderBy('host').execute(),
    );
    return rows.map((row) => this.#service(row));
  }

  /** Resolves when the database answers `select 1`; rejects otherwise (and after `close()`). */
  async ping(): Promise<void> {
    const db = this.#live();
    await this.#guard('ping', 'read', () => sql`select 1`.execute(db));
  }

  /** Closes the connection (or pool). Idempotent; every later call rejects with `StoreClosedError`. */
  close(): Promise<void> {
    this.#closing ??= this.db.destroy();
    return this.#closing;
  }

  #live(): Kysely<ConductorDatabase> {
    if (this.#closing) throw new StoreClosedError();
    return this.db;
  }

  /** Runs one statement; a lost or unreachable server becomes a `DatabaseOpenError`. */
  async #guard<T>(what: string, kind: UnavailableKind, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw isConnectionError(err) ? databaseUnavailable(what, err, kind) : err;
    }
  }

  /**
   * Runs one writing statement (its own transaction) on a connection of its own. A lost or
   * unreachable server becomes a `DatabaseOpenError`: "nothing was written" when no connection
   * could be had or the statement was not sent, "the outcome is unknown" when it was under way.
   */
  async #write<T>(
    what: string,
    db: Kysely<ConductorDatabase>,
    work: (conn: Kysely<ConductorDatabase>) => Promise<T>,
  ): Promise<T> {
    let sent = false;
    try {
      return await db.connection().execute((conn) => {
        sent = true;
        return work(conn);
      });
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      throw databaseUnavailable(what, err, sent && !wasNotSent(err) ? 'in-doubt' : 'write');
    }
  }

  #vim(row: Selectable<VimsTable>): Vim {
    const c = this.#codec;
    return {
      id: row.id,
      name: row.name,
      type: row.type,
      authUrl: row.auth_url,
      description: row.description,
      tenantId: row.tenant_id,
      // A status written outside the store is passed through rather than hidden.
      status: row.status as VimStatus,
      isDefault: c.readBoolean(row.is_default),
      createdAt: c.readTimestamp(row.created_at),
      updatedAt: row.updated_at === null ? null : c.readTimestamp(row.updated_at),
    };
  }

  #event(row: Selectable<EventsTable>): VimEvent {
    return {
      id: this.#codec.readSerial(row.id),
      resourceId: row.resource_id,
      resourceType: row.resource_type,
      resourceState: row.resource_state,
      eventType: row.event_type,
      eventDetails: row.event_details,
      timestamp: this.#codec.readTimestamp(row.timestamp),
    };
  }

  #service(row: Selectable<ServicesTable>): ServiceRecord {
    const c = this.#codec;
    return {
      id: c.readSerial(row.id),
      host: row.host,
      binary: row.binary,
      topic: row.topic,
      reportCount: Number(row.report_count),
      disabled: c.readBoolean(row.disabled),
      createdAt: c.readTimestamp(row.created_at),
      updatedAt: row.updated_at === null ? null : c.readTimestamp(row.updated_at),
    };
  }
}

function checkDate(now: Date): Date {
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new InvalidStoreArgument('now must be a valid Date');
  return now;
}
