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
import { describeError } from './describe.js';
import { EventLoopMonitor, runHealthChecks } from './health.js';
import { formatListen, type ListenAddress, parseListen } from './listen.js';
import type { ServiceMetrics } from './metrics.js';

/** Options of {@link OpsServer}. */
export interface OpsServerOptions {
  /** Where to listen: an address, or text for {@link parseListen} (which must not disable it). */
  listen: ListenAddress | string;
  /** The service to report on; undefined while it is being built (probes then say `starting`). */
  service: () => Service | undefined;
  /** The service's metrics (also bound to `service` here, for the gauges read at scrape time). */
  metrics: ServiceMetrics;
  /** Time source of the check timeout; default the real clock. */
  clock?: Clock;
  logger?: Logger;
  /** Seconds of event-loop blocking above which `event_loop` fails. Default 1. */
  eventLoopThreshold?: number;
  /** Seconds each health check may take before it counts as failed. Default 2. */
  checkTimeout?: number;
}

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
 * The operations HTTP endpoint of a service (node:http, GET and HEAD only):
 *
 * - `/healthz`: 200 `{"status":"ok","checks":{...}}` when every check passes (the service's
 *   `healthChecks()` plus `event_loop`), else 503 with each failing check's reason; 503
 *   `{"status":"starting"}` before the service runs (`stopping` / `stopped` after).
 * - `/metrics`: the metrics registry in Prometheus text format.
 * - `/tasks`: the periodic tasks, times as ISO-8601 (or null).
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
  #server: Server | undefined;
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
    this.#monitor = new EventLoopMonitor(
      positive('eventLoopThreshold', options.eventLoopThreshold, 1),
    );
    options.metrics.bindService(options.service);
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
    const address = this.address;
    this.#log.info(
      {
        address: address ? formatListen(address) : where,
        url: address ? `http://${formatListen(address)}` : undefined,
      },
      'Ops endpoint listening (/healthz, /metrics, /tasks)',
    );
  }

  /** Stops listening and closes every connection, idle keep-alive ones included. Idempotent. */
  stop(): Promise<void> {
    const server = this.#server;
    if (!server) return this.#closing;
    this.#server = undefined;
    this.#monitor.stop();
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
    const path = (req.url ?? '/').split('?', 1)[0];
    const handler =
      path === '/healthz'
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

  async #healthz(res: ServerResponse): Promise<void> {
    const service = this.#service();
    const state = service?.state ?? 'created';
    if (!service || state !== 'running') {
      const status = state === 'created' || state === 'starting' ? 'starting' : state;
      return sendJson(res, 503, { status });
    }
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
    const report = await runHealthChecks([...checks, this.#monitor.check], {
      timeout: this.#checkTimeout,
      clock: this.#clock,
    });
    sendJson(res, report.ok ? 200 : 503, {
      status: report.ok ? 'ok' : 'fail',
      checks: report.checks,
    });
  }

  async #metricsPage(res: ServerResponse): Promise<void> {
    const registry = this.#metrics.registry;
    send(res, 200, await registry.metrics(), registry.contentType);
  }

  #tasks(res: ServerResponse): void {
    const service = this.#service();
    if (!service) return sendJson(res, 503, { status: 'starting' });
    // Clock seconds to wall time, anchored at one reading of both clocks.
    const now = service.clock.now();
    const wall = Date.now();
    const iso = (t: number | null | undefined): string | null => {
      if (t === null || t === undefined) return null;
      const ms = wall + (t - now) * 1000;
      return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
    };
    const rows = service.tasks().map((t) => {
      const stats = this.#metrics.taskStats(t.name);
      return {
        name: t.name,
        spacing: t.spacing,
        placement: t.placement,
        ...(t.leaseHeld !== undefined ? { leaseHeld: t.leaseHeld } : {}),
        lastRun: iso(stats?.lastStartedAt),
        lastDuration: stats?.lastDuration ?? null,
        nextDue: iso(t.nextDue),
        lastError: stats?.lastError ?? null,
      };
    });
    sendJson(res, 200, rows);
  }
}
