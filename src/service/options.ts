import { hostname } from 'node:os';
import { basename } from 'node:path';
import { type ConfigOpts, defineOptions, opt, type OptionRule } from '../config/index.js';
import { InvalidServiceOption } from '../core/index.js';
import {
  messagingOptions,
  rabbitOptions,
  rpcServerOptions,
  rpcTransportOptions,
} from '../messaging/index.js';
import { coordinationOptions } from '../coordination/index.js';
import { periodicOptions } from '../periodic/index.js';
import type { ManagerClass } from './manager.js';
import type { ServiceCoordinationOptions, ServiceOptions } from './service.js';

/** How the periodic tasks of a service are driven. */
export type PeriodicMode = 'exact' | 'fixed' | 'dynamic';

const PERIODIC_MODES = ['exact', 'fixed', 'dynamic'] as const;

const dynamicNeedsMax: OptionRule<{
  readonly periodic_mode: PeriodicMode;
  readonly periodic_interval_max: number;
}> = (o) =>
  o.periodic_mode === 'dynamic' && !(o.periodic_interval_max > 0)
    ? {
        message: 'periodic_interval_max must be > 0 when periodic_mode is dynamic',
        options: ['periodic_interval_max', 'periodic_mode'],
      }
    : undefined;

/**
 * `[DEFAULT]` options of oslo.service's service module and Tacker's service (`tacker.service`,
 * `tacker.common.config`), plus conductor-ts's scheduling mode.
 */
export const serviceOptions = defineOptions({
  group: 'DEFAULT',
  label: 'service option',
  options: {
    host: opt.string({
      default: hostname(),
      help: 'Hostname, FQDN or IP address of this host. Used as the RPC server name and in service reports.',
    }),
    periodic_interval: opt.int({
      default: 40,
      min: 0,
      help: 'Seconds between running periodic tasks in the fixed mode; 0 disables periodic tasks.',
    }),
    periodic_fuzzy_delay: opt.int({
      default: 5,
      min: 0,
      help: 'Range in seconds to randomly delay the start of the periodic task scheduler by, to reduce stampeding; 0 disables the delay.',
    }),
    report_interval: opt.int({
      default: 10,
      min: 0,
      help: 'Seconds between state reports of the service; 0 disables them.',
    }),
    graceful_shutdown_timeout: opt.int({
      default: 60,
      min: 0,
      help: 'Seconds a graceful shutdown (SIGTERM) may take before the process is ended; 0 waits forever.',
    }),
    log_options: opt.bool({
      default: true,
      help: 'Log every option value (secrets masked) at DEBUG level when the service starts.',
    }),
    debug: opt.bool({
      default: false,
      help: 'Log at DEBUG level instead of the default INFO level.',
    }),
    periodic_mode: opt.enum(PERIODIC_MODES, {
      default: 'exact',
      help: "conductor-ts: how the service schedules periodic tasks. 'exact': sleep until the next task is due, so a 60 s task runs every 60 s; 'fixed': the original's fixed tick of periodic_interval seconds; 'dynamic': oslo's DynamicLoopingCall driven by the idle time the tasks report, capped by periodic_interval_max.",
    }),
    periodic_interval_max: opt.float({
      default: 60,
      min: 0,
      help: 'conductor-ts: longest sleep in seconds between two passes of the periodic tasks in the dynamic mode (must be > 0 there).',
    }),
  },
  rules: [dynamicNeedsMax],
});

/** The defaults a {@link Service} takes for what its options leave out. */
export const SERVICE_DEFAULTS = serviceOptions.defaults;

/** {@link ServiceTimingOptions} checked and completed: what a `Service` runs with. */
export interface ServiceTimings {
  readonly topic: string;
  readonly host: string;
  readonly binary: string;
  readonly reportInterval: number;
  readonly periodicInterval: number;
  readonly periodicFuzzyDelay: number;
  readonly periodicMode: PeriodicMode;
  readonly periodicIntervalMax: number;
}

/** The part of `ServiceOptions` that {@link resolveServiceOptions} checks and completes. */
export interface ServiceTimingOptions {
  /** RPC topic the service consumes (the conductor: `TACKER_CONDUCTOR`). */
  topic: string;
  /** Host name; the per-server queue is `topic.host`. Default `[DEFAULT] host`'s (the hostname). */
  host?: string;
  /** Name of the program, for logs and heartbeats. Default the script's file name. */
  binary?: string;
  /** Seconds between `reportState` calls; 0 disables. Default `report_interval`'s, 10. */
  reportInterval?: number;
  /** Tick of the `fixed` mode, seconds; 0 disables periodic tasks. Default `periodic_interval`'s, 40. */
  periodicInterval?: number;
  /** Random initial delay of the periodic timer, 0..this whole seconds; 0 disables. Default 5. */
  periodicFuzzyDelay?: number;
  /** `exact` (default): sleep until the next task is due; `fixed`: the original's tick; `dynamic`: `idle_for`. */
  periodicMode?: PeriodicMode;
  /** Longest sleep of the `dynamic` mode, seconds. Default `periodic_interval_max`'s, 60. */
  periodicIntervalMax?: number;
}

/** The code names of the service's times, with the options whose ranges they share. */
const SECONDS = [
  ['reportInterval', 'report_interval'],
  ['periodicInterval', 'periodic_interval'],
  ['periodicFuzzyDelay', 'periodic_fuzzy_delay'],
] as const;

/**
 * Checks the options `Service.create` takes in code and fills in the defaults of
 * {@link serviceOptions}; throws `InvalidServiceOption` naming the first bad one. Times may be
 * fractional here (configuration files hold whole seconds).
 */
export function resolveServiceOptions(o: ServiceTimingOptions): ServiceTimings {
  if (typeof o.topic !== 'string' || o.topic === '')
    throw new InvalidServiceOption('topic must be a non-empty string');
  for (const [k, option] of SECONDS) {
    const v = o[k];
    const min = serviceOptions.specs.find((s) => s.name === option)?.min ?? 0;
    if (v !== undefined && !(typeof v === 'number' && v >= min && Number.isFinite(v))) {
      throw new InvalidServiceOption(
        `${k} must be a number of seconds >= ${min}, got ${String(v)}`,
      );
    }
  }
  if (o.periodicIntervalMax !== undefined && !(o.periodicIntervalMax > 0)) {
    throw new InvalidServiceOption(
      `periodicIntervalMax must be > 0, got ${String(o.periodicIntervalMax)}`,
    );
  }
  if (o.periodicMode !== undefined && !PERIODIC_MODES.includes(o.periodicMode)) {
    throw new InvalidServiceOption(
      `periodicMode must be exact, fixed or dynamic, got ${String(o.periodicMode)}`,
    );
  }
  const d = SERVICE_DEFAULTS;
  return Object.freeze({
    topic: o.topic,
    host: o.host ?? d.host,
    binary: o.binary ?? basename(process.argv[1] ?? 'conductor'),
    reportInterval: o.reportInterval ?? d.report_interval,
    periodicInterval: o.periodicInterval ?? d.periodic_interval,
    periodicFuzzyDelay: o.periodicFuzzyDelay ?? d.periodic_fuzzy_delay,
    periodicMode: o.periodicMode ?? d.periodic_mode,
    periodicIntervalMax: o.periodicIntervalMax ?? d.periodic_interval_max,
  });
}

/**
 * The option sets a service process registers, in this order: the service's own, the periodic
 * tasks', messaging's (the RabbitMQ driver's included) and coordination's.
 */
export const serviceProcessOptions = Object.freeze([
  serviceOptions,
  periodicOptions,
  messagingOptions,
  rabbitOptions,
  coordinationOptions,
] as const);

/**
 * The {@link ServiceOptions} of a loaded configuration where {@link serviceProcessOptions} are
 * registered (what `conductor run` passes to `Service.create`).
 */
export function serviceOptionsFromConfig(
  conf: ConfigOpts,
  topic: string,
  manager: string | ManagerClass,
  binary = 'conductor',
): ServiceOptions {
  const s = serviceOptions.read(conf);
  return {
    topic,
    manager,
    binary,
    host: s.host,
    reportInterval: s.report_interval,
    periodicInterval: s.periodic_interval,
    periodicFuzzyDelay: s.periodic_fuzzy_delay,
    periodicMode: s.periodic_mode,
    periodicIntervalMax: s.periodic_interval_max,
    transport: rpcTransportOptions(conf),
    coordination: coordinationFromConfig(conf),
    executorPoolSize: rpcServerOptions(conf).executorPoolSize,
    managerOptions: {
      conf,
      runExternalPeriodicTasks: periodicOptions.read(conf).run_external_periodic_tasks,
    },
  };
}

/** The coordinator settings of `[coordination]` (what a service opens its coordinator with). */
export function coordinationFromConfig(conf: ConfigOpts): ServiceCoordinationOptions {
  const c = coordinationOptions.read(conf);
  return {
    backendUrl: c.backend_url,
    leaseTtl: c.lease_ttl,
    heartbeatInterval: c.heartbeat_interval,
    requiredAtStart: c.required_at_start,
  };
}
