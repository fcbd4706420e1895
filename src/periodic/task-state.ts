/**
 * What a service remembers of its periodic tasks across restarts: per task and scope (the host, or
 * `cluster` for once-per-cluster tasks) the last run's times and outcome and the counts of runs,
 * missed slots, skipped slots and timeouts. On start a task continues its grid from the stored last
 * run, and its `missed` policy decides what happens to the slots in between.
 *
 * Times are Unix seconds (a store is shared by processes whose clocks start at different times).
 */

/** How a run ended: it returned, it threw, or it was still running at its timeout. */
export type TaskOutcome = 'ok' | 'error' | 'timeout';

/** Which task: of which service (its topic), which task (`Class.name`), in which scope. */
export interface TaskKey {
  readonly service: string;
  /** `ClassName.taskName`, as in the logs. */
  readonly task: string;
  /** The host for every-replica and sharded tasks; `cluster` for once-per-cluster tasks. */
  readonly scope: string;
}

/** One task's remembered state. */
export interface TaskState extends TaskKey {
  /** Unix seconds of the slot the last run was for (its due time), or null before the first. */
  readonly lastScheduled: number | null;
  readonly lastStart: number | null;
  /** Null while the last run has not ended (or never started). */
  readonly lastEnd: number | null;
  readonly outcome: TaskOutcome | null;
  /** The last failed run's message (no stack), or null. */
  readonly error: string | null;
  readonly runCount: number;
  readonly missedCount: number;
  readonly skippedCount: number;
  readonly timeoutCount: number;
}

/**
 * Where task states are kept: `MemoryTaskStateStore` (tests, one process), the conductor's Kysely
 * store on SQLite or PostgreSQL. Writes are upserts of the whole state, one row per key.
 */
export interface TaskStateStore {
  /** The stored states of `keys` (absent keys are left out). */
  load(keys: readonly TaskKey[]): Promise<TaskState[]>;
  /** Stores `state`, replacing the stored state of its key. */
  save(state: TaskState): Promise<void>;
  /** Every stored state, optionally of one service, ordered by service, task, scope. */
  list(filter?: { readonly service?: string }): Promise<TaskState[]>;
}

const keyOf = (k: TaskKey): string => JSON.stringify([k.service, k.task, k.scope]);

/** A {@link TaskStateStore} in this process's memory. */
export class MemoryTaskStateStore implements TaskStateStore {
  readonly #rows = new Map<string, TaskState>();

  async load(keys: readonly TaskKey[]): Promise<TaskState[]> {
    const out: TaskState[] = [];
    for (const k of keys) {
      const row = this.#rows.get(keyOf(k));
      if (row) out.push(row);
    }
    return out;
  }

  async save(state: TaskState): Promise<void> {
    this.#rows.set(keyOf(state), Object.freeze({ ...state }));
  }

  async list(filter: { readonly service?: string } = {}): Promise<TaskState[]> {
    return [...this.#rows.values()]
      .filter((r) => filter.service === undefined || r.service === filter.service)
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }
}

/** A fresh state of `key`: nothing has happened yet. */
export function emptyTaskState(key: TaskKey): TaskState {
  return {
    service: key.service,
    task: key.task,
    scope: key.scope,
    lastScheduled: null,
    lastStart: null,
    lastEnd: null,
    outcome: null,
    error: null,
    runCount: 0,
    missedCount: 0,
    skippedCount: 0,
    timeoutCount: 0,
  };
}
