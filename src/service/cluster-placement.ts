import type { Candidacy, Coordinator, Partition } from '../coordination/index.js';
import type { Logger } from '../core/index.js';
import { localRun, type PlacedTask, type TaskPlacement, type TaskRun } from '../periodic/index.js';

/**
 * The placement of a service's cluster tasks on its coordinator:
 *
 * - once-per-cluster: a standing candidacy per task for the lease `task/<scope>/<Class.task>`, so
 *   the holder keeps it (renewed every heartbeat) and another replica takes over within one
 *   heartbeat of its expiry; before each slot the holder records the slot in the backend (fenced by
 *   its token, slots only grow), so no slot ever runs twice, and a new holder continues the grid.
 * - sharded: the group's hash ring as it is when the run starts; a replica whose membership is not
 *   confirmed owns nothing. A run that starts while a new membership settles (one heartbeat after
 *   a join, while the others let go of its keys) waits for it, so a starting replica's first run
 *   handles its share rather than nothing.
 */
export class ClusterPlacement implements TaskPlacement {
  readonly #coordinator: Coordinator;
  readonly #scope: string;
  readonly #partition: Partition;
  readonly #candidacies = new Map<string, Candidacy>();
  readonly #log: Logger;
  /** Ends the waits of runs for the membership to settle (the service stops). */
  readonly #stopping = new AbortController();

  constructor(coordinator: Coordinator, scope: string, partition: Partition, logger: Logger) {
    this.#coordinator = coordinator;
    this.#scope = scope;
    this.#partition = partition;
    this.#log = logger;
  }

  get epoch(): number {
    return this.#coordinator.clock.epoch ?? 0;
  }

  /** The lease name of a once-per-cluster task. */
  leaseName(task: Pick<PlacedTask, 'fullName'>): string {
    return `task/${this.#scope}/${task.fullName}`;
  }

  /** Starts the candidacy of a once-per-cluster task (at service start, before its first slot). */
  campaign(task: Pick<PlacedTask, 'fullName'>): Candidacy {
    const name = this.leaseName(task);
    let c = this.#candidacies.get(name);
    if (!c) {
      c = this.#coordinator.campaign(name);
      this.#candidacies.set(name, c);
    }
    return c;
  }

  /** True while this replica holds the lease of a once-per-cluster task. */
  holds(task: Pick<PlacedTask, 'fullName'>): boolean {
    return this.#candidacies.get(this.leaseName(task))?.lease !== undefined;
  }

  async claim(task: PlacedTask, slot: number): Promise<TaskRun | null> {
    const candidacy = this.campaign(task);
    const lease = candidacy.lease ?? (await candidacy.attempt());
    if (!lease) return null;
    if (!(await this.#coordinator.claimSlot(lease, slot))) {
      this.#log.debug(
        { task: task.fullName, slot },
        'slot already run (or the lease changed hands)',
      );
      return null;
    }
    return {
      ...localRun('once-per-cluster', slot),
      signal: lease.signal,
      fencingToken: lease.token,
    };
  }

  shard(task: PlacedTask): TaskRun | Promise<TaskRun> {
    const at = this.#partition.settlesAt;
    return at === undefined ? this.#shardRun() : this.#settleThenShard(task, at);
  }

  async #settleThenShard(task: PlacedTask, at: number): Promise<TaskRun> {
    const clock = this.#coordinator.clock;
    const wait = at - clock.now();
    this.#log.debug(
      { task: task.fullName, wait },
      'sharded run waits for this replica to settle in the group',
    );
    // Stopped meanwhile: the run goes on and owns nothing (the membership has not settled).
    if (wait > 0) await clock.sleep(wait, this.#stopping.signal).catch(() => undefined);
    return this.#shardRun();
  }

  #shardRun(): TaskRun {
    const partition = this.#partition;
    // One ring for the whole run; validity is read live (a replica that drops out stops owning).
    const ring = partition.ring;
    const owns = (key: string): boolean => partition.valid && ring.owns(key);
    return {
      ...localRun('sharded'),
      owns,
      shard: (items, keyOf = String) => {
        const mine = [];
        for (const item of items) if (owns(keyOf(item))) mine.push(item);
        return mine;
      },
    };
  }

  /** The service stops: a run waiting for the membership to settle stops waiting. */
  stopping(): void {
    this.#stopping.abort();
  }

  /** Ends every candidacy (releasing the leases held). */
  async close(): Promise<void> {
    this.stopping();
    await Promise.all([...this.#candidacies.values()].map((c) => c.cancel()));
    this.#candidacies.clear();
  }
}
