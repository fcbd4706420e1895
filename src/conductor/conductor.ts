import { type ConfigOpts, createConfig } from '../config/index.js';
import { getLogger, type Logger, type RequestContext } from '../core/index.js';
import { periodicTask, type TaskRun, type TaskStateStore } from '../periodic/index.js';
import {
  type HealthCheck,
  Manager,
  type ManagerOptions,
  type OpsViewSection,
  opsView,
  type Service,
} from '../service/index.js';
import { type ConductorStore, openStore, type VimStatus } from './db/index.js';

import { VimMonitor, type VimMonitorReport } from './monitor.js';
import { conductorOpsView } from './ops-view.js';
import { InvalidRpcArgumentError, StoreNotOpenError } from './errors.js';
import { conductorOptionSets, vimMonitorConfig, vimMonitorOptions } from './options.js';

/** Options of the {@link Conductor} (what `Service.create` passes, plus these). */
export interface ConductorOptions extends ManagerOptions {
  /** The configuration; default a fresh one with every option at its default. */
  conf?: ConfigOpts;
  /** A store to use instead of opening `[database] connection` (it is not closed by the conductor). */
  store?: ConductorStore;
  /** Wall-clock source of the timestamps written to the database; default `new Date()`. */
  now?: () => Date;
  /** Probes of the VIM monitor; default HTTP(S)/TCP probes (for tests). */
  monitor?: VimMonitor;
}

/** The arguments of the `update_vim` RPC, as Tacker's caller sends them. */
export interface UpdateVimArgs {
  vim_id: string;
  status: string;
}

/** The conductor's configuration with its own options registered. */
export function conductorConfig(conf: ConfigOpts = createConfig()): ConfigOpts {
  return conf.register(conductorOptionSets);
}

/**
 * Tacker's conductor (`tacker.conductor.conductor_server.Conductor`) on conductor-ts: the
 * `update_vim` RPC on topic `TACKER_CONDUCTOR` (exchange `tacker`, version 1.0), a heartbeat into the
 * `services` table on every report, and the VIM monitor as a periodic task (`[vim_monitor] interval`,
 * default 30 s), which the original ran as an external Mistral workflow calling `update_vim`.
 *
 * Only `update_vim` is callable over RPC: the manager hooks are framework methods, and the monitor's
 * task method is private by name.
 */
export class Conductor extends Manager {
  /** `[DEFAULT] service_down_time`, `[database]`, `[vim_monitor]`: registered by whoever runs it. */
  static override readonly configOptions = conductorOptionSets;

  readonly conf: ConfigOpts;
  readonly #ownsStore: boolean;
  #store: ConductorStore | undefined;
  readonly #now: () => Date;
  readonly #monitor: VimMonitor;
  readonly #log: Logger;

  constructor(options: ConductorOptions = {}) {
    const conf = conductorConfig(options.conf ?? createConfig());
    const monitorConf = vimMonitorConfig(conf);
    super({
      ...options,
      // A disabled monitor is a negative spacing: the task is skipped (and logged) as oslo does.
      spacing: { vim_monitor: monitorConf.enabled ? monitorConf.interval : -1 },
    });
    this.conf = conf;
    this.#store = options.store;
    this.#ownsStore = options.store === undefined;
    this.#now = options.now ?? (() => new Date());
    this.#log = options.logger?.child({ module: 'conductor' }) ?? getLogger('conductor');
    this.#monitor =
      options.monitor ??
      new VimMonitor({
        timeout: monitorConf.timeout,
        concurrency: monitorConf.concurrency,
        ...(options.logger ? { logger: options.logger } : {}),
      });
  }

  /** The store (open from `initHost` until the service stops). */
  get store(): ConductorStore {
    if (!this.#store) throw new StoreNotOpenError();
    return this.#store;
  }

  /** Opens the database (`[database] connection`) and applies its migrations. */
  override async initHost(): Promise<void> {
    this.#store ??= await openStore(this.conf.get<string>('database', 'connection'), {
      logger: this.#log,
    });
  }

  /** Closes the database the conductor opened. */
  override async cleanupHost(): Promise<void> {
    if (this.#ownsStore && this.#store) {
      const store = this.#store;
      this.#store = undefined;
      await store.close();
    }
  }

  /** The heartbeat: one row per (host, binary) in `services`, its count and time bumped. */
  override async reportState(service: Service): Promise<void> {
    const row = await this.store.reportService(
      { host: this.host, binary: service.binary, topic: service.topic },
      this.#now(),
    );
    this.#log.info(
      { host: row.host, binary: row.binary, reportCount: row.reportCount },
      'heartbeat',
    );
  }

  /** The tasks' last runs are kept in the conductor's database (`task_states`). */
  override taskStateStore(): TaskStateStore {
    return this.store.taskStates;
  }

  /** `/healthz` includes the database. */
  override healthChecks(): HealthCheck[] {
    return [{ name: 'database', check: () => this.store.ping() }];
  }

  /** The ops dashboard's sections: services and heartbeats, VIMs, VIM events (never RPC-callable). */
  [opsView](service: Service): Promise<OpsViewSection[]> {
    return conductorOpsView({
      store: this.store,
      service,
      serviceDownTime: this.conf.getDefault<number>('service_down_time'),
      now: this.#now(),
    });
  }

  /**
   * RPC `update_vim(context, vim_id, status)`: in one transaction, sets the VIM's status and
   * `updated_at` and records a `MONITOR` event; returns `status`. Unlike the original, an unknown VIM
   * raises `VimNotFoundException` and an unknown status is refused; nothing is written then.
   */
  async update_vim(_ctx: RequestContext, args: UpdateVimArgs): Promise<VimStatus> {
    const { vim_id: vimId, status } = (args ?? {}) as Partial<UpdateVimArgs>;
    if (typeof vimId !== 'string' || vimId === '')
      throw new InvalidRpcArgumentError('update_vim: vim_id must be a non-empty string');
    if (typeof status !== 'string')
      throw new InvalidRpcArgumentError('update_vim: status must be a string');
    return this.store.updateVimStatus(vimId, status as VimStatus, this.#now());
  }

  /**
   * The VIM monitor: probes the `auth_url` of every VIM in this conductor's shard (bounded
   * concurrency, a timeout per probe) and applies each status change through `update_vim`'s code
   * path. Probe failures are UNREACHABLE, never errors. Sharded: with several conductors on one
   * coordination backend each VIM is probed by exactly one live conductor per interval, and the VIMs
   * of a conductor that dies move to the others once its membership expires.
   */
  @periodicTask({
    name: 'vim_monitor',
    spacing: vimMonitorOptions.defaults.interval,
    runImmediately: true,
    placement: 'sharded',
  })
  async _monitorVims(_ctx: RequestContext, run?: TaskRun): Promise<VimMonitorReport> {
    return this.#monitor.run(
      this.store,
      (id, status) => this.store.updateVimStatus(id, status, this.#now()),
      run ? (id) => run.owns(id) : undefined,
    );
  }
}
