/**
 * `conductor-ts/ops`: the operations HTTP endpoint of a service — `/healthz`, `/metrics`
 * (Prometheus, prom-client) and `/tasks` — with the metrics it serves. Sits above `service`; imports
 * service, messaging, periodic and core, and nothing imports it but the layers above.
 * @packageDocumentation
 */
export {
  createServiceMetrics,
  type EventLoopStall,
  type ServiceMetrics,
  type ServiceMetricsOptions,
  type TaskCounts,
  type TaskStats,
} from './metrics.js';
export {
  EventLoopMonitor,
  type EventLoopMonitorOptions,
  runHealthChecks,
  type HealthReport,
  type RunHealthChecksOptions,
} from './health.js';
export { parseListen, formatListen, DEFAULT_LISTEN_HOST, type ListenAddress } from './listen.js';
export { OpsServer, type OpsServerOptions } from './server.js';
export { opsOptions } from './options.js';
export type { TaskRow } from './tasks.js';
export {
  HealthCheckError,
  OpsListenError,
  InvalidOpsOption,
  InvalidListenAddress,
} from '../core/errors.js';
