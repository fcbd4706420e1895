/**
 * `conductor-ts/config`: the option registry with oslo's names and semantics; option sets (each
 * layer defines its own options once, and reads them back as frozen, typed objects); INI files
 * (oslo's dialect), a config dir, `CONDUCTOR_<SECTION>__<OPTION>` environment variables and
 * command-line values; validation; secret masking. Imports only `core`.
 * @packageDocumentation
 */
export { ConfigOpts, createConfig, type ConfigOptsOptions } from './conf.js';
export type { OptionSource } from './registry.js';
export {
  defineOptions,
  opt,
  type OptionDef,
  type OptionRule,
  type OptionSet,
  type OptionSetDefinition,
  type OptionSetValues,
  type OptionValues,
  type RuleProblem,
  type RuleWriter,
} from './option-set.js';
export { MASK, maskUrlPassword, maskValue, displayValue } from './mask.js';
export { parseIni, normalizeSection, type ParsedIni, type IniEntry } from './ini.js';
export { ENV_PREFIX, envVarName } from './sources.js';
export { sampleConfig, type SampleOptions } from './sample.js';
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
  DefaultOverride,
} from './types.js';
export {
  ConfigError,
  ConfigFileError,
  ConfigValueError,
  ConfigValidationError,
  DuplicateOptError,
  NoSuchOptError,
  ConflictingOptionsError,
  InvalidOptionDefinition,
  InvalidOptionValue,
  UnknownOptionError,
} from '../core/errors.js';
