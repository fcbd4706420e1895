import { PLACEMENTS, type TaskPlacementKind } from './placement.js';
import type { PeriodicTaskFn } from './task-spec.js';
import type { TaskPolicy } from './task-policy.js';

const IMMEDIATE = 1;
const EXTERNAL_OK = 2;
/** Bits 2-3: the index of the placement in PLACEMENTS (0: every replica). */
const PLACEMENT_SHIFT = 2;

/** A typed array at least `min` long (1.5× growth: amortized O(1), little slack at scale). */
export function grow<T extends Float64Array | Int32Array | Uint8Array>(a: T, min: number): T {
  if (a.length >= min) return a;
  const next = new (a.constructor as new (n: number) => T)(
    Math.max(min, Math.ceil(a.length * 1.5), 8),
  );
  next.set(a);
  return next;
}

/**
 * The tasks of one `PeriodicTasks` instance, kept as parallel arrays (a few dozen bytes a task) so a
 * process can hold a million of them.
 *
 * Entries are registrations, in order. Slots are names: as in the original, spacing and last run are
 * keyed by name, so two registrations under one name (a decorated override) share them; the spacing
 * and the last-run stamp of the latest registration win.
 */
export class TaskTable {
  readonly names: string[] = [];
  readonly fns: PeriodicTaskFn[] = [];
  /** Per entry: its run policies, or undefined (every default: the fast path). */
  readonly policies: (TaskPolicy | undefined)[] = [];
  /** Slots whose last run was restored from a task state store (their missed policy applies at start). */
  readonly restored = new Set<number>();
  #flags = new Uint8Array(8);
  #slotOf = new Int32Array(8);
  /** False while every name is distinct, so that slot = entry and a run needs no `slotOf` read. */
  #shared = false;
  readonly #slotByName = new Map<string, number>();
  /** Per slot: seconds between runs. */
  spacing = new Float64Array(8);
  /** Per slot: last run (a grid point), NaN for "never" (the original's None). */
  lastRun = new Float64Array(8);
  /** Called after each registration with the new entry's index. */
  onAdd: ((entry: number) => void) | undefined;

  get length(): number {
    return this.names.length;
  }

  get slotCount(): number {
    return this.#slotByName.size;
  }

  add(
    name: string,
    fn: PeriodicTaskFn,
    spacing: number,
    runImmediately: boolean,
    externalOk: boolean,
    now: number,
    placement: TaskPlacementKind = 'every-replica',
    policy?: TaskPolicy,
  ): number {
    const entry = this.names.length;
    let slot = this.#slotByName.get(name);
    if (slot === undefined) {
      slot = this.#slotByName.size;
      this.#slotByName.set(name, slot);
      this.spacing = grow(this.spacing, slot + 1);
      this.lastRun = grow(this.lastRun, slot + 1);
    }
    this.names.push(name);
    this.fns.push(fn);
    this.policies.push(policy);
    this.#flags = grow(this.#flags, entry + 1);
    this.#slotOf = grow(this.#slotOf, entry + 1);
    this.#flags[entry] =
      (runImmediately ? IMMEDIATE : 0) |
      (externalOk ? EXTERNAL_OK : 0) |
      (PLACEMENTS.indexOf(placement) << PLACEMENT_SHIFT);
    this.#slotOf[entry] = slot;
    if (slot !== entry) this.#shared = true;
    this.spacing[slot] = spacing;
    this.lastRun[slot] = runImmediately ? NaN : now;
    this.onAdd?.(entry);
    return entry;
  }

  /** True once two registrations share a name (and so a slot). */
  get hasSharedNames(): boolean {
    return this.#shared;
  }

  slotOf(entry: number): number {
    return this.#shared ? (this.#slotOf[entry] as number) : entry;
  }

  runImmediately(entry: number): boolean {
    return ((this.#flags[entry] as number) & IMMEDIATE) !== 0;
  }

  externalOk(entry: number): boolean {
    return ((this.#flags[entry] as number) & EXTERNAL_OK) !== 0;
  }

  /** True for once-per-cluster and sharded tasks (they run on the cluster's grid). */
  clustered(entry: number): boolean {
    return (this.#flags[entry] as number) >> PLACEMENT_SHIFT !== 0;
  }

  policy(entry: number): TaskPolicy | undefined {
    return this.policies[entry];
  }

  /** The slot of a name, or undefined. */
  slotByName(name: string): number | undefined {
    return this.#slotByName.get(name);
  }

  placement(entry: number): TaskPlacementKind {
    return PLACEMENTS[(this.#flags[entry] as number) >> PLACEMENT_SHIFT] as TaskPlacementKind;
  }
}
