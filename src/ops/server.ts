import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AlreadyRunningError,
  type Clock,
  getLogger,
  InvalidOpsOption,
  type Logger,
  OpsListenError,
  realClock,
} from '../core/index.js';
import type { HealthCheck, Service } from '../service/index.js';
import {
  ACTION_PREFIX,
  buildSnapshot,
  DASHBOARD_CSP,
  DASHBOARD_CSS,
  DASHBOARD_HTML,
  DASHBOARD_JS,
  DashboardHistory,
  RPC_WINDOW,
  runAction,
} from './dashboard/index.js';
import { describeError } from './describe.js';
import { EventLoopMonitor, type HealthReport, runHealthChecks } from './health.js';
import { opsOptions } from './options.js';
import { formatListen, type ListenAddress, parseListen } from './listen.js';
import type { ServiceMetrics } from './metrics.js';
import { taskRows } from './tasks.js';

/** Options of {@link OpsServer}. */
export interface OpsServerOptions {
  /** Where to listen: an address, or text for {@link parseListen} (which must not disable it). */
  listen: ListenAddress | string;
  /** The service to report on; undefined while it is being built (probes then say `starting`). */
  service: () => Service | undefined;
  /** The service's metrics (also bound to `service` here, for the gauges read at scrape time). */
  metrics: ServiceMetrics;
  /** Time source of the check timeout and of the stall windows; default the real clock. */
  clock?: Clock;
  logger?: Logger;
  /**
   * Seconds of event-loop blocking above which one block fails `event_loop` by itself (for the
   * next 10 s). Default 1.
   */
  eventLoopThreshold?: number;
  /**
   * Seconds of blocking that make a stall: logged at WARNING with the periodic task that was running
   * and counted in the metrics. Default `[ops] stall_threshold` (0.5).
   */
  stallThreshold?: number;
  /**
   * Stalls within `stallWindow` after which `event_loop` fails (sustained stalls), until
   * `stallWindow` seconds pass without one. Default `[ops] stall_degraded_after` (3).
   */
  stallDegradedAfter?: number;
  /** Seconds of the window of `stallDegradedAfter` and of the quiet period. Default `[ops] stall_window` (60). */
  stallWindow?: number;
  /** Seconds each health check may take before it counts as failed. Default 2. */
  checkTimeout?: number;
  /**
   * Serve the dashboard: `GET /` (the page), `/dashboard.js`, `/dashboard.css`, `/dashboard.json`.
   * Default true.
   */
  dashboard?: boolean;
  /**
   * `[ops] allow_actions`: the dashboard's task actions (`POST /actions/tasks/<name>/run|disable|
   * enable`). Default false: those routes do not exist (404) and the page offers no action.
   */
  allowActions?: boolean;
}

/** Headers of the dashboard's responses besides the usual ones. */
const PAGE_HEADERS = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const ALLOW = 'GET, HEAD';
const JSON_TYPE = 'application/json; charset=utf-8';

/** The system errors of listen() that have a clearer wording than Node's. */
const LISTEN_PROBLEMS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this host',
  ENOTFOUND: 'the host name does not resolve',
};

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v)))
    throw new InvalidOpsOption(`${name} must be a positive number of seconds, got ${String(v)}`);
  return v;
}

function resolveListen(listen: ListenAddress | string): ListenAddress {
  if (typeof listen === 'string') {
    const parsed = parseListen(listen);
    if (!parsed)
      throw new InvalidOpsOption(`listen ${JSON.stringify(listen)} disables the endpoint`);
    return parsed;
  }
  const { host, port } = listen ?? {};
  if (typeof host !== 'string' || !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new InvalidOpsOption('listen must be { host, port } with a port in 0..65535');
  return { host, port };
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = JSON_TYPE,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body); // Node sends no body for HEAD
}

const sendJson = (res: ServerResponse, status: number, value: unknown, headers = {}): void =>
  send(res, status, JSON.stringify(value), JSON_TYPE, headers);

/**
 * The operations HTTP endpoint of a service (node:http, GET and HEAD, and POST for the actions):
 *
 * - `/healthz`: 200 `{"status":"ok","checks":{...}}` when every check passes (the service's
 *   `healthChecks()` plus `event_loop`, see {@link EventLoopMonitor}: it fails while event-loop
 *   stalls are sustained, and for a while after one long block), else 503 with each failing check's
 *   reason; 503 `{"status":"starting"}` before the service runs (`stopping` / `stopped` after).
 * - `/metrics`: the metrics registry in Prometheus text format.
 * - `/tasks`: the periodic tasks, one object each: `name`, `spacing`, `cron`, `timezone`,
 *   `placement`, `timeout`, `leaseHeld` (once-per-cluster tasks while running), `lastRun` (when the
 *   last run started), `lastDuration` (seconds; a timed-out run's timeout), `nextDue`, `lateness`
 *   (seconds from the last run's due time to its start), `outcome` (`ok`, `error`, `timeout`),
 *   `lastError`, and the counts `runs` (ended), `missed`, `skipped` (overlap), `timeouts`. Times
 *   are ISO-8601, unknown values null. They come from the task state the service keeps (which a
 *   state store carries across restarts), else from what the metrics saw in this process.
 *
 * - `/` (unless `dashboard: false`): the dashboard page, with `/dashboard.js`, `/dashboard.css`
 *   and `/dashboard.json` (the snapshot it polls every 2 s: the service, `/healthz`'s report, the
 *   tasks with their lateness history, the cluster's members, leases and shards, RPC rates by
 *   method, and the manager's own sections, see `opsView`), under a strict Content-Security-Policy.
 * - `POST /actions/tasks/<name>/run|disable|enable`: only with `allowActions` (`[ops]
 *   allow_actions`); without it these paths are 404 like any other unknown path.
 *
 * Every response is `Cache-Control: no-store`; errors are JSON without stack traces.
 */
export class OpsServer {
  readonly #listen: ListenAddress;
  readonly #service: () => Service | undefined;
  readonly #metrics: ServiceMetrics;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #checkTimeout: number;
  readonly #monitor: EventLoopMonitor;
  readonly #dashboard: boolean;
  readonly #allowActions: boolean;
  readonly #history: DashboardHistory;
  #server: Server | undefined;
  #unwatch: (() => void) | undefined;
  #unwatchDashboard: (() => void) | undefined;
  #closing: Promise<void> = Promise.resolve();

  constructor(options: OpsServerOptions) {
    if (typeof options.service !== 'function')
      throw new InvalidOpsOption('service must be a function returning the service');
    if (typeof options.metrics?.bindService !== 'function')
      throw new InvalidOpsOption('metrics must come from createServiceMetrics()');
    this.#listen = resolveListen(options.listen);
    this.#service = options.service;
    this.#metrics = options.metrics;
    this.#clock = options.clock ?? realClock;
    this.#log = options.logger ?? getLogger('ops');
    this.#checkTimeout = positive('checkTimeout', options.checkTimeout, 2);
    for (const key of ['dashboard', 'allowActions'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean')
        throw new InvalidOpsOption(`${key} must be a boolean`);
    }
    this.#dashboard = options.dashboard ?? true;
    this.#allowActions = this.#dashboard && options.allowActions === true;
    this.#history = new DashboardHistory(this.#clock);
    const defaults = opsOptions.defaults;
    const service = options.service;
    const metrics = options.metrics;
    const after = options.stallDegradedAfter ?? defaults.stall_degraded_after;
    if (!(Number.isInteger(after) && after >= 1))
      throw new InvalidOpsOption(
        `stallDegradedAfter must be an integer >= 1, got ${String(after)}`,
      );
    this.#monitor = new EventLoopMonitor({
      blockThreshold: positive('eventLoopThreshold', options.eventLoopThreshold, 1),
      stallThreshold: positive('stallThreshold', options.stallThreshold, defaults.stall_threshold),
      degradedAfter: after,
      stallWindow: positive('stallWindow', options.stallWindow, defaults.stall_window),
      clock: this.#clock,
      logger: this.#log,
      runningTask: () => service()?.runningTask(),
      onStall: (stall) => metrics.onEventLoopStall(stall),
    });
    options.metrics.bindService(options.service);
  }

  /** The event-loop monitor behind the `event_loop` check (running while the endpoint listens). */
  get eventLoop(): EventLoopMonitor {
    return this.#monitor;
  }

  /** The address listened on (the real port when 0 was asked), or undefined when not listening. */
  get address(): ListenAddress | undefined {
    const info = this.#server?.address() as AddressInfo | null | undefined;
    return info ? { host: info.address, port: info.port } : undefined;
  }

  /**
   * Starts listening. Rejects with `OpsListenError` naming the address when it cannot (in use,
   * not permitted), and with `AlreadyRunningError` when already listening.
   */
  async start(): Promise<void> {
    if (this.#server) throw new AlreadyRunningError('The ops endpoint is already running');
    await this.#closing;
    const where = formatListen(this.#listen);
    const server = createServer((req, res) => this.#onRequest(req, res));
    this.#server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#listen.port, this.#listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.#server = undefined;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const problem = LISTEN_PROBLEMS[code] ?? describeError(err);
      throw new OpsListenError(where, `Ops endpoint cannot listen on ${where}: ${problem}`, {
        cause: err,
      });
    }
    server.on('error', (err) => this.#log.error({ err }, 'Ops endpoint error'));
    this.#monitor.start();
    // One listener of task runs feeds the stall monitor and, with the dashboard, its history.
    const history = this.#dashboard ? this.#history : undefined;
    this.#unwatch = this.#metrics.watchTaskRuns((e) => {
      if (e.outcome !== 'timeout') this.#monitor.taskEnded(e.name);
      history?.onTaskRun(e);
    });
    if (history) this.#unwatchDashboard = this.#metrics.watchRpc((e) => history.onRpc(e));
    const address = this.address;
    this.#log.info(
      {
        address: address ? formatListen(address) : where,
        url: address ? `http://${formatListen(address)}` : undefined,
      },
      this.#dashboard
        ? `Ops endpoint listening (/healthz, /metrics, /tasks, dashboard at /${
            this.#allowActions ? ', task actions allowed' : ''
          })`
        : 'Ops endpoint listening (/healthz, /metrics, /tasks)',
    );
  }

  /** Stops listening and closes every connection, idle keep-alive ones included. Idempotent. */
  stop(): Promise<void> {
    const server = this.#server;
    if (!server) return this.#closing;
    this.#server = undefined;
    this.#monitor.stop();
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#unwatchDashboard?.();
    this.#unwatchDashboard = undefined;
    this.#closing = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.#closing;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#route(req, res).catch((err: unknown) => {
      this.#log.error({ err, url: req.url }, 'Ops endpoint request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (this.#allowActions && path.startsWith(ACTION_PREFIX)) {
      const r = await runAction(req, path, this.#service(), this.#clock, this.#log);
      return sendJson(res, r.status, r.body, r.headers);
    }
    const page = this.#dashboard ? this.#page(path) : undefined;
    const handler = page
      ? () => page(res)
      : path === '/healthz'
        ? () => this.#healthz(res)
        : path === '/metrics'
          ? () => this.#metricsPage(res)
          : path === '/tasks'
            ? () => this.#tasks(res)
            : undefined;
    if (!handler) return sendJson(res, 404, { error: 'not found' });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(res, 405, { error: 'method not allowed' }, { Allow: ALLOW });
    await handler();
  }

  /** The dashboard's routes. */
  #page(path: string): ((res: ServerResponse) => Promise<void> | void) | undefined {
    switch (path) {
      case '/':
        return (res) => send(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8', PAGE_HEADERS);
      case '/dashboard.js':
        return (res) =>
          send(res, 200, DASHBOARD_JS, 'text/javascript; charset=utf-8', PAGE_HEADERS);
      case '/dashboard.css':
        return (res) => send(res, 200, DASHBOARD_CSS, 'text/css; charset=utf-8', PAGE_HEADERS);
      case '/dashboard.json':
        return async (res) => {
          const service = this.#service();
          const snapshot = await buildSnapshot({
            service,
            metrics: this.#metrics,
            history: this.#history,
            actions: this.#allowActions,
            clock: this.#clock,
            health: () => this.#healthReport(service as Service),
            rpcWindow: RPC_WINDOW,
          });
          sendJson(res, 200, snapshot, PAGE_HEADERS);
        };
      default:
        return undefined;
    }
  }

  async #healthz(res: ServerResponse): Promise<void> {
    const service = this.#service();
    const state = service?.state ?? 'created';
    if (!service || state !== 'running') {
      const status = state === 'created' || state === 'starting' ? 'starting' : state;
      return sendJson(res, 503, { status });
    }
    const report = await this.#healthReport(service);
    sendJson(res, report.ok ? 200 : 503, {
      status: report.ok ? 'ok' : 'fail',
      checks: report.checks,
    });
  }

  /** The service's checks and `event_loop`, each bounded by the check timeout. */
  async #healthReport(service: Service): Promise<HealthReport> {
    let checks: HealthCheck[];
    try {
      checks = service.healthChecks();
    } catch (err) {
      // A broken healthChecks() override is itself a failed check, not a 500.
      checks = [
        {
          name: 'health_checks',
          check: () => {
            throw err;
          },
        },
      ];
    }
    return runHealthChecks([...checks, this.#monitor.check], {
      timeout: this.#checkTimeout,
      clock: this.#clock,
    });
  }

  async #metricsPage(res: ServerResponse): Promise<void> {
    const registry = this.#metrics.registry;
    send(res, 200, await registry.metrics(), registry.contentType);
  }

  #tasks(res: ServerResponse): void {
    const service = this.#service();
    if (!service) return sendJson(res, 503, { status: 'starting' });
    sendJson(res, 200, taskRows(service, this.#metrics));
  }
}
