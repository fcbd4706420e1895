import { maskUrlPassword } from '../core/index.js';
import type { OpsBadge, OpsCell, OpsViewSection, Service } from '../service/index.js';
import { type ConductorStore, isServiceUp, type VimStatus } from './db/index.js';

/** Events the dashboard lists (newest first, all VIMs together). */
export const OPS_VIEW_EVENTS = 12;

/** VIMs the dashboard lists at most (by name); a note says how many more there are. */
export const OPS_VIEW_VIMS = 200;

/** Options of {@link conductorOpsView}. */
export interface ConductorOpsViewOptions {
  readonly store: ConductorStore;
  /** The service the conductor runs in (its coordinator tells which member owns each VIM). */
  readonly service: Service;
  /** `[DEFAULT] service_down_time`: seconds after the last heartbeat at which a service is down. */
  readonly serviceDownTime: number;
  /** Wall-clock time now (the conductor's `now`). */
  readonly now: Date;
}

const VIM_TONES: Readonly<Record<VimStatus, OpsBadge['tone']>> = {
  REACHABLE: 'ok',
  UNREACHABLE: 'bad',
  ERROR: 'bad',
  PENDING: 'warn',
  REGISTERING: 'info',
};

const vimBadge = (status: string): OpsBadge => ({
  badge: status,
  tone: VIM_TONES[status as VimStatus] ?? 'muted',
});

const at = (date: Date | null): OpsCell =>
  date instanceof Date && !Number.isNaN(date.getTime()) ? { at: date.toISOString() } : null;

/**
 * The conductor's sections of the ops dashboard, read from its store: the services and their
 * heartbeats (up or down as Tacker judges it: the last heartbeat at most `service_down_time`
 * seconds away), the VIMs with their status and the replica whose shard each is in, and the latest
 * VIM events. Every value is data for the page to show as text.
 */
export async function conductorOpsView(
  options: ConductorOpsViewOptions,
): Promise<OpsViewSection[]> {
  const { store, service, serviceDownTime, now } = options;
  const [services, vims, events] = await Promise.all([
    store.listServices(),
    store.listVims(),
    latestEvents(store, OPS_VIEW_EVENTS),
  ]);
  const coordinator = service.coordinator;
  const partition = coordinator?.partition(service.topic);
  const owner = (id: string): OpsCell => {
    const member = partition?.owner(id);
    if (member === undefined) return null;
    return member === coordinator?.memberId ? `${member} (this)` : member;
  };
  const names = new Map(vims.map((v) => [v.id, v.name]));
  const shown = vims.slice(0, OPS_VIEW_VIMS);
  return [
    {
      title: 'Services',
      note: `Heartbeats in the services table; down after ${serviceDownTime} s without one (service_down_time).`,
      columns: ['Binary', 'Host', 'Topic', 'Status', 'Last heartbeat', 'Reports'],
      rows: services.map((s) => [
        s.binary,
        s.host,
        s.topic,
        s.disabled
          ? { badge: 'disabled', tone: 'muted' }
          : isServiceUp(s, now, serviceDownTime)
            ? { badge: 'up', tone: 'ok' }
            : { badge: 'down', tone: 'bad' },
        at(s.updatedAt ?? s.createdAt),
        s.reportCount,
      ]),
      empty: 'no heartbeat yet',
    },
    {
      title: 'VIMs',
      note:
        vims.length > shown.length
          ? `${shown.length} of ${vims.length} VIMs (by name).`
          : `${vims.length} registered; probed by the member whose shard holds them.`,
      columns: ['Name', 'Type', 'Auth URL', 'Status', 'Updated', 'Shard'],
      rows: shown.map((v) => [
        v.name,
        v.type,
        maskUrlPassword(v.authUrl),
        vimBadge(v.status),
        at(v.updatedAt ?? v.createdAt),
        owner(v.id),
      ]),
      empty: 'no VIM registered (conductor vim register)',
      wide: true,
    },
    {
      title: 'Recent VIM events',
      columns: ['When', 'VIM', 'Event', 'State'],
      rows: events.map((e) => [
        at(e.timestamp),
        names.get(e.resourceId) ?? e.resourceId,
        e.eventType,
        vimBadge(e.resourceState),
      ]),
      empty: 'no event yet',
    },
  ];
}

/** The latest VIM events of every VIM, newest first (one query; the store lists per VIM only). */
async function latestEvents(
  store: ConductorStore,
  limit: number,
): Promise<{ resourceId: string; eventType: string; resourceState: string; timestamp: Date }[]> {
  const rows = await store.db
    .selectFrom('events')
    .select(['resource_id', 'event_type', 'resource_state', 'timestamp'])
    .where('resource_type', '=', 'vim')
    .orderBy('timestamp', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    resourceId: r.resource_id,
    eventType: r.event_type,
    resourceState: r.resource_state,
    // SQLite keeps ISO-8601 text, PostgreSQL a timestamptz: both read as a Date.
    timestamp: r.timestamp instanceof Date ? r.timestamp : new Date(r.timestamp),
  }));
}
