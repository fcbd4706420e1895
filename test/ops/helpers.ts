/** What the ops tests share: a service on memory:// with its metrics wired, and an ops server. */
import { randomUUID } from 'node:crypto';
import { type Logger, VirtualClock } from '../../src/core/index.js';
import { getRpcTransport, type Transport } from '../../src/messaging/index.js';
import {
  createServiceMetrics,
  OpsServer,
  type OpsServerOptions,
  type ServiceMetrics,
} from '../../src/ops/index.js';
import { type ManagerClass, Service, type ServiceOptions } from '../../src/service/index.js';

/** Cleanups a test file runs after each test, last first. */
export type Cleanups = Array<() => Promise<void>>;

/** A running service's parts. */
export interface ServiceParts {
  readonly clock: VirtualClock;
  readonly transport: Transport;
  readonly metrics: ServiceMetrics;
  readonly service: Service;
}

/**
 * Creates (not starts) a service of `manager` on a memory:// transport of its own, on a virtual
 * clock (default one at 0), exact mode, no fuzzy delay, reports every 10 s, with the metrics'
 * observers; `extra` adds service options. Its transport and service are closed by `cleanups`.
 */
export async function serviceWithMetrics(
  cleanups: Cleanups,
  manager: ManagerClass,
  logger: Logger,
  options: { clock?: VirtualClock; extra?: Partial<ServiceOptions> } = {},
): Promise<ServiceParts> {
  const clock = options.clock ?? new VirtualClock(0);
  const transport = await getRpcTransport({ transportUrl: `memory://${randomUUID()}`, clock });
  cleanups.push(() => transport.close());
  const metrics = createServiceMetrics({ collectDefault: false });
  const service = await Service.create({
    topic: 'T',
    manager,
    host: 'h',
    transport,
    clock,
    logger,
    periodicMode: 'exact',
    periodicFuzzyDelay: 0,
    reportInterval: 10,
    managerOptions: { random: () => 0 },
    onTaskRun: metrics.onTaskRun,
    onTaskSkip: metrics.onTaskSkip,
    onRpc: metrics.onRpc,
    ...options.extra,
  });
  cleanups.push(() => service.kill());
  return { clock, transport, metrics, service };
}

/** Starts an ops server on a free loopback port (stopped by `cleanups`); its base URL. */
export async function startOps(
  cleanups: Cleanups,
  options: Omit<OpsServerOptions, 'listen'>,
): Promise<{ ops: OpsServer; base: string }> {
  const ops = new OpsServer({ listen: ':0', ...options });
  await ops.start();
  cleanups.push(() => ops.stop());
  return { ops, base: `http://127.0.0.1:${ops.address?.port ?? 0}` };
}
