import {
  type ConfigView,
  type DefaultOverride,
  defineOptions,
  opt,
  type OptionSetValues,
} from '../config/index.js';

/** `[DEFAULT]` options of the conductor: Tacker's `service_down_time`. */
export const conductorDefaultOptions = defineOptions({
  group: 'DEFAULT',
  label: 'conductor option',
  options: {
    service_down_time: opt.int({
      default: 60,
      min: 1,
      help: 'Seconds after the last heartbeat at which a service is considered down.',
    }),
  },
});

/** `[database]` (oslo.db): where the conductor keeps VIMs, events and heartbeats. */
export const databaseOptions = defineOptions({
  group: 'database',
  label: 'database option',
  options: {
    connection: opt.string({
      default: 'sqlite:///data/conductor.db',
      secret: 'url',
      deprecatedNames: [
        { section: 'DEFAULT', name: 'sql_connection' },
        { section: 'sql', name: 'connection' },
      ],
      help: 'The SQLAlchemy-style connection string of the database (the password part is masked in logs).',
    }),
  },
});

/** `[vim_monitor]`: the VIM monitor, which Tacker ran as a Mistral workflow. */
export const vimMonitorOptions = defineOptions({
  group: 'vim_monitor',
  label: 'VIM monitor option',
  options: {
    enabled: opt.bool({
      default: true,
      help: 'Probe every registered VIM periodically and record REACHABLE / UNREACHABLE changes.',
    }),
    interval: opt.int({
      default: 30,
      min: 1,
      help: 'Seconds between two runs of the VIM monitor (start to start).',
    }),
    timeout: opt.float({
      default: 5,
      min: 0,
      exclusiveMin: true,
      max: 300,
      help: "Seconds one probe of a VIM's auth_url may take (connect and first response) before the VIM counts as UNREACHABLE.",
    }),
    concurrency: opt.int({
      default: 100,
      min: 1,
      max: 4096,
      help: 'Probes in flight at once. At the default timeout, 100 lets a run over 1,000 VIMs of which half never answer finish within the default interval (about 25 s).',
    }),
  },
});

/**
 * Tacker's defaults for options of the framework (its `set_transport_defaults`): the conductor's
 * topic lives in exchange `tacker`, where oslo.messaging's default is `openstack`.
 */
export const TACKER_DEFAULTS: readonly DefaultOverride[] = Object.freeze([
  { section: 'DEFAULT', name: 'control_exchange', value: 'tacker' },
]);

/** The conductor's option sets, in registration order. */
export const conductorOptionSets = Object.freeze([
  conductorDefaultOptions,
  databaseOptions,
  vimMonitorOptions,
] as const);

/** Every option of the conductor, as `ConfigOpts.register()` takes them. */
export const conductorOptions = Object.freeze(conductorOptionSets.flatMap((s) => s.specs));

/** The VIM monitor's settings, read from `[vim_monitor]`. */
export type VimMonitorConfig = OptionSetValues<typeof vimMonitorOptions>;

/** `[vim_monitor]` as a typed, frozen object. */
export function vimMonitorConfig(conf: ConfigView): VimMonitorConfig {
  return vimMonitorOptions.read(conf);
}
