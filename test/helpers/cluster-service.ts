import type { Coordinator } from '../../src/coordination/index.js';
import type { Clock } from '../../src/core/index.js';
import type { Transport } from '../../src/messaging/index.js';
import { type ManagerClass, Service } from '../../src/service/index.js';
import { captureLogs } from './log-capture.js';

/** What {@link startClusterService} needs. */
export interface ClusterServiceOptions {
  readonly topic: string;
  readonly manager: ManagerClass;
  readonly host: string;
  readonly transport: Transport;
  readonly clock: Clock;
  /** A started coordinator (stopped with the service); none: the service's own private memory://. */
  readonly coordination?: Coordinator;
}

/**
 * A started in-process replica for cluster tests: no state reports, no fuzzy delay, logs captured.
 * Its stop (then its coordinator's) goes on `cleanups`.
 */
export async function startClusterService(
  o: ClusterServiceOptions,
  cleanups: { push(cleanup: () => Promise<void>): unknown },
): Promise<Service> {
  const service = await Service.create({
    topic: o.topic,
    manager: o.manager,
    host: o.host,
    transport: o.transport,
    clock: o.clock,
    ...(o.coordination ? { coordination: o.coordination } : {}),
    reportInterval: 0,
    periodicFuzzyDelay: 0,
    logger: captureLogs().logger,
  });
  await service.start();
  cleanups.push(async () => {
    await service.stop();
    await o.coordination?.stop();
  });
  return service;
}
