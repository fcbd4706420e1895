import type { Insertable, Kysely, Selectable } from 'kysely';
import type { TaskKey, TaskOutcome, TaskState, TaskStateStore } from '../../periodic/task-state.js';
import { InvalidStoreArgument } from '../errors.js';
import { codecFor, type StoreDialect, type ValueCodec } from './codec.js';
import type { ConductorDatabase, DbTimestamp, TaskStatesTable } from './schema.js';

/** Keys per `load` query (three parameters each; far below SQLite's and PostgreSQL's limits). */
export const TASK_STATE_LOAD_CHUNK = 500;

const OUTCOMES: readonly TaskOutcome[] = ['ok', 'error', 'timeout'];
/** The times a state may hold: years 0001 to 9999 (both dialects store them, ISO text sorts). */
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799.999;
const COLUMNS = ['service', 'task', 'scope'] as const;

/**
 * The {@link TaskStateStore} of the conductor's database (`task_states`, migration 0002), on SQLite
 * or PostgreSQL with the same queries. Times are stored to the millisecond (Unix seconds are
 * rounded to three decimals); counts are `bigint` columns read back as numbers. A save is one
 * upsert, so the last writer of a key wins. Bad arguments are `InvalidStoreArgument` (nothing is
 * written); after the store is closed every call rejects with `StoreClosedError`.
 * `ConductorStore.taskStates` is the usual way to get one.
 */
export class KyselyTaskStateStore implements TaskStateStore {
  readonly #db: () => Kysely<ConductorDatabase>;
  readonly #codec: ValueCodec;

  /**
   * `db`: the Kysely instance of a migrated database, or a function returning it (the store's,
   * which throws once the store is closed).
   */
  constructor(
    db: Kysely<ConductorDatabase> | (() => Kysely<ConductorDatabase>),
    dialect: StoreDialect,
  ) {
    this.#db = typeof db === 'function' ? db : () => db;
    this.#codec = codecFor(dialect);
  }

  async load(keys: readonly TaskKey[]): Promise<TaskState[]> {
    if (!Array.isArray(keys)) throw new InvalidStoreArgument('load: keys must be an array');
    const wanted = new Map<string, TaskKey>();
    for (const key of keys) {
      checkKey(key, 'load');
      wanted.set(keyOf(key), key);
    }
    const db = this.#db();
    const unique = [...wanted.values()];
    const found = new Map<string, TaskState>();
    for (let i = 0; i < unique.length; i += TASK_STATE_LOAD_CHUNK) {
      const chunk = unique.slice(i, i + TASK_STATE_LOAD_CHUNK);
      const rows = await db
        .selectFrom('task_states')
        .selectAll()
        .where((eb) =>
          eb(
            eb.refTuple('service', 'task', 'scope'),
            'in',
            chunk.map((k) => eb.tuple(k.service, k.task, k.scope)),
          ),
        )
        .execute();
      for (const row of rows) {
        const state = this.#state(row);
        found.set(keyOf(state), state);
      }
    }
    // In the order of `keys`, as the memory store answers.
    const out: TaskState[] = [];
    for (const key of keys) {
      const state = found.get(keyOf(key));
      if (state) out.push(state);
    }
    return out;
  }

  async save(state: TaskState): Promise<void> {
    const row = this.#row(state);
    await this.#db()
      .insertInto('task_states')
      .values(row)
      .onConflict((oc) =>
        oc.columns([...COLUMNS]).doUpdateSet((eb) => ({
          last_scheduled: eb.ref('excluded.last_scheduled'),
          last_start: eb.ref('excluded.last_start'),
          last_end: eb.ref('excluded.last_end'),
          outcome: eb.ref('excluded.outcome'),
          error: eb.ref('excluded.error'),
          run_count: eb.ref('excluded.run_count'),
          missed_count: eb.ref('excluded.missed_count'),
          skipped_count: eb.ref('excluded.skipped_count'),
          timeout_count: eb.ref('excluded.timeout_count'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }

  async list(filter: { readonly service?: string } = {}): Promise<TaskState[]> {
    if (typeof filter !== 'object' || filter === null)
      throw new InvalidStoreArgument('list: the filter must be an object');
    const { service } = filter;
    if (service !== undefined) checkText(service, 'list: service');
    let query = this.#db().selectFrom('task_states').selectAll();
    if (service !== undefined) query = query.where('service', '=', service);
    const rows = await query.orderBy('service').orderBy('task').orderBy('scope').execute();
    return rows.map((row) => this.#state(row));
  }

  #row(state: TaskState): Insertable<TaskStatesTable> {
    if (typeof state !== 'object' || state === null)
      throw new InvalidStoreArgument('save: the state must be an object');
    checkKey(state, 'save');
    const { outcome, error } = state;
    if (outcome !== null && !OUTCOMES.includes(outcome))
      throw new InvalidStoreArgument(
        `save: outcome must be null or one of ${OUTCOMES.join(', ')}, got ${String(outcome)}`,
      );
    if (error !== null) checkText(error, 'save: error', true);
    return {
      service: state.service,
      task: state.task,
      scope: state.scope,
      last_scheduled: this.#time(state.lastScheduled, 'lastScheduled'),
      last_start: this.#time(state.lastStart, 'lastStart'),
      last_end: this.#time(state.lastEnd, 'lastEnd'),
      outcome,
      error,
      run_count: count(state.runCount, 'runCount'),
      missed_count: count(state.missedCount, 'missedCount'),
      skipped_count: count(state.skippedCount, 'skippedCount'),
      timeout_count: count(state.timeoutCount, 'timeoutCount'),
      updated_at: this.#codec.timestamp(new Date()),
    };
  }

  #time(seconds: number | null, field: string): DbTimestamp | null {
    if (seconds === null) return null;
    if (typeof seconds !== 'number' || !(seconds >= MIN_SECONDS && seconds <= MAX_SECONDS))
      throw new InvalidStoreArgument(
        `save: ${field} must be null or Unix seconds in the years 1-9999, got ${String(seconds)}`,
      );
    return this.#codec.timestamp(new Date(Math.round(seconds * 1000)));
  }

  #state(row: Selectable<TaskStatesTable>): TaskState {
    const c = this.#codec;
    const time = (value: DbTimestamp | null): number | null =>
      value === null ? null : c.readTimestamp(value).getTime() / 1000;
    return {
      service: row.service,
      task: row.task,
      scope: row.scope,
      lastScheduled: time(row.last_scheduled),
      lastStart: time(row.last_start),
      lastEnd: time(row.last_end),
      // An outcome written outside the store is passed through rather than hidden.
      outcome: row.outcome as TaskOutcome | null,
      error: row.error,
      runCount: Number(row.run_count),
      missedCount: Number(row.missed_count),
      skippedCount: Number(row.skipped_count),
      timeoutCount: Number(row.timeout_count),
    };
  }
}

const keyOf = (k: TaskKey): string => JSON.stringify([k.service, k.task, k.scope]);

function checkKey(key: TaskKey, method: string): void {
  if (typeof key !== 'object' || key === null)
    throw new InvalidStoreArgument(`${method}: a task key must be an object`);
  for (const column of COLUMNS) checkText(key[column], `${method}: ${column}`);
}

/** A string PostgreSQL can store (no NUL); a non-empty one unless `mayBeEmpty`. */
function checkText(value: unknown, what: string, mayBeEmpty = false): void {
  if (typeof value !== 'string' || (!mayBeEmpty && value === ''))
    throw new InvalidStoreArgument(`${what} must be a ${mayBeEmpty ? '' : 'non-empty '}string`);
  if (value.includes('\u0000'))
    throw new InvalidStoreArgument(`${what} must not contain a NUL character`);
}

function count(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidStoreArgument(
      `save: ${field} must be a non-negative safe integer, got ${String(value)}`,
    );
  return value;
}
