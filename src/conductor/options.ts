import type { ConfigView, OptionSpec } from '../config/index.js';

/**
 * The conductor's own options: Tacker's `service_down_time`, the VIM monitor (`[vim_monitor]`, which
 * Tacker ran as a Mistral workflow) and the operations endpoint (`[ops]`). `[database] connection`
 * is a built-in option of `conductor-ts/config`.
 */
export const conductorOptions: readonly OptionSpec[] = Object.freeze([
  {
    section: 'DEFAULT',
    name: 'service_down_time',
    type: 'int',
    default: 60,
    min: 1,
    help: 'Seconds after the last heartbeat at which a service is considered down.',
  },
  {
    section: 'vim_monitor',
    name: 'enabled',
    type: 'bool',
    default: true,
    help: 'Probe every registered VIM periodically and record REACHABLE / UNREACHABLE changes.',
  },
  {
    section: 'vim_monitor',
    name: 'interval',
    type: 'int',
    default: 30,
    min: 1,
    help: 'Seconds between two runs of the VIM monitor (start to start).',
  },
  {
    section: 'vim_monitor',
    name: 'timeout',
    type: 'float',
    default: 5,
    min: 0,
    exclusiveMin: true,
    max: 300,
    help: "Seconds one probe of a VIM's auth_url may take (connect and first response) before the VIM counts as UNREACHABLE.",
  },
  {
    section: 'vim_monitor',
    name: 'concurrency',
    type: 'int',
    default: 100,
    min: 1,
    max: 4096,
    help: 'Probes in flight at once. At the default timeout, 100 lets a run over 1,000 VIMs of which half never answer finish within the default interval (about 25 s).',
  },
  {
    section: 'ops',
    name: 'listen',
    type: 'string',
    default: '127.0.0.1:9410',
    help: "host:port of the operations HTTP endpoint (/healthz, /metrics, /tasks); '0' or empty disables it. Without a host it listens on 127.0.0.1.",
  },
] satisfies OptionSpec[]);

/** The VIM monitor's settings, read from `[vim_monitor]`. */
export interface VimMonitorConfig {
  readonly enabled: boolean;
  /** Seconds between runs. */
  readonly interval: number;
  /** Seconds per probe. */
  readonly timeout: number;
  readonly concurrency: number;
}

/** `[vim_monitor]` as a typed object. */
export function vimMonitorConfig(conf: ConfigView): VimMonitorConfig {
  return {
    enabled: conf.get<boolean>('vim_monitor', 'enabled'),
    interval: conf.get<number>('vim_monitor', 'interval'),
    timeout: conf.get<number>('vim_monitor', 'timeout'),
    concurrency: conf.get<number>('vim_monitor', 'concurrency'),
  };
}
