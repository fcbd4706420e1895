/**
 * `conductor tasks --url` / `--watch`: the periodic tasks of a running service, read from its ops
 * endpoint (`GET /tasks`), as a table or a live view.
 */
import type { ConfigOpts } from '../../config/index.js';
import { ConductorError, toError } from '../../core/index.js';
import { formatListen, opsOptions, parseListen } from '../../ops/index.js';
import type { Style } from '../ansi.js';
import { UsageError } from '../io.js';
import type { TaskRow } from '../../ops/index.js';
import type { WatchFrame, WatchRow } from '../watch.js';

/** One task as the ops endpoint's `/tasks` answers it. */
export type OpsTaskRow = TaskRow;

/** Seconds a request to the ops endpoint may take. */
export const OPS_REQUEST_TIMEOUT = 5;

/**
 * The base URL of the ops endpoint: `url` as given (its trailing `/` removed; `host:port` gets
 * `http://`), else `http://` + `[ops] listen` of the configuration. A disabled endpoint
 * (`listen = 0`) without `url` is a usage error.
 */
export function opsBaseUrl(url: string | undefined, conf: ConfigOpts): string {
  if (url !== undefined) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
    try {
      new URL(withScheme);
    } catch {
      throw new UsageError(`--url ${JSON.stringify(url)} is not a URL (expected http://host:port)`);
    }
    return withScheme.replace(/\/+$/, '');
  }
  const listen = opsOptions.read(conf).listen;
  const address = parseListen(listen);
  if (!address) {
    throw new UsageError(
      `the ops endpoint is disabled ([ops] listen = ${JSON.stringify(listen)}): give the endpoint with --url http://host:port`,
    );
  }
  const host = address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host;
  return `http://${formatListen({ host, port: address.port })}`;
}

/** Why a request failed, in a few words: `ECONNREFUSED`, `HTTP 503 (starting)`, `timed out`. */
function why(err: unknown): string {
  const e = toError(err);
  if (e.name === 'TimeoutError') return `timed out after ${OPS_REQUEST_TIMEOUT} s`;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? e.message;
}

/** GET `<base>/tasks`: the rows, or a ConductorError (exit status 1) saying why not. */
export async function fetchOpsTasks(base: string): Promise<OpsTaskRow[]> {
  const url = `${base}/tasks`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(OPS_REQUEST_TIMEOUT * 1000) });
  } catch (err) {
    throw new ConductorError(`cannot reach the ops endpoint ${url}: ${why(err)}`, { cause: err });
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    throw new ConductorError(`${url} answered HTTP ${res.status} without JSON: ${why(err)}`);
  }
  if (!res.ok) {
    const status = (body as { status?: unknown } | null)?.status;
    throw new ConductorError(
      `${url} answered HTTP ${res.status}${typeof status === 'string' ? ` (${status})` : ''}`,
    );
  }
  if (!Array.isArray(body)) throw new ConductorError(`${url} did not answer a list of tasks`);
  return body as OpsTaskRow[];
}

/** `3.2 s`, `4 min`, `2 h`: a duration to read at a glance. */
export function shortDuration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

const ago = (iso: string | null, now: Date): string => {
  if (iso === null) return 'never';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${shortDuration((now.getTime() - t) / 1000)} ago`;
};

const until = (iso: string | null, now: Date): string => {
  if (iso === null) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = (t - now.getTime()) / 1000;
  return s <= 0 ? 'due' : `in ${shortDuration(s)}`;
};

const OUTCOME_STYLE: Readonly<Record<string, Style>> = {
  ok: 'green',
  error: 'red',
  timeout: 'red',
};

/** The headers of the live tasks table. */
export const OPS_TASK_HEADERS = [
  'task',
  'placement',
  'every',
  'last run',
  'took',
  'next',
  'late',
  'outcome',
  'runs',
  'missed',
  'skipped',
  'timeouts',
] as const;

/**
 * A task's row of the live table at `now`. Ages (`3.2 s ago`, `in 5 s`) are judged changed by the
 * time they are computed from, so only a new run, a new outcome or a new count is highlighted.
 */
export function opsTaskRow(t: OpsTaskRow, now: Date): WatchRow {
  const placement =
    t.leaseHeld === undefined
      ? t.placement
      : `${t.placement} (${t.leaseHeld ? 'held' : 'standby'})`;
  const every = t.cron ? `cron ${t.cron}` : `${t.spacing} s`;
  const took = t.lastDuration === null ? '-' : `${t.lastDuration.toFixed(3)} s`;
  const late = t.lateness === null ? '-' : `${t.lateness.toFixed(3)} s`;
  const outcome = t.outcome ?? '-';
  const counts = [t.runs, t.missed, t.skipped, t.timeouts].map(String);
  const cells = [
    t.name,
    placement,
    every,
    ago(t.lastRun, now),
    took,
    until(t.nextDue, now),
    late,
    outcome,
    ...counts,
  ];
  const compare = [
    t.name,
    placement,
    every,
    String(t.lastRun),
    took,
    String(t.nextDue),
    late,
    outcome,
    ...counts,
  ];
  const styles: (Style | undefined)[] = cells.map(() => undefined);
  styles[7] = OUTCOME_STYLE[outcome];
  if (t.missed > 0) styles[9] = 'yellow';
  if (t.timeouts > 0) styles[11] = 'red';
  return { key: t.name, cells, compare, styles };
}

/** One refresh of `conductor tasks --watch`. */
export function opsTasksFrame(rows: readonly OpsTaskRow[], now: Date): WatchFrame {
  const failing = rows.filter((t) => t.outcome === 'error' || t.outcome === 'timeout').length;
  return {
    summary: `${rows.length} task${rows.length === 1 ? '' : 's'}${failing ? `, ${failing} failing` : ''}`,
    headers: OPS_TASK_HEADERS,
    rows: rows.map((t) => opsTaskRow(t, now)),
    empty: 'the service has no periodic tasks',
    json: { tasks: rows },
  };
}
