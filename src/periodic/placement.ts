/**
 * Where a periodic task runs when a service has replicas. The periodic layer only declares it and
 * asks a {@link TaskPlacement} (the service builds one on its coordinator) before each run; it never
 * talks to a coordination backend itself.
 */

/**
 * - `every-replica` (default, the original): every replica runs the task.
 * - `once-per-cluster`: one replica runs each slot of the task's grid, under a lease named after the
 *   task; the holder's run aborts (`run.signal`) when it loses the lease.
 * - `sharded`: every replica runs the task for its own share of the keys (`run.owns(key)`,
 *   `run.shard(items)`), so each resource is handled by exactly one live replica.
 */
export type TaskPlacementKind = 'every-replica' | 'once-per-cluster' | 'sharded';

export const PLACEMENTS: readonly TaskPlacementKind[] = [
  'every-replica',
  'once-per-cluster',
  'sharded',
];

/** The second argument of every periodic task run: `task(ctx, run)`. */
export interface TaskRun {
  readonly placement: TaskPlacementKind;
  /**
   * Aborts when this replica must stop the run: a once-per-cluster task's lease was lost (another
   * replica may take the next slot). Never aborts for every-replica tasks.
   */
  readonly signal: AbortSignal;
  /** The fencing token of a once-per-cluster task's lease (pass it to writes that can be fenced). */
  readonly fencingToken: number | undefined;
  /** The grid slot a once-per-cluster run is for (cluster time / spacing); undefined otherwise. */
  readonly slot: number | undefined;
  /** True when `key` is this replica's to handle (always, except for sharded tasks). */
  owns(key: string): boolean;
  /** The items this replica handles: those whose key (`keyOf`, default `String(item)`) it owns. */
  shard<T>(items: Iterable<T>, keyOf?: (item: T) => string): T[];
}

/** A task as a {@link TaskPlacement} sees it. */
export interface PlacedTask {
  readonly name: string;
  /** `ClassName.name`, as in the logs. */
  readonly fullName: string;
  readonly placement: TaskPlacementKind;
  /** Seconds between slots. */
  readonly spacing: number;
}

/** What decides, per run, whether and how this replica runs a placed task. */
export interface TaskPlacement {
  /**
   * Before slot `slot` of a once-per-cluster task: the run (this replica holds the task's lease and
   * has recorded the slot, so no other replica runs it), or null (another replica has or runs it).
   * A rejection skips the run (it is logged): never run a slot that could not be claimed.
   */
  claim(task: PlacedTask, slot: number): Promise<TaskRun | null>;
  /** Before a run of a sharded task: this replica's share, fixed for the run. */
  shard(task: PlacedTask): TaskRun | Promise<TaskRun>;
  /** Seconds to add to the clock's time for cluster time (default the clock's `epoch`). */
  readonly epoch?: number;
}

const never = new AbortController().signal;
const all = <T>(items: Iterable<T>): T[] => [...items];

/** The run of a task with nobody else to share with: it owns every key. */
export function localRun(placement: TaskPlacementKind, slot?: number): TaskRun {
  return {
    placement,
    signal: never,
    fencingToken: undefined,
    slot,
    owns: () => true,
    shard: all,
  };
}

/** The run every every-replica task gets (one frozen object: no cost per run). */
export const EVERY_REPLICA_RUN: TaskRun = Object.freeze(localRun('every-replica'));

/**
 * A cluster time's slot: `floor(t / spacing)`, with a thousandth of a slot of tolerance so a grid
 * point that float arithmetic puts a hair early still counts as its own slot.
 */
export function slotAt(clusterTime: number, spacing: number): number {
  return Math.floor(clusterTime / spacing + 1e-3);
}
