import { errorMessage, type Logger } from '../core/index.js';
import {
  emptyTaskState,
  type TaskKey,
  type TaskRunEvent,
  type TaskSkipEvent,
  type TaskState,
  type TaskStateStore,
} from '../periodic/index.js';

const keyOf = (k: TaskKey): string => JSON.stringify([k.service, k.task, k.scope]);

/**
 * Keeps the state of a service's tasks (last run, outcome, counts) and writes it to a
 * {@link TaskStateStore} after each change: one write in flight per task, the latest state written
 * next (a burst of runs costs a few writes, never a queue). A failed write is logged and retried
 * with the next change: the store is a record, never in a run's way.
 */
export class TaskStateRecorder {
  readonly #store: TaskStateStore;
  readonly #epoch: number;
  readonly #log: Logger;
  readonly #keys = new Map<string, TaskKey>();
  readonly #states = new Map<string, TaskState>();
  readonly #writing = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();

  /** `keys` by task name; `epoch` turns clock seconds into Unix seconds. */
  constructor(
    store: TaskStateStore,
    keys: ReadonlyMap<string, TaskKey>,
    epoch: number,
    log: Logger,
  ) {
    this.#store = store;
    this.#epoch = epoch;
    this.#log = log;
    for (const [name, key] of keys) {
      this.#keys.set(name, key);
      this.#states.set(name, emptyTaskState(key));
    }
  }

  /** Loads the stored states; resolves to the last scheduled run of each task (clock seconds). */
  async load(): Promise<Map<string, number>> {
    const rows = new Map<string, TaskState>();
    for (const r of await this.#store.load([...this.#keys.values()])) rows.set(keyOf(r), r);
    const last = new Map<string, number>();
    for (const [name, key] of this.#keys) {
      const row = rows.get(keyOf(key));
      if (!row) continue;
      this.#states.set(name, row);
      if (row.lastScheduled !== null) last.set(name, row.lastScheduled - this.#epoch);
    }
    return last;
  }

  /** The current state of every task, by name. */
  states(): ReadonlyMap<string, TaskState> {
    return this.#states;
  }

  /** Records a run (`onTaskRun`). */
  readonly onTaskRun = (e: TaskRunEvent): void => {
    const s = this.#states.get(e.name);
    if (!s) return;
    this.#set(e.name, {
      ...s,
      lastScheduled: e.scheduledAt + this.#epoch,
      lastStart: e.startedAt + this.#epoch,
      lastEnd: e.outcome === 'timeout' ? null : e.startedAt + e.duration + this.#epoch,
      outcome: e.outcome,
      // A store may refuse NUL characters (PostgreSQL text): they never matter in a message.
      error: e.outcome === 'ok' ? null : errorMessage(e.error).replaceAll('\u0000', ''),
      runCount: s.runCount + (e.outcome === 'timeout' ? 0 : 1),
      timeoutCount: s.timeoutCount + (e.outcome === 'timeout' ? 1 : 0),
    });
  };

  /** Records slots that did not run (`onTaskSkip`). */
  readonly onTaskSkip = (e: TaskSkipEvent): void => {
    const s = this.#states.get(e.name);
    if (!s) return;
    this.#set(
      e.name,
      e.reason === 'missed'
        ? { ...s, missedCount: s.missedCount + e.count }
        : { ...s, skippedCount: s.skippedCount + e.count },
    );
  };

  /** Resolves when every write started so far has ended. */
  async flush(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all(this.#writing.values());
  }

  #set(name: string, state: TaskState): void {
    this.#states.set(name, state);
    if (this.#writing.has(name)) {
      this.#dirty.add(name);
      return;
    }
    this.#write(name);
  }

  #write(name: string): void {
    const state = this.#states.get(name) as TaskState;
    const writing = this.#store
      .save(state)
      .catch((err: unknown) =>
        this.#log.warn({ err, task: state.task }, 'Could not record the state of a periodic task'),
      )
      .finally(() => {
        this.#writing.delete(name);
        if (this.#dirty.delete(name)) this.#write(name);
      });
    this.#writing.set(name, writing);
  }
}
