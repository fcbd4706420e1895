import { getLogger, type Logger } from '../core/index.js';
import type { ConductorStore, Vim, VimStatus } from './db/index.js';
import { probeAll, type ProbeResult } from './probe.js';

/** Options of {@link VimMonitor}. */
export interface VimMonitorOptions {
  /** Seconds per probe. */
  readonly timeout: number;
  /** Probes in flight at once. */
  readonly concurrency: number;
  /** The probe of a batch of URLs (default HTTP(S)/TCP probes); replaceable for tests. */
  readonly probe?: typeof probeAll;
  readonly logger?: Logger;
}

/** What one monitor run did. */
export interface VimMonitorReport {
  /** VIMs this replica probed (its shard). */
  readonly vims: number;
  /** VIMs left to the other replicas (not this replica's shard). */
  readonly elsewhere: number;
  readonly reachable: number;
  readonly unreachable: number;
  /** VIMs whose status changed in this run. */
  readonly changed: number;
  /** Seconds the run took. */
  readonly duration: number;
}

/** Applies one status change (the conductor passes `update_vim`'s code path). */
export type ApplyVimStatus = (vimId: string, status: VimStatus) => Promise<unknown>;

/**
 * The VIM monitor: one run probes every VIM and records each change of REACHABLE / UNREACHABLE,
 * like Tacker's `PingVimAction` did from a Mistral workflow for one VIM at a time.
 */
export class VimMonitor {
  readonly #options: VimMonitorOptions;
  readonly #log: Logger;

  constructor(options: VimMonitorOptions) {
    this.#options = options;
    this.#log = options.logger?.child({ module: 'vim-monitor' }) ?? getLogger('vim-monitor');
  }

  /**
   * Probes the VIMs of `store` that `owns(vim.id)` (default: all; with replicas, the sharded task's
   * `run.owns`) and applies the changes; a failed update is logged and skipped.
   */
  async run(
    store: Pick<ConductorStore, 'listVims'>,
    apply: ApplyVimStatus,
    owns: (vimId: string) => boolean = () => true,
  ): Promise<VimMonitorReport> {
    const start = process.hrtime.bigint();
    const all = await store.listVims();
    const vims = all.filter((v) => owns(v.id));
    const probe = this.#options.probe ?? probeAll;
    const results = await probe(
      vims.map((v) => v.authUrl),
      { timeout: this.#options.timeout, concurrency: this.#options.concurrency },
    );
    let reachable = 0;
    let changed = 0;
    for (let i = 0; i < vims.length; i++) {
      const vim = vims[i] as Vim;
      const result = results[i] as ProbeResult;
      if (result.reachable) reachable++;
      const status: VimStatus = result.reachable ? 'REACHABLE' : 'UNREACHABLE';
      if (status === vim.status) continue;
      try {
        await apply(vim.id, status);
        changed++;
        this.#log.info(
          { vimId: vim.id, vim: vim.name, from: vim.status, to: status, detail: result.detail },
          'VIM status changed',
        );
      } catch (err) {
        // Deleted during the run, or the database is away: the next run tries again.
        this.#log.warn({ vimId: vim.id, err }, 'Could not record the status of a VIM');
      }
    }
    const report: VimMonitorReport = {
      vims: vims.length,
      elsewhere: all.length - vims.length,
      reachable,
      unreachable: vims.length - reachable,
      changed,
      duration: Number(process.hrtime.bigint() - start) / 1e9,
    };
    this.#log.info(report, 'VIM monitor run');
    return report;
  }
}
