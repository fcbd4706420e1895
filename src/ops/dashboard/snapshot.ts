import { type Clock, HealthCheckError } from '../../core/index.js';
import {
  hasOpsView,
  type OpsBadgeTone,
  type OpsCell,
  opsView,
  type OpsViewSection,
  type Service,
} from '../../service/index.js';
import { describeError } from '../describe.js';
import type { HealthReport } from '../health.js';
import type { ServiceMetrics } from '../metrics.js';
import { type TaskRow, taskRows } from '../tasks.js';
import type { DashboardHistory, RpcRate } from './history.js';

/** Seconds the manager's ops view and the coordination backend may take per snapshot. */
export const SNAPSHOT_TIMEOUT = 2;

/** Bounds of a manager's sections: what a broken or huge view is cut to. */
const LIMITS = { sections: 12, columns: 16, rows: 500, text: 500 };

/** A task as the dashboard shows it: its `/tasks` row and more. */
export interface DashboardTask extends TaskRow {
  /** Its last latenesses, seconds, oldest first (at most 30). */
  readonly latenessHistory: readonly number[];
  /** False while an operator has disabled it. */
  readonly enabled: boolean;
  /** Whether "run now" applies (not to once-per-cluster tasks: their runs are the lease holder's slots). */
  readonly runnable: boolean;
}

/** The cluster as this replica sees it. */
export interface DashboardCluster {
  readonly memberId: string;
  readonly backend: string;
  /** The backend's URL, password masked. */
  readonly where: string;
  readonly healthy: boolean;
  readonly lastError: string | null;
  /** The live members of the service's group (its topic), sorted; `self` marks this replica. */
  readonly members: readonly { readonly id: string; readonly self: boolean }[];
  /** The lease of each once-per-cluster task: who holds it, seconds until it expires. */
  readonly leases: readonly {
    readonly task: string;
    readonly lease: string;
    readonly holder: string | null;
    readonly self: boolean;
    readonly expiresIn: number | null;
  }[];
  /** Each sharded task and the members its keys are spread over (the group's hash ring). */
  readonly shards: readonly { readonly task: string; readonly members: readonly string[] }[];
  /** Why members or leases could not be read, if they could not. */
  readonly error: string | null;
}

/** What `GET /dashboard.json` answers: everything the page shows, as data. */
export interface DashboardSnapshot {
  /** When the snapshot was made (ISO-8601); the page computes ages from it. */
  readonly generatedAt: string;
  /** Whether the page may offer actions (`[ops] allow_actions`). */
  readonly actions: boolean;
  readonly service: {
    readonly binary: string;
    readonly host: string;
    readonly topic: string;
    readonly state: string;
    readonly periodicMode: string;
    readonly reportInterval: number;
    /** Seconds since the last successful report, null before the first. */
    readonly heartbeatAge: number | null;
  } | null;
  /** `/healthz`'s report, or null before the service runs. */
  readonly health: HealthReport | null;
  readonly tasks: readonly DashboardTask[];
  readonly cluster: DashboardCluster | null;
  readonly rpc: { readonly windowSeconds: number; readonly methods: readonly RpcRate[] };
  /** The manager's sections (the conductor: services, VIMs, VIM events). */
  readonly panels: readonly OpsViewSection[];
  /** Why the manager's sections could not be had, if they could not. */
  readonly panelsError: string | null;
}

/** What {@link buildSnapshot} reads. */
export interface SnapshotSources {
  readonly service: Service | undefined;
  readonly metrics: ServiceMetrics;
  readonly history: DashboardHistory;
  readonly actions: boolean;
  /** The time of the timeouts. */
  readonly clock: Clock;
  /** `/healthz`'s checks (the server's, with its event-loop check). */
  readonly health: () => Promise<HealthReport>;
  /** RPC rates over this window (the history's). */
  readonly rpcWindow: number;
}

/** `work`, or a rejection after `seconds` (the work goes on alone, its result ignored). */
async function bounded<T>(
  clock: Clock,
  seconds: number,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  const result = Promise.resolve().then(work);
  const expired = clock.sleep(seconds, abort.signal).then(
    () =>
      Promise.reject(new HealthCheckError('dashboard', `${what} took longer than ${seconds} s`)),
    () => new Promise<never>(() => undefined),
  );
  try {
    return await Promise.race([result, expired]);
  } finally {
    abort.abort();
    result.catch(() => undefined);
  }
}

/** Builds the dashboard's snapshot; parts that fail are reported in it, never fail it. */
export async function buildSnapshot(src: SnapshotSources): Promise<DashboardSnapshot> {
  const { service, metrics, history } = src;
  const generatedAt = new Date().toISOString();
  if (!service) {
    return {
      generatedAt,
      actions: src.actions,
      service: null,
      health: null,
      tasks: [],
      cluster: null,
      rpc: { windowSeconds: src.rpcWindow, methods: history.rpcRates() },
      panels: [],
      panelsError: null,
    };
  }
  const running = service.state === 'running';
  const [health, cluster, panels] = await Promise.all([
    running ? src.health() : Promise.resolve(null),
    clusterOf(service, src.clock),
    panelsOf(service, src.clock),
  ]);
  const last = service.lastReportAt;
  const manager = service.manager;
  return {
    generatedAt,
    actions: src.actions,
    service: {
      binary: service.binary,
      host: service.host,
      topic: service.topic,
      state: service.state,
      periodicMode: service.periodicMode,
      reportInterval: service.reportInterval,
      heartbeatAge:
        last === undefined
          ? null
          : Math.round(Math.max(0, service.clock.now() - last) * 1000) / 1000,
    },
    health,
    tasks: taskRows(service, metrics).map((row) => ({
      ...row,
      latenessHistory: history.lateness(row.name),
      enabled: manager.periodicTaskEnabled(row.name),
      runnable: row.placement !== 'once-per-cluster',
    })),
    cluster,
    rpc: { windowSeconds: src.rpcWindow, methods: history.rpcRates() },
    ...panels,
  };
}

async function clusterOf(service: Service, clock: Clock): Promise<DashboardCluster | null> {
  const c = service.coordinator;
  if (!c) return null;
  const stats = c.stats();
  const tasks = service.manager.periodicTaskInfo();
  const base = {
    memberId: c.memberId,
    backend: stats.backend,
    where: stats.where,
    healthy: stats.healthy,
    lastError: stats.lastError ?? null,
  };
  const partition = c.partition(service.topic);
  const shards = tasks
    .filter((t) => t.placement === 'sharded')
    .map((t) => ({ task: t.name, members: [...partition.members] }));
  try {
    const [members, leases] = await bounded(
      clock,
      SNAPSHOT_TIMEOUT,
      'the coordination backend',
      () =>
        Promise.all([
          c.members(service.topic),
          Promise.all(
            tasks
              .filter((t) => t.placement === 'once-per-cluster')
              .map(async (t) => {
                const lease = service.leaseNameOf(t) ?? `task/${service.topic}/${t.fullName}`;
                const record = await c.holder(lease);
                return {
                  task: t.name,
                  lease,
                  holder: record?.holder ?? null,
                  self: record?.holder === c.memberId,
                  expiresIn: record ? Math.round(record.expiresIn * 1000) / 1000 : null,
                };
              }),
          ),
        ]),
    );
    return {
      ...base,
      members: members.map((id) => ({ id, self: id === c.memberId })),
      leases,
      shards,
      error: null,
    };
  } catch (err) {
    return { ...base, members: [], leases: [], shards, error: describeError(err) };
  }
}

async function panelsOf(
  service: Service,
  clock: Clock,
): Promise<{ panels: OpsViewSection[]; panelsError: string | null }> {
  const manager = service.manager;
  if (!hasOpsView(manager)) return { panels: [], panelsError: null };
  try {
    const view = await bounded(clock, SNAPSHOT_TIMEOUT, "the manager's ops view", async () =>
      manager[opsView](service),
    );
    return { panels: sanitize(view), panelsError: null };
  } catch (err) {
    return { panels: [], panelsError: describeError(err) };
  }
}

const text = (value: unknown): string => {
  const s = typeof value === 'string' ? value : String(value);
  return s.length > LIMITS.text ? `${s.slice(0, LIMITS.text - 1)}…` : s;
};

const TONES = new Set(['ok', 'warn', 'bad', 'info', 'muted']);

/** One cell as the page may show it: text, a finite number, a badge, a time, or null. */
function cell(value: unknown): OpsCell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : text(value);
  if (typeof value === 'object') {
    const v = value as { badge?: unknown; tone?: unknown; at?: unknown };
    if (v.badge !== undefined)
      return {
        badge: text(v.badge),
        tone: TONES.has(v.tone as string) ? (v.tone as OpsBadgeTone) : 'muted',
      };
    if (typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at))) return { at: v.at };
  }
  return text(value);
}

/**
 * A manager's sections cut to what the page can show: known cell kinds only (anything else as its
 * text), bounded counts and lengths, so a broken or huge view cannot break or bloat the page.
 */
function sanitize(view: unknown): OpsViewSection[] {
  if (!Array.isArray(view))
    throw new HealthCheckError('dashboard', 'the ops view is not an array of sections');
  return view.slice(0, LIMITS.sections).map((raw: unknown) => {
    const s = (raw ?? {}) as Partial<Record<keyof OpsViewSection, unknown>>;
    const columns = Array.isArray(s.columns) ? s.columns.slice(0, LIMITS.columns).map(text) : [];
    const rows = Array.isArray(s.rows) ? s.rows.slice(0, LIMITS.rows) : [];
    return {
      title: text(s.title ?? 'untitled'),
      ...(s.note !== undefined ? { note: text(s.note) } : {}),
      columns,
      rows: rows.map((r: unknown) =>
        (Array.isArray(r) ? r : [r]).slice(0, columns.length || LIMITS.columns).map(cell),
      ),
      ...(s.empty !== undefined ? { empty: text(s.empty) } : {}),
      ...(s.wide === true ? { wide: true } : {}),
    };
  });
}
