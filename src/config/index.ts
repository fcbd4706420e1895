/**
 * `conductor-ts/config`: the option registry with oslo's names and defaults; INI files (oslo's
 * dialect), a config dir, `CONDUCTOR_<SECTION>__<OPTION>` environment variables and command-line
 * values; validation; secret masking. Imports only `core`.
 * @packageDocumentation
 */
export { ConfigOpts, createConfig, type ConfigOptsOptions } from './conf.js';
export {
  serviceOptions,
  messagingOptions,
  rabbitOptions,
  databaseOptions,
  builtinOptions,
} from './options.js';
export { builtinValidators, periodicModeValidator, rabbitValidator } from './validators.js';
export { MASK, maskUrlPassword, maskValue, displayValue } from './mask.js';
export { parseIni, normalizeSection, type ParsedIni, type IniEntry } from './ini.js';
export { ENV_PREFIX, envVarName } from './sources.js';
export { sampleConfig, type SampleOptions } from './sample.js';
export { rpcTransportOptions, rpcServerOptions, type RpcTransportConfig } from './transport.js';
export type {
  OptionType,
  OptionValue,
  OptionSpec,
  NormalizedSpec,
  DeprecatedName,
  LoadOptions,
  ConfigView,
  ConfigValidator,
  ConfigDumpRow,
  ConfigChange,
} from './types.js';
export {
  ConfigError,
  ConfigFileError,
  ConfigValueError,
  ConfigValidationError,
  DuplicateOptError,
  NoSuchOptError,
} from '../core/errors.js';
