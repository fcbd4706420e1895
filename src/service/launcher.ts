/**
 * Launchers (oslo.service's `launch`, `ServiceLauncher`, `ProcessLauncher`): run a service until a
 * signal stops it, restart it on SIGHUP, and report an exit status.
 * @packageDocumentation
 */
import { InvalidWorkerCount, NotAServiceError, ServiceFactoryRequired } from '../core/index.js';
import {
  checkTimeout,
  isServiceBase,
  isWorkerProcess,
  type Launcher,
  type LauncherConf,
  type LaunchOptions,
  type ServiceFactory,
} from './launcher-common.js';
import { ProcessLauncher, startWorker } from './launcher-process.js';
import { ServiceLauncher } from './launcher-service.js';
import type { ServiceBase } from './service-base.js';

export {
  DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
  EXIT_SIGINT,
  isWorkerProcess,
  type Launcher,
  type LauncherConf,
  type LaunchOptions,
  PARENT_PID_ENV,
  type ServiceFactory,
  type SignalTarget,
  WORKER_ENV,
  workerIndex,
} from './launcher-common.js';
export { PARENT_CHECK_INTERVAL, ProcessLauncher } from './launcher-process.js';
export { ServiceLauncher, type ServiceLauncherOptions } from './launcher-service.js';

/**
 * Launches `service` and returns its launcher; `await launcher.wait()` gives the exit status.
 *
 * - `workers` 1 (default): a {@link ServiceLauncher} in this process. `service` may be the service
 *   or a factory.
 * - `workers` > 1: a {@link ProcessLauncher}; `service` must be a factory, called only in the worker
 *   processes. The workers re-execute the entry script (`process.argv[1]`), whose own `launch()`
 *   call, seeing that it runs in a worker ({@link isWorkerProcess}), runs the factory's service
 *   and exits the worker when it finishes.
 *
 * @throws InvalidOptionError for a `workers` that is not a positive integer ("Number of workers
 *   should be positive!"), a negative timeout, a non-service, or a service object with workers > 1.
 */
export function launch(
  conf: LauncherConf | undefined | null,
  service: ServiceBase | ServiceFactory,
  options: LaunchOptions = {},
): Launcher {
  const workers = options.workers ?? 1;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers <= 0) {
    throw new InvalidWorkerCount();
  }
  checkTimeout(options.gracefulShutdownTimeout);
  if (typeof service !== 'function' && !isServiceBase(service)) {
    throw new NotAServiceError('Service must implement ServiceBase');
  }
  const { workers: _workers, ...rest } = options;
  if (isWorkerProcess()) return startWorker(conf, service, rest);
  if (workers === 1) return new ServiceLauncher(conf, service, rest);
  if (typeof service !== 'function') {
    throw new ServiceFactoryRequired();
  }
  return new ProcessLauncher(conf, service, workers, rest);
}
