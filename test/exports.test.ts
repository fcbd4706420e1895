/**
 * The package's public faces: every subpath of package.json `exports`, imported as a user would
 * (`conductor-ts/...`, which vitest.config.ts maps to `src/<folder>/index.ts`). Each face's runtime
 * export names are pinned below, sorted: adding or removing an export shows up here as a change to
 * review. Type-only exports have no runtime name and are not listed (tsc checks those).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as root from 'conductor-ts';
import * as cli from 'conductor-ts/cli';
import * as conductor from 'conductor-ts/conductor';
import * as config from 'conductor-ts/config';
import * as coordination from 'conductor-ts/coordination';
import * as core from 'conductor-ts/core';
import * as looping from 'conductor-ts/looping';
import * as messaging from 'conductor-ts/messaging';
import * as ops from 'conductor-ts/ops';
import * as periodic from 'conductor-ts/periodic';
import * as runner from 'conductor-ts/runner';
import * as service from 'conductor-ts/service';

const ROOT = join(import.meta.dirname, '..');

/** Each subpath's face, as imported above. */
const FACES: Record<string, Record<string, unknown>> = {
  '.': root,
  './core': core,
  './periodic': periodic,
  './looping': looping,
  './messaging': messaging,
  './coordination': coordination,
  './service': service,
  './conductor': conductor,
  './ops': ops,
  './runner': runner,
  './config': config,
  './cli': cli,
};

/** The faces the root re-exports in full (src/index.ts). */
const IN_ROOT = [
  './core',
  './periodic',
  './looping',
  './messaging',
  './coordination',
  './service',
  './config',
];

/**
 * The runtime exports of each subpath, sorted (code-point order). The root's are the union of the
 * {@link IN_ROOT} lists, checked below rather than repeated.
 */
const EXPORTS: Record<string, readonly string[]> = {
  './core': [
    'AlreadyRunningError',
    'BrokerNackError',
    'BrokerRefusedError',
    'CatalogueError',
    'ChannelLostError',
    'ClockBusyError',
    'ConductorError',
    'ConfigError',
    'ConfigFileError',
    'ConfigValidationError',
    'ConfigValueError',
    'ConflictingOptionsError',
    'CoordinationUnavailable',
    'DuplicateOptError',
    'DynamicIntervalMissingError',
    'FRAMEWORK_BASE',
    'ForbiddenRpcMethod',
    'HealthCheckError',
    'ImportClassError',
    'IndexedHeap',
    'InternalError',
    'InvalidClockOption',
    'InvalidClockTime',
    'InvalidCoordinationOption',
    'InvalidCoordinationUrl',
    'InvalidDueQueueOption',
    'InvalidListenAddress',
    'InvalidLoopingOption',
    'InvalidLoopingResult',
    'InvalidMessageVersion',
    'InvalidOpsOption',
    'InvalidOptionDefinition',
    'InvalidOptionError',
    'InvalidOptionValue',
    'InvalidPeriodicOption',
    'InvalidPeriodicTaskArg',
    'InvalidRpcCall',
    'InvalidRpcMessage',
    'InvalidRpcOption',
    'InvalidServiceOption',
    'InvalidTarget',
    'InvalidTransportUrl',
    'InvalidVersion',
    'InvalidWorkerCount',
    'LeanWireUnsupported',
    'LeaseLostError',
    'LoopingCallDone',
    'LoopingCallTimeOut',
    'MASK',
    'MessageDeliveryFailure',
    'MessagingError',
    'MessagingTimeout',
    'NoSuchMethod',
    'NoSuchOptError',
    'NonErrorThrown',
    'NotAManagerError',
    'NotAServiceError',
    'NotPrimaryProcess',
    'NotStartedError',
    'OperationTimedOut',
    'OpsListenError',
    'REDACTED_PATHS',
    'RPCVersionCapError',
    'RealClock',
    'RemoteError',
    'RequestContext',
    'ServiceFactoryRequired',
    'TaskTimeoutError',
    'TlsFileError',
    'UnknownLoopingOption',
    'UnknownOptionError',
    'UnknownPeriodicTask',
    'UnsupportedCoordinationBackend',
    'UnsupportedRpcEnvelopeVersion',
    'UnsupportedTransport',
    'UnsupportedVersion',
    'VirtualClock',
    'createLogger',
    'defineError',
    'errorCatalogue',
    'errorMessage',
    'formatMessage',
    'getAdminContext',
    'getLogger',
    'hasErrorCode',
    'isFrameworkPrototype',
    'maskUrlPassword',
    'pythonTimestamp',
    'realClock',
    'rootLogger',
    'setRootLogger',
    'toError',
  ],
  './periodic': [
    'CronSchedule',
    'DEFAULT_INTERVAL',
    'ExactScheduler',
    'InvalidPeriodicOption',
    'InvalidPeriodicTaskArg',
    'MemoryTaskStateStore',
    'PeriodicTasks',
    'TaskTimeoutError',
    'UnknownPeriodicTask',
    'emptyTaskState',
    'localRun',
    'periodicOptions',
    'periodicTask',
    'restoreLastRuns',
    'setTaskPlacement',
    'slotAt',
  ],
  './looping': [
    'BackOffLoopingCall',
    'DynamicIntervalMissingError',
    'DynamicLoopingCall',
    'FixedIntervalLoopingCall',
    'FixedIntervalWithTimeoutLoopingCall',
    'InvalidLoopingOption',
    'InvalidLoopingResult',
    'LoopingCallBase',
    'LoopingCallDone',
    'LoopingCallTimeOut',
    'UnknownLoopingOption',
    'gauss',
    'retry',
  ],
  './messaging': [
    'DEFAULT_RABBIT_OPTIONS',
    'DISPATCHER_MODULE',
    'DefaultRpcAccessPolicy',
    'DictContextSerializer',
    'ENVELOPE_VERSION',
    'ExplicitRpcAccessPolicy',
    'ForbiddenRpcMethod',
    'InvalidMessageVersion',
    'InvalidRpcCall',
    'InvalidRpcMessage',
    'InvalidRpcOption',
    'InvalidTarget',
    'InvalidTransportUrl',
    'InvalidVersion',
    'LeanWireUnsupported',
    'MessageDeliveryFailure',
    'MessagingError',
    'MessagingTimeout',
    'NoSuchMethod',
    'RABBIT_OPTION_NAMES',
    'RPCVersionCapError',
    'RemoteError',
    'RequestContextSerializer',
    'RpcClient',
    'RpcDispatcher',
    'RpcServer',
    'Target',
    'TlsFileError',
    'Transport',
    'UNKNOWN_METHOD',
    'UnsupportedRpcEnvelopeVersion',
    'UnsupportedTransport',
    'UnsupportedVersion',
    'decodeEnvelope',
    'deserializeRemoteException',
    'encodeEnvelope',
    'getRpcServer',
    'getRpcTransport',
    'isCompatible',
    'maskTransportUrl',
    'messagingOptions',
    'parseRemoteFailure',
    'parseTransportUrl',
    'parseVersion',
    'parseWireJson',
    'popContext',
    'rabbitOptions',
    'readRequest',
    'remoteKwargsOf',
    'rpcServerOptions',
    'rpcTransportOptions',
    'serializeRemoteException',
  ],
  './coordination': [
    'CoordinationUnavailable',
    'Coordinator',
    'HashRing',
    'InvalidCoordinationOption',
    'InvalidCoordinationUrl',
    'LeaseLostError',
    'MemoryBackend',
    'MemorySpace',
    'Partition',
    'UnsupportedCoordinationBackend',
    'coordinationOptions',
    'forgetMemorySpace',
    'getCoordinator',
    'memorySpace',
    'parseCoordinationUrl',
  ],
  './service': [
    'ClusterPlacement',
    'DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT',
    'EXIT_SIGINT',
    'ImportClassError',
    'InvalidServiceOption',
    'InvalidWorkerCount',
    'Manager',
    'NotAManagerError',
    'NotAServiceError',
    'NotPrimaryProcess',
    'PARENT_CHECK_INTERVAL',
    'PARENT_PID_ENV',
    'ProcessLauncher',
    'ReloadableService',
    'SERVICE_DEFAULTS',
    'Service',
    'ServiceFactoryRequired',
    'ServiceLauncher',
    'WORKER_ENV',
    'assertManagerClass',
    'coordinationFromConfig',
    'hasOpsView',
    'importClass',
    'isManagerClass',
    'isWorkerProcess',
    'launch',
    'opsView',
    'resolveServiceOptions',
    'serviceOptions',
    'serviceOptionsFromConfig',
    'serviceProcessOptions',
    'workerIndex',
  ],
  './conductor': [
    'Conductor',
    'ConductorStore',
    'DEFAULT_EVENT_LIMIT',
    'DatabaseMigrationError',
    'DatabaseOpenError',
    'DatabaseOutcomeUnknown',
    'DatabaseUnavailable',
    'DatabaseUrlError',
    'InvalidProbeOption',
    'InvalidRpcArgumentError',
    'InvalidStoreArgument',
    'InvalidVimError',
    'InvalidVimStatusError',
    'KyselyTaskStateStore',
    'MAX_VIM_ID_LENGTH',
    'MIGRATION_TABLE',
    'StoreClosedError',
    'StoreNotOpenError',
    'TACKER_DEFAULTS',
    'VIM_STATUSES',
    'VimExistsError',
    'VimMonitor',
    'VimNotFoundError',
    'conductorConfig',
    'conductorDefaultOptions',
    'conductorOptionSets',
    'conductorOptions',
    'databaseOptions',
    'isServiceUp',
    'isVimStatus',
    'openStore',
    'parseDatabaseUrl',
    'probeAll',
    'probeUrl',
    'vimMonitorConfig',
    'vimMonitorOptions',
  ],
  './ops': [
    'DEFAULT_LISTEN_HOST',
    'EventLoopMonitor',
    'HealthCheckError',
    'InvalidListenAddress',
    'InvalidOpsOption',
    'OpsListenError',
    'OpsServer',
    'createServiceMetrics',
    'formatListen',
    'opsOptions',
    'parseListen',
    'runHealthChecks',
  ],
  './runner': ['runService', 'runnerConfig', 'runnerOptions'],
  './config': [
    'ConfigError',
    'ConfigFileError',
    'ConfigOpts',
    'ConfigValidationError',
    'ConfigValueError',
    'ConflictingOptionsError',
    'DuplicateOptError',
    'ENV_PREFIX',
    'InvalidOptionDefinition',
    'InvalidOptionValue',
    'MASK',
    'NoSuchOptError',
    'UnknownOptionError',
    'createConfig',
    'defineOptions',
    'displayValue',
    'envVarName',
    'maskUrlPassword',
    'maskValue',
    'normalizeSection',
    'opt',
    'parseIni',
    'sampleConfig',
  ],
  './cli': [
    'COMMAND_DEFAULTS',
    'DEFAULT_MANAGER',
    'DEFAULT_TOPIC',
    'EXIT',
    'UsageError',
    'buildProgram',
    'commandOptions',
    'describeRpcError',
    'listTasks',
    'loadManagerClass',
    'logLevel',
    'parseParams',
    'parseSet',
    'parseValue',
    'runCli',
    'serviceOptionsFromConfig',
    'setupLogging',
  ],
};

interface PackageJson {
  main: string;
  types: string;
  exports: Record<string, string | { types: string; default: string }>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const subpaths = Object.keys(pkg.exports).filter((p) => p !== './package.json');
const sorted = (names: Iterable<string>): string[] => [...names].sort();

describe('package faces', () => {
  it('the root re-exports every subpath', () => {
    for (const face of [core, periodic, looping, messaging, service, config]) {
      for (const [name, value] of Object.entries(face))
        expect((root as Record<string, unknown>)[name], name).toBe(value);
    }
  });

  it('this test covers every subpath of package.json, and nothing else', () => {
    expect(sorted(Object.keys(FACES))).toEqual(sorted(subpaths));
    expect(sorted([...Object.keys(EXPORTS), '.'])).toEqual(sorted(subpaths));
  });

  it.each(Object.keys(EXPORTS))('%s exports exactly its pinned names', (subpath) => {
    const pinned = EXPORTS[subpath] as readonly string[];
    expect(pinned, 'keep the list sorted').toEqual(sorted(pinned));
    expect(sorted(Object.keys(FACES[subpath] as object))).toEqual(pinned);
  });

  it('the root exports exactly the names of the faces it re-exports', () => {
    const union = new Set(IN_ROOT.flatMap((p) => EXPORTS[p] as readonly string[]));
    expect(sorted(Object.keys(root))).toEqual(sorted(union));
  });

  it.each(Object.keys(FACES))('%s has no undefined export', (subpath) => {
    const undefinedNames = Object.entries(FACES[subpath] as object)
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    expect(undefinedNames).toEqual([]);
  });

  it.each(subpaths)(
    '%s maps to src/<folder>/index.ts and ./dist/src/<folder>/index.{js,d.ts}',
    (subpath) => {
      const folder = subpath === '.' ? '' : `${subpath.slice(2)}/`;
      expect(existsSync(join(ROOT, `src/${folder}index.ts`)), `src/${folder}index.ts`).toBe(true);
      expect(pkg.exports[subpath]).toEqual({
        types: `./dist/src/${folder}index.d.ts`,
        default: `./dist/src/${folder}index.js`,
      });
    },
  );

  it('main, types and ./package.json agree with the root entry', () => {
    expect(pkg.main).toBe('./dist/src/index.js');
    expect(pkg.types).toBe('./dist/src/index.d.ts');
    expect(pkg.exports['./package.json']).toBe('./package.json');
  });
});
