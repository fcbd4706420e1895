/**
 * A configuration with the options of a service process and `[database]`, at Tacker's defaults,
 * for tests of the configuration machinery that need realistic options (what `createConfig()`
 * registered before each layer came to own its options).
 */
import { databaseOptions, TACKER_DEFAULTS } from '../../src/conductor/index.js';
import {
  type ConfigOpts,
  type ConfigOptsOptions,
  createConfig as createEmptyConfig,
  type OptionSource,
  type OptionSpec,
} from '../../src/config/index.js';
import { serviceProcessOptions } from '../../src/service/index.js';

const OPTIONS: OptionSource = [...serviceProcessOptions, databaseOptions];

/** A `ConfigOpts` with those options registered and Tacker's defaults applied. */
export function createConfig(options: ConfigOptsOptions = {}): ConfigOpts {
  const conf = createEmptyConfig({ ...options, options: OPTIONS });
  for (const d of TACKER_DEFAULTS) conf.setDefault(d.section, d.name, d.value);
  return conf;
}

function specsOf(source: OptionSource, out: OptionSpec[] = []): OptionSpec[] {
  if (Array.isArray(source)) for (const s of source as readonly OptionSource[]) specsOf(s, out);
  else if ('specs' in source) out.push(...source.specs);
  else out.push(source as OptionSpec);
  return out;
}

/** Those options as specs, in registration order. */
export const builtinOptions: readonly OptionSpec[] = specsOf(OPTIONS);
