import {
  type Clock,
  CoordinationUnavailable,
  errorMessage,
  getLogger,
  HealthCheckError,
  InvalidCoordinationOption,
  type Logger,
  NotStartedError,
  realClock,
} from '../core/index.js';
import type { CoordinationBackend, LeaseRecord } from './backend.js';
import { HeldLease, type Lease, type LeaseOwner } from './lease.js';
import { MemoryBackend, MemorySpace, memorySpace } from './memory.js';
import { coordinationOptions } from './options.js';
import { type MembershipEvent, Partition } from './partition.js';
import { type CoordinationUrl, parseCoordinationUrl } from './url.js';

/** Options of {@link getCoordinator}. */
export interface CoordinatorOptions {
  /** This replica's id in leases and groups: unique per process (default of services: `host:pid`). */
  readonly memberId: string;
  /** Time source of heartbeats and local lease deadlines. Default the real clock. */
  readonly clock?: Clock;
  /** Seconds a lease or a membership lasts without a heartbeat. Default `[coordination] lease_ttl`, 15. */
  readonly leaseTtl?: number;
  /** Seconds between heartbeats; less than `leaseTtl`. Default `[coordination] heartbeat_interval`, 5. */
  readonly heartbeatInterval?: number;
  /**
   * Prefix of the backend's keys or tables: applications (and tests) sharing a server. Lowercase
   * letters, digits and `_`, at most 42 characters. Default `conductor`.
   */
  readonly namespace?: string;
  /** Seconds one backend operation may take. Default 2. */
  readonly operationTimeout?: number;
  readonly logger?: Logger;
  /** A backend to use instead of the URL's (tests, custom backends). */
  readonly backend?: CoordinationBackend;
}

/** A standing candidacy for a lease: tried at once and at every heartbeat while not held. */
export interface Candidacy {
  readonly name: string;
  /** The lease while this replica holds it. */
  readonly lease: Lease | undefined;
  /** Tries at once (when not held); resolves to the lease or undefined. */
  attempt(): Promise<Lease | undefined>;
  /** Stops trying and releases the lease if held. */
  cancel(): Promise<void>;
}

/** What a coordinator reports for health checks and metrics. */
export interface CoordinatorStats {
  readonly backend: string;
  /** The backend's URL, password masked. */
  readonly where: string;
  /** True when the last heartbeat reached the backend in every operation. */
  readonly healthy: boolean;
  /** The last backend error, while unhealthy. */
  readonly lastError: string | undefined;
  readonly leasesHeld: number;
  /** Leases taken since start (a re-acquisition after a loss counts again). */
  readonly leaseAcquisitions: number;
  /** Leases lost (taken, expired, backend gone) since start; releases are not losses. */
  readonly leaseLosses: number;
  /** Members in the ring of each group this replica partitions or watches. */
  readonly groups: Readonly<Record<string, number>>;
}

function positive(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new InvalidCoordinationOption(
      `${name} must be a positive number of seconds, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Opens a {@link Coordinator} on `url` (`memory://[name]`, `redis://…`, `postgresql://…`); it does
 * not connect until `start()`. Options are checked here: a bad one throws
 * `InvalidCoordinationOption`, a bad URL `InvalidCoordinationUrl` or `UnsupportedCoordinationBackend`.
 *
 * `memory://` (no name) is private to this coordinator: one replica, the embedded default.
 * `memory://name` is shared by every coordinator of this process opened with that name.
 */
export function getCoordinator(url: string, options: CoordinatorOptions): Coordinator {
  const parsed = parseCoordinationUrl(url);
  if (typeof options?.memberId !== 'string' || options.memberId === '') {
    throw new InvalidCoordinationOption('memberId must be a non-empty string');
  }
  const d = coordinationOptions.defaults;
  const ttl = positive('leaseTtl', options.leaseTtl) ?? d.lease_ttl;
  const beat = positive('heartbeatInterval', options.heartbeatInterval) ?? d.heartbeat_interval;
  positive('operationTimeout', options.operationTimeout);
  if (!(beat < ttl)) {
    throw new InvalidCoordinationOption(
      `heartbeatInterval (${beat}) must be less than leaseTtl (${ttl})`,
    );
  }
  const ns = options.namespace ?? 'conductor';
  // One rule for every backend: it names PostgreSQL tables too (at most 42 characters, so the
  // longest table name stays within PostgreSQL's 63).
  if (typeof ns !== 'string' || !/^[a-z_][a-z0-9_]{0,41}$/.test(ns)) {
    throw new InvalidCoordinationOption(
      `namespace must be lowercase letters, digits and '_' (a letter or '_' first, at most 42), got ${JSON.stringify(ns)}`,
    );
  }
  return new Coordinator(parsed, { ...options, leaseTtl: ttl, heartbeatInterval: beat });
}

async function openBackend(
  u: CoordinationUrl,
  options: CoordinatorOptions,
  clock: Clock,
): Promise<CoordinationBackend> {
  if (options.backend) return options.backend;
  const common = {
    where: u.where,
    keyPrefix: options.namespace ?? 'conductor',
    ...(options.operationTimeout !== undefined
      ? { operationTimeout: options.operationTimeout }
      : {}),
  };
  switch (u.scheme) {
    case 'memory': {
      const space = u.name
        ? memorySpace(`${u.name}#${common.keyPrefix}`, clock)
        : new MemorySpace(clock);
      return new MemoryBackend(space, u.where);
    }
    case 'redis': {
      const { RedisBackend } = await import('./redis.js');
      return new RedisBackend(u.url, common);
    }
    case 'postgresql': {
      const { PostgresBackend } = await import('./postgresql.js');
      return new PostgresBackend(u.url, common);
    }
  }
}

interface GroupState {
  joined: boolean;
  /** Clock time until which this replica's membership is confirmed. */
  validUntil: number;
  /** When the heartbeat that confirmed it was sent (the backend keeps it until that + TTL at least). */
  confirmedSentAt: number;
  /**
   * Clock time from which this replica owns its keys: a join, or a comeback after the backend may
   * have let the membership go, waits one heartbeat so that every other replica has polled and let
   * go of the keys it takes (a handover leaves a gap, never a key handled twice).
   */
  owningFrom: number;
  watchers: Set<(event: MembershipEvent) => void>;
  partition: Partition | undefined;
  members: readonly string[] | undefined;
}

/**
 * The cluster side of a replica, in the manner of tooz's coordinator: leases with fencing tokens and
 * abort signals, group membership with heartbeats, membership watches and hash-ring partitions, on a
 * {@link CoordinationBackend}. One heartbeat loop (on the injected clock) renews every lease,
 * refreshes every membership, retries every candidacy and polls every watched group.
 */
export class Coordinator implements LeaseOwner {
  readonly memberId: string;
  readonly clock: Clock;
  readonly leaseTtl: number;
  readonly heartbeatInterval: number;
  /** The backend's URL, password masked. */
  readonly where: string;
  /** `memory`, `redis` or `postgresql`. */
  readonly kind: string;
  readonly #url: CoordinationUrl;
  readonly #options: CoordinatorOptions;
  readonly #log: Logger;
  /** Leases are given up this long before their local deadline: timers fire late, clocks drift. */
  readonly #margin: number;
  /**
   * How long a joining replica waits before it owns keys: one heartbeat (each other replica polls
   * in that time) and the margin; none on a private `memory://`, where no other replica can be.
   */
  readonly #settle: number;
  #backend: CoordinationBackend | undefined;
  #connected = false;
  #running = false;
  #stopping = false;
  #stop = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  readonly #leases = new Map<string, HeldLease>();
  readonly #candidacies = new Map<string, Candidacy>();
  readonly #groups = new Map<string, GroupState>();
  #healthy = false;
  #lastError: string | undefined = 'not started';
  #acquisitions = 0;
  #losses = 0;

  constructor(url: CoordinationUrl, options: CoordinatorOptions) {
    this.#url = url;
    this.#options = options;
    this.memberId = options.memberId;
    this.clock = options.clock ?? realClock;
    this.leaseTtl = options.leaseTtl ?? coordinationOptions.defaults.lease_ttl;
    this.heartbeatInterval =
      options.heartbeatInterval ?? coordinationOptions.defaults.heartbeat_interval;
    this.where = options.backend?.where ?? url.where;
    this.kind = options.backend?.kind ?? url.scheme;
    this.#margin = Math.min(this.leaseTtl * 0.1, 0.5);
    const alone = !options.backend && url.scheme === 'memory' && !url.name;
    this.#settle = alone ? 0 : this.heartbeatInterval + this.#margin;
    this.#log = (options.logger ?? getLogger('coordination')).child({
      member: this.memberId,
      backend: this.kind,
    });
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#running;
  }

  /** True when the last heartbeat reached the backend in every operation. */
  get healthy(): boolean {
    return this.#running && this.#healthy;
  }

  /**
   * Connects and starts the heartbeat loop. When the backend cannot be reached it rejects with
   * `CoordinationUnavailable`, unless `required` is false: then it starts degraded (unhealthy, no
   * leases granted) and keeps trying at every heartbeat.
   */
  async start(options: { required?: boolean } = {}): Promise<void> {
    if (this.#running) return;
    this.#backend ??= await openBackend(this.#url, this.#options, this.clock);
    try {
      await this.#backend.connect();
      this.#connected = true;
      this.#ok();
    } catch (err) {
      this.#fail(err);
      if (options.required ?? true) {
        await this.#backend.close().catch(() => undefined); // the error above is the one to report
        throw err instanceof CoordinationUnavailable
          ? err
          : new CoordinationUnavailable(this.where, errorMessage(err));
      }
      this.#log.warn(
        { err: this.#lastError, where: this.where },
        'Coordination backend unavailable at start; running degraded, retrying every heartbeat',
      );
    }
    this.#running = true;
    this.#stop = new AbortController();
    this.#loop = this.#heartbeatLoop();
    this.#log.info(
      { where: this.where, leaseTtl: this.leaseTtl, heartbeatInterval: this.heartbeatInterval },
      'Coordinator started',
    );
  }

  /** Stops the heartbeats, releases every lease, leaves every group and closes the backend. */
  async stop(): Promise<void> {
    if (!this.#running || this.#stopping) return;
    this.#stopping = true;
    this.#stop.abort();
    await this.#loop;
    const backend = this.#backend as CoordinationBackend;
    const quiet = (what: string) => (err: unknown) =>
      this.#log.debug({ err }, `stop: ${what} failed (it expires by its TTL)`);
    await Promise.all([
      ...[...this.#leases.values()].map((l) => this.releaseLease(l).catch(quiet('release'))),
      ...[...this.#groups]
        .filter(([, g]) => g.joined)
        .map(([group]) => backend.leave(group, this.memberId).catch(quiet('leave'))),
    ]);
    this.#candidacies.clear();
    this.#groups.clear();
    await backend.close().catch(quiet('close'));
    this.#running = false;
    this.#stopping = false;
    this.#connected = false;
    this.#healthy = false;
    this.#lastError = 'stopped';
    this.#log.info('Coordinator stopped');
  }

  #use(): CoordinationBackend {
    if (!this.#running || !this.#backend)
      throw new NotStartedError('The coordinator is not started');
    if (!this.#connected)
      throw new CoordinationUnavailable(this.where, this.#lastError ?? 'not connected');
    return this.#backend;
  }

  // ---- leases ---------------------------------------------------------------------------------

  /**
   * Tries to take lease `name` once: resolves to the {@link Lease} (renewed by the heartbeat loop
   * until it is released or lost), or null when another replica holds it. Taking a lease this
   * replica already holds returns that lease.
   */
  async acquire(name: string): Promise<Lease | null> {
    if (typeof name !== 'string' || name === '')
      throw new InvalidCoordinationOption('a lease name must be a non-empty string');
    const held = this.#leases.get(name);
    if (held?.held) return held;
    const backend = this.#use();
    const sentAt = this.clock.now();
    let record: LeaseRecord | null;
    try {
      record = await backend.acquire(name, this.memberId, this.leaseTtl);
    } catch (err) {
      this.#fail(err);
      throw err;
    }
    if (!record) return null;
    const again = this.#leases.get(name);
    if (again?.held && again.token === record.token) {
      again.extend(sentAt, this.leaseTtl);
      return again;
    }
    again?.lose('superseded');
    const lease = new HeldLease(
      this,
      name,
      name,
      this.memberId,
      record.token,
      sentAt + Math.min(this.leaseTtl, record.expiresIn),
      this.#margin,
    );
    this.#leases.set(name, lease);
    this.#acquisitions++;
    this.#log.info({ lease: name, token: record.token }, 'Lease acquired');
    return lease;
  }

  /**
   * A standing candidacy for lease `name`: tried now and at every heartbeat while another replica
   * holds it, so this replica takes over within one heartbeat of the holder's lease expiring.
   */
  campaign(name: string): Candidacy {
    const existing = this.#candidacies.get(name);
    if (existing) return existing;
    const leases = this.#leases;
    const candidacy: Candidacy = {
      name,
      get lease() {
        const l = leases.get(name);
        return l?.held ? l : undefined;
      },
      attempt: async () => {
        if (!this.#candidacies.has(name) || !this.#running) return undefined;
        try {
          return (await this.acquire(name)) ?? undefined;
        } catch (err) {
          this.#log.debug(
            { err, lease: name },
            'candidacy: acquire failed; next heartbeat retries',
          );
          return undefined;
        }
      },
      cancel: async () => {
        this.#candidacies.delete(name);
        const l = this.#leases.get(name);
        if (l?.held) await this.releaseLease(l);
      },
    };
    this.#candidacies.set(name, candidacy);
    void candidacy.attempt();
    return candidacy;
  }

  /** The backend's view of lease `name`: its holder and token, or null when free. */
  holder(name: string): Promise<LeaseRecord | null> {
    return this.#use().holder(name);
  }

  /**
   * Records `slot` as run under `lease` (fenced by its token; slots only grow): true when this
   * replica may run the slot. No two replicas ever get true for one slot of one lease.
   */
  async claimSlot(lease: Lease, slot: number): Promise<boolean> {
    if (!lease.held) return false;
    try {
      return await this.#use().claimSlot(lease.name, this.memberId, lease.token, slot);
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  /** The last slot recorded for lease `name`, or null. */
  lastSlot(name: string): Promise<number | null> {
    return this.#use().lastSlot(name);
  }

  /** @internal Renewal of one lease (the heartbeat loop, `Lease.renew`). */
  async renewLease(lease: HeldLease, sentAt = this.clock.now()): Promise<boolean> {
    if (!lease.held) return false;
    let ok: boolean;
    try {
      ok = await this.#use().renew(lease.key, this.memberId, lease.token, this.leaseTtl);
    } catch (err) {
      // Not lost yet: the local deadline decides (the watchdog), so a brief outage costs nothing.
      this.#fail(err);
      return lease.held;
    }
    if (ok) lease.extend(sentAt, this.leaseTtl);
    else this.leaseLost(lease, 'taken or expired at the backend');
    return ok;
  }

  /** @internal */
  async releaseLease(lease: HeldLease): Promise<void> {
    if (this.#leases.get(lease.name) === lease) this.#leases.delete(lease.name);
    if (!lease.lose('released')) return;
    try {
      await this.#use().release(lease.key, this.memberId, lease.token);
    } catch (err) {
      this.#log.debug({ err, lease: lease.name }, 'release failed; the lease expires by its TTL');
    }
  }

  /** @internal A lease stopped being ours (watchdog, failed renewal). */
  leaseLost(lease: HeldLease, reason: string): void {
    if (this.#leases.get(lease.name) === lease) this.#leases.delete(lease.name);
    if (!lease.lose(reason)) return;
    this.#losses++;
    this.#log.warn({ lease: lease.name, token: lease.token, reason }, 'Lease lost');
  }

  // ---- membership ------------------------------------------------------------------------------

  #group(group: string): GroupState {
    if (typeof group !== 'string' || group === '')
      throw new InvalidCoordinationOption('a group name must be a non-empty string');
    let g = this.#groups.get(group);
    if (!g) {
      g = {
        joined: false,
        validUntil: -Infinity,
        confirmedSentAt: -Infinity,
        owningFrom: Infinity,
        watchers: new Set(),
        partition: undefined,
        members: undefined,
      };
      this.#groups.set(group, g);
    }
    return g;
  }

  /**
   * Joins `group` (heartbeats keep the membership; a crashed replica leaves within one TTL). While
   * the backend is away the membership is confirmed by the first heartbeat that reaches it.
   */
  async join(group: string): Promise<void> {
    const g = this.#group(group);
    if (!this.#running) throw new NotStartedError('The coordinator is not started');
    g.joined = true;
    // Degraded (backend away): the heartbeat that reaches it confirms the membership.
    if (!this.#connected) return;
    await this.#heartbeatGroup(group, g);
    await this.#refresh(group, g);
  }

  /** Leaves `group` at once. */
  async leave(group: string): Promise<void> {
    const g = this.#groups.get(group);
    if (!g?.joined) return;
    g.joined = false;
    g.validUntil = -Infinity;
    g.confirmedSentAt = -Infinity;
    await this.#use().leave(group, this.memberId);
    await this.#refresh(group, g);
  }

  /** The live members of `group`, sorted (one backend round trip). */
  members(group: string): Promise<string[]> {
    return this.#use().members(group);
  }

  /**
   * Calls `listener` for every member that joins or leaves `group`, as seen at each heartbeat (the
   * first poll reports the members already there as joins). Returns the unsubscribe function.
   */
  watch(group: string, listener: (event: MembershipEvent) => void): () => void {
    const g = this.#group(group);
    g.watchers.add(listener);
    if (this.#connected) void this.#refresh(group, g).catch(() => undefined);
    return () => {
      g.watchers.delete(listener);
    };
  }

  /**
   * This replica's share of `group`'s keys: a hash ring over the live members, rebuilt at the
   * heartbeat that sees them change. This replica owns keys only while it is a confirmed member
   * (join the group first).
   */
  partition(group: string, options: { replicas?: number } = {}): Partition {
    const g = this.#group(group);
    g.partition ??= new Partition(
      group,
      this.memberId,
      {
        valid: () => {
          const now = this.clock.now();
          return g.joined && g.owningFrom <= now && now < g.validUntil;
        },
        settlesAt: () => {
          const now = this.clock.now();
          return g.joined && now < g.owningFrom && g.owningFrom < g.validUntil
            ? g.owningFrom
            : undefined;
        },
      },
      options.replicas,
    );
    if (g.members) g.partition.update(g.members);
    return g.partition;
  }

  async #heartbeatGroup(group: string, g: GroupState): Promise<void> {
    const sentAt = this.clock.now();
    await this.#use().heartbeat(group, this.memberId, this.leaseTtl);
    const doneAt = this.clock.now();
    // New to the others, or maybe expired in their eyes (the last confirmation may have run out at
    // the backend before this one landed): they may hold this replica's keys until their next poll.
    if (doneAt >= g.confirmedSentAt + this.leaseTtl) g.owningFrom = doneAt + this.#settle;
    g.confirmedSentAt = sentAt;
    g.validUntil = sentAt + this.leaseTtl - this.#margin;
  }

  async #refresh(group: string, g: GroupState): Promise<void> {
    // A joined group is polled too, so that a partition taken after the join starts from its ring.
    if (g.watchers.size === 0 && !g.partition && !g.joined) return;
    const members = await this.#use().members(group);
    const before = g.members ?? [];
    g.members = members;
    g.partition?.update(members);
    if (g.watchers.size === 0) return;
    const was = new Set(before);
    const now = new Set(members);
    const events: MembershipEvent[] = [];
    for (const m of members)
      if (!was.has(m)) events.push({ type: 'join', group, member: m, members });
    for (const m of before)
      if (!now.has(m)) events.push({ type: 'leave', group, member: m, members });
    if (events.length > 0) {
      this.#log.info({ group, members }, 'Group membership changed');
    }
    for (const event of events) {
      for (const listener of g.watchers) {
        try {
          listener(event);
        } catch (err) {
          this.#log.error({ err, group }, 'membership watcher failed');
        }
      }
    }
  }

  // ---- heartbeats ------------------------------------------------------------------------------

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (this.#running) {
      try {
        await this.clock.sleep(this.heartbeatInterval, signal);
      } catch {
        return; // stopped
      }
      await this.beat();
    }
  }

  /**
   * One heartbeat (the loop runs it every `heartbeatInterval`): reconnect if needed, renew every
   * lease, refresh every membership, retry every candidacy, poll every watched group. Errors make the
   * coordinator unhealthy and never end the loop.
   */
  async beat(): Promise<void> {
    const backend = this.#backend;
    if (!this.#running || this.#stopping || !backend) return;
    if (!this.#connected) {
      try {
        await backend.connect();
        this.#connected = true;
        this.#log.info({ where: this.where }, 'Coordination backend reachable again');
      } catch (err) {
        this.#fail(err);
        return;
      }
    }
    const sentAt = this.clock.now();
    let failed = false;
    const note = (err: unknown): void => {
      failed = true;
      this.#fail(err);
    };
    const renewals = [
      ...[...this.#leases.values()].map((l) => this.renewLease(l, sentAt).catch(note)),
      ...[...this.#groups]
        .filter(([, g]) => g.joined)
        .map(([group, g]) => this.#heartbeatGroup(group, g).catch(note)),
    ];
    // Nothing to renew: a ping, so health still says whether the backend answers.
    if (renewals.length === 0) renewals.push(backend.ping().catch(note));
    await Promise.all(renewals);
    await Promise.all(
      [...this.#candidacies.values()].filter((c) => !c.lease).map((c) => c.attempt()),
    );
    await Promise.all([...this.#groups].map(([group, g]) => this.#refresh(group, g).catch(note)));
    if (!failed && this.#lastErrorAt < sentAt) this.#ok();
  }

  #lastErrorAt = -Infinity;

  #ok(): void {
    if (!this.#healthy && this.#running)
      this.#log.info({ where: this.where }, 'Coordination backend healthy');
    this.#healthy = true;
    this.#lastError = undefined;
  }

  #fail(err: unknown): void {
    const message = errorMessage(err);
    if (this.#healthy)
      this.#log.warn({ where: this.where, err: message }, 'Coordination backend error');
    this.#healthy = false;
    this.#lastError = message;
    this.#lastErrorAt = this.clock.now();
  }

  // ---- reports ---------------------------------------------------------------------------------

  /** Throws a `HealthCheckError` (check `coordination`) when the backend is not healthy. */
  check(): void {
    if (!this.healthy) {
      throw new HealthCheckError(
        'coordination',
        `${this.kind} ${this.where}: ${this.#lastError ?? 'unhealthy'}`,
      );
    }
  }

  stats(): CoordinatorStats {
    const groups: Record<string, number> = {};
    for (const [name, g] of this.#groups) {
      if (g.partition || g.watchers.size > 0) groups[name] = g.members?.length ?? 0;
    }
    let held = 0;
    for (const l of this.#leases.values()) if (l.held) held++;
    return {
      backend: this.kind,
      where: this.where,
      healthy: this.healthy,
      lastError: this.#lastError,
      leasesHeld: held,
      leaseAcquisitions: this.#acquisitions,
      leaseLosses: this.#losses,
      groups,
    };
  }
}
