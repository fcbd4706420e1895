import type { OptionSource } from '../config/index.js';
import { FRAMEWORK_BASE, NotAManagerError, type RequestContext } from '../core/index.js';
import { Target } from '../messaging/index.js';
import {
  PeriodicTasks,
  type PeriodicTasksOptions,
  type TaskStateStore,
} from '../periodic/index.js';
import { SERVICE_DEFAULTS } from './options.js';

/** Options of a {@link Manager}. */
export interface ManagerOptions extends PeriodicTasksOptions {
  /** This host's name (the per-server queue is `topic.host`). Default the machine's hostname. */
  host?: string;
}

/**
 * One health check of a service (a database ping, a broker connection). The ops endpoint runs every
 * check on each probe, with a timeout.
 */
export interface HealthCheck {
  /** Key of the check in the health report, e.g. `database`. */
  readonly name: string;
  /** Returns (or resolves) when healthy; throws (or rejects) with the reason when not. */
  check(): void | Promise<void>;
}

/**
 * The base of a service's manager (Tacker's `Manager`): periodic tasks plus the lifecycle hooks a
 * {@link Service} calls. The manager is also the RPC endpoint of its service; its own public methods
 * are callable, this class's are not.
 */
export class Manager extends PeriodicTasks {
  static override readonly [FRAMEWORK_BASE] = true;

  /**
   * The configuration options this manager reads (its own groups), registered by whoever runs it
   * (`conductor run`, `runService`) beside the framework's. None by default.
   */
  static readonly configOptions: readonly OptionSource[] = [];

  /** RPC target of the endpoint: version 1.0, no namespace. Override to serve another version. */
  readonly target: Target = new Target({ version: '1.0' });
  readonly host: string;

  constructor(options: ManagerOptions = {}) {
    super(options);
    this.host = options.host ?? SERVICE_DEFAULTS.host;
  }

  /** Called first by `Service.start()`, before the RPC consumers exist. */
  initHost(): void | Promise<void> {}

  /** Called by `Service.start()` once the RPC consumers exist (Tacker's `initialize_service_hook`). */
  initializeServiceHook(_service: unknown): void | Promise<void> {}

  /** Called last by `Service.start()`. */
  afterStart(): void | Promise<void> {}

  /** Called by the service's report timer every `reportInterval` (override to send a heartbeat). */
  reportState(_service: unknown): void | Promise<void> {}

  /** Called after a configuration reload, before the service starts again. */
  reset(): void | Promise<void> {}

  /**
   * Called last by `Service.stop()` and `kill()` (and after a failed start), once the RPC server and
   * the timers have stopped: release what `initHost` acquired (a database pool, a socket). Errors are
   * logged; the stop goes on.
   */
  cleanupHost(): void | Promise<void> {}

  /**
   * The manager's own health checks (override to add e.g. a database ping); none by default. Like
   * every hook here it is never callable over RPC, even where overridden.
   */
  healthChecks(): HealthCheck[] {
    return [];
  }

  /**
   * Where the service keeps its tasks' last runs across restarts (called after `initHost`); none by
   * default. The conductor returns its database's. Never callable over RPC.
   */
  taskStateStore(): TaskStateStore | undefined {
    return undefined;
  }

  /** Runs the due periodic tasks (the service's fixed-tick mode calls this); the idle time is discarded. */
  async periodicTasks(
    ctx: RequestContext,
    options: { raiseOnError?: boolean } = {},
  ): Promise<void> {
    await this.runPeriodicTasks(ctx, options);
  }
}

/** A manager class as `Service.create` takes it. */
export type ManagerClass = (new (options: ManagerOptions) => Manager) & {
  readonly configOptions?: readonly OptionSource[];
};

/** True for a class whose instances have the {@link Manager} hooks (`initHost` on its prototype). */
export function isManagerClass(value: unknown): value is ManagerClass {
  return (
    typeof value === 'function' &&
    typeof (value as { prototype?: { initHost?: unknown } }).prototype?.initHost === 'function'
  );
}

/**
 * `value` as a manager class, or `NotAManagerError` naming it (`label`, else the class's name):
 * the one check `Service.create`, the runner and the CLI share.
 */
export function assertManagerClass(value: unknown, label?: string): ManagerClass {
  if (isManagerClass(value)) return value;
  const name = typeof value === 'function' ? (value as { name: string }).name : String(value);
  throw new NotAManagerError(label ?? name);
}
