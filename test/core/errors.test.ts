/**
 * The error catalogue: every row pinned (code, class, base), every class reachable from a public
 * face and built as its row says, and the README's error table equal to the catalogue.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as cli from '../../src/cli/index.js';
import * as conductor from '../../src/conductor/index.js';
import * as core from '../../src/core/index.js';
import * as ops from '../../src/ops/index.js';
import * as root from '../../src/index.js';
import * as runner from '../../src/runner/index.js';

/** Every row, sorted by code: [code, class, base]. Changing one is changing the public API. */
const PINNED: readonly (readonly [string, string, string])[] = [
  ['CONDUCTOR_ALREADY_RUNNING', 'AlreadyRunningError', 'ConductorError'],
  ['CONDUCTOR_CATALOGUE', 'CatalogueError', 'ConductorError'],
  ['CONDUCTOR_CLI_USAGE', 'UsageError', 'ConductorError'],
  ['CONDUCTOR_CLOCK_BUSY', 'ClockBusyError', 'ConductorError'],
  ['CONDUCTOR_CLOCK_INVALID_OPTION', 'InvalidClockOption', 'RangeError'],
  ['CONDUCTOR_CLOCK_INVALID_TIME', 'InvalidClockTime', 'RangeError'],
  ['CONDUCTOR_CONFIG_DUPLICATE_OPTION', 'DuplicateOptError', 'ConfigError'],
  ['CONDUCTOR_CONFIG_ERROR', 'ConfigError', 'ConductorError'],
  ['CONDUCTOR_CONFIG_FILE', 'ConfigFileError', 'ConfigError'],
  ['CONDUCTOR_CONFIG_INVALID', 'ConfigValidationError', 'ConfigError'],
  ['CONDUCTOR_CONFIG_NO_SUCH_OPTION', 'NoSuchOptError', 'ConfigError'],
  ['CONDUCTOR_CONFIG_VALUE', 'ConfigValueError', 'ConfigError'],
  ['CONDUCTOR_COORDINATION_INVALID_OPTION', 'InvalidCoordinationOption', 'InvalidOptionError'],
  ['CONDUCTOR_COORDINATION_UNAVAILABLE', 'CoordinationUnavailable', 'ConductorError'],
  ['CONDUCTOR_COORDINATION_UNSUPPORTED', 'UnsupportedCoordinationBackend', 'InvalidOptionError'],
  ['CONDUCTOR_COORDINATION_URL', 'InvalidCoordinationUrl', 'InvalidOptionError'],
  ['CONDUCTOR_DATABASE_MIGRATION', 'DatabaseMigrationError', 'ConductorError'],
  ['CONDUCTOR_DATABASE_OPEN', 'DatabaseOpenError', 'ConductorError'],
  ['CONDUCTOR_DATABASE_OUTCOME_UNKNOWN', 'DatabaseOutcomeUnknown', 'DatabaseOpenError'],
  ['CONDUCTOR_DATABASE_UNAVAILABLE', 'DatabaseUnavailable', 'DatabaseOpenError'],
  ['CONDUCTOR_DATABASE_URL', 'DatabaseUrlError', 'ConductorError'],
  ['CONDUCTOR_ERROR', 'ConductorError', 'Error'],
  ['CONDUCTOR_HEALTH_CHECK', 'HealthCheckError', 'ConductorError'],
  ['CONDUCTOR_IMPORT_CLASS', 'ImportClassError', 'ConductorError'],
  ['CONDUCTOR_INTERNAL', 'InternalError', 'ConductorError'],
  ['CONDUCTOR_INVALID_OPTION', 'InvalidOptionError', 'ConductorError'],
  ['CONDUCTOR_INVALID_RPC_ARGUMENT', 'InvalidRpcArgumentError', 'ConductorError'],
  ['CONDUCTOR_LAUNCHER_FACTORY_REQUIRED', 'ServiceFactoryRequired', 'InvalidOptionError'],
  ['CONDUCTOR_LAUNCHER_NOT_A_SERVICE', 'NotAServiceError', 'InvalidOptionError'],
  ['CONDUCTOR_LAUNCHER_NOT_PRIMARY', 'NotPrimaryProcess', 'InvalidOptionError'],
  ['CONDUCTOR_LAUNCHER_WORKERS', 'InvalidWorkerCount', 'InvalidOptionError'],
  ['CONDUCTOR_LEASE_LOST', 'LeaseLostError', 'ConductorError'],
  ['CONDUCTOR_LOOPING_BAD_RESULT', 'InvalidLoopingResult', 'TypeError'],
  ['CONDUCTOR_LOOPING_DONE', 'LoopingCallDone', 'Error'],
  ['CONDUCTOR_LOOPING_INVALID_OPTION', 'InvalidLoopingOption', 'InvalidOptionError'],
  ['CONDUCTOR_LOOPING_NO_INTERVAL', 'DynamicIntervalMissingError', 'ConductorError'],
  ['CONDUCTOR_LOOPING_TIMEOUT', 'LoopingCallTimeOut', 'ConductorError'],
  ['CONDUCTOR_LOOPING_UNKNOWN_OPTION', 'UnknownLoopingOption', 'InvalidOptionError'],
  ['CONDUCTOR_NON_ERROR_THROWN', 'NonErrorThrown', 'ConductorError'],
  ['CONDUCTOR_NOT_STARTED', 'NotStartedError', 'ConductorError'],
  ['CONDUCTOR_OPERATION_TIMEOUT', 'OperationTimedOut', 'ConductorError'],
  ['CONDUCTOR_OPS_INVALID_OPTION', 'InvalidOpsOption', 'InvalidOptionError'],
  ['CONDUCTOR_OPS_LISTEN', 'OpsListenError', 'ConductorError'],
  ['CONDUCTOR_OPS_LISTEN_ADDRESS', 'InvalidListenAddress', 'InvalidOptionError'],
  ['CONDUCTOR_OPTION_CONFLICT', 'ConflictingOptionsError', 'InvalidOptionError'],
  ['CONDUCTOR_OPTION_DEFINITION', 'InvalidOptionDefinition', 'InvalidOptionError'],
  ['CONDUCTOR_OPTION_UNKNOWN', 'UnknownOptionError', 'InvalidOptionError'],
  ['CONDUCTOR_OPTION_VALUE', 'InvalidOptionValue', 'InvalidOptionError'],
  ['CONDUCTOR_PERIODIC_INVALID_ARG', 'InvalidPeriodicTaskArg', 'ConductorError'],
  ['CONDUCTOR_PERIODIC_INVALID_OPTION', 'InvalidPeriodicOption', 'InvalidOptionError'],
  ['CONDUCTOR_PERIODIC_QUEUE_OPTION', 'InvalidDueQueueOption', 'RangeError'],
  ['CONDUCTOR_PERIODIC_UNKNOWN_TASK', 'UnknownPeriodicTask', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_CHANNEL_LOST', 'ChannelLostError', 'MessagingError'],
  ['CONDUCTOR_RPC_DELIVERY_FAILURE', 'MessageDeliveryFailure', 'MessagingError'],
  ['CONDUCTOR_RPC_ERROR', 'MessagingError', 'ConductorError'],
  ['CONDUCTOR_RPC_FORBIDDEN_METHOD', 'ForbiddenRpcMethod', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_INVALID_CALL', 'InvalidRpcCall', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_INVALID_MESSAGE', 'InvalidRpcMessage', 'MessagingError'],
  ['CONDUCTOR_RPC_INVALID_OPTION', 'InvalidRpcOption', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_INVALID_TARGET', 'InvalidTarget', 'MessagingError'],
  ['CONDUCTOR_RPC_INVALID_VERSION', 'InvalidVersion', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_LEAN_UNSUPPORTED', 'LeanWireUnsupported', 'MessageDeliveryFailure'],
  ['CONDUCTOR_RPC_MESSAGE_VERSION', 'InvalidMessageVersion', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_NACKED', 'BrokerNackError', 'MessagingError'],
  ['CONDUCTOR_RPC_NO_SUCH_METHOD', 'NoSuchMethod', 'MessagingError'],
  ['CONDUCTOR_RPC_REFUSED', 'BrokerRefusedError', 'MessagingError'],
  ['CONDUCTOR_RPC_REMOTE_ERROR', 'RemoteError', 'MessagingError'],
  ['CONDUCTOR_RPC_TIMEOUT', 'MessagingTimeout', 'MessagingError'],
  ['CONDUCTOR_RPC_TLS_FILE', 'TlsFileError', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_TRANSPORT_URL', 'InvalidTransportUrl', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_UNSUPPORTED_ENVELOPE', 'UnsupportedRpcEnvelopeVersion', 'MessagingError'],
  ['CONDUCTOR_RPC_UNSUPPORTED_TRANSPORT', 'UnsupportedTransport', 'InvalidOptionError'],
  ['CONDUCTOR_RPC_UNSUPPORTED_VERSION', 'UnsupportedVersion', 'MessagingError'],
  ['CONDUCTOR_RPC_VERSION_CAP', 'RPCVersionCapError', 'MessagingError'],
  ['CONDUCTOR_SERVICE_INVALID_OPTION', 'InvalidServiceOption', 'InvalidOptionError'],
  ['CONDUCTOR_SERVICE_NOT_A_MANAGER', 'NotAManagerError', 'InvalidOptionError'],
  ['CONDUCTOR_STORE_CLOSED', 'StoreClosedError', 'ConductorError'],
  ['CONDUCTOR_STORE_INVALID_ARGUMENT', 'InvalidStoreArgument', 'InvalidOptionError'],
  ['CONDUCTOR_STORE_NOT_OPEN', 'StoreNotOpenError', 'NotStartedError'],
  ['CONDUCTOR_TASK_TIMEOUT', 'TaskTimeoutError', 'ConductorError'],
  ['CONDUCTOR_VIM_EXISTS', 'VimExistsError', 'ConductorError'],
  ['CONDUCTOR_VIM_INVALID', 'InvalidVimError', 'ConductorError'],
  ['CONDUCTOR_VIM_INVALID_STATUS', 'InvalidVimStatusError', 'ConductorError'],
  ['CONDUCTOR_VIM_NOT_FOUND', 'VimNotFoundError', 'ConductorError'],
  ['CONDUCTOR_VIM_PROBE_OPTION', 'InvalidProbeOption', 'InvalidOptionError'],
];

/** Every class the public faces export, by name. */
const exported = new Map<string, unknown>();
for (const face of [root, conductor, ops, runner, cli] as Record<string, unknown>[]) {
  for (const [name, value] of Object.entries(face))
    if (typeof value === 'function') exported.set(name, value);
}

type AnyError = new (...args: unknown[]) => Error & { code: string };

/** Arguments that build an instance of each class (strings fill any template). */
const SAMPLE_ARGS: Record<string, unknown[]> = {
  ConfigValidationError: [['a problem']],
  InvalidVimStatusError: ['X', ['PENDING']],
  RemoteError: ['ValueError', 'boom', ['line\n']],
  VimExistsError: ['name', 'site-a'],
  LoopingCallDone: [42],
};

describe('error catalogue', () => {
  it('gives every error a stable, unique CONDUCTOR_* code and its class name', () => {
    const samples = [
      new core.InvalidOptionError('x'),
      new core.InvalidPeriodicTaskArg('x'),
      new core.ClockBusyError(),
      new core.AlreadyRunningError('x'),
      new core.NotStartedError('x'),
      new core.LoopingCallTimeOut('x'),
      new core.DynamicIntervalMissingError('x'),
    ];
    const codes = samples.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of samples) {
      expect(e).toBeInstanceOf(core.ConductorError);
      expect(e.code).toMatch(/^CONDUCTOR_[A-Z_]+$/);
      expect(e.name).toBe(e.constructor.name);
      expect(core.hasErrorCode(e, e.code)).toBe(true);
    }
    expect(core.hasErrorCode(new Error('x'), 'CONDUCTOR_INVALID_OPTION')).toBe(false);
  });

  it('is the pinned table, row for row', () => {
    expect(core.errorCatalogue().map((e) => [e.code, e.name, e.base])).toEqual(PINNED);
  });

  it.each(PINNED.map(([code, name, base]) => ({ code, name, base })))(
    '$code: $name, exported, built as its row says',
    ({ code, name, base }) => {
      const cls = exported.get(name) as (AnyError & { code: string; template: string }) | undefined;
      expect(cls, `${name} is exported by a public face`).toBeTypeOf('function');
      if (!cls) return;
      expect(cls.name).toBe(name);
      expect(cls.code).toBe(code);
      const row = core.errorCatalogue().find((e) => e.code === code);
      const args = SAMPLE_ARGS[name] ?? ['a', 'b', 'c', 'd'];
      const err = new cls(...args);
      expect(err).toBeInstanceOf(Error);
      expect(err).toBeInstanceOf(core.ConductorError);
      expect(err.code).toBe(code);
      expect(core.hasErrorCode(err, code)).toBe(true);
      // the base is in the prototype chain, native bases included (RangeError, TypeError)
      const chain: string[] = [];
      for (
        let p = Object.getPrototypeOf(cls) as { name?: string } | null;
        p;
        p = Object.getPrototypeOf(p)
      )
        if (p.name) chain.push(p.name);
      expect(chain).toContain(base);
      // a template without placeholders is the message itself
      if (row && !row.message.includes('%s') && SAMPLE_ARGS[name] === undefined)
        expect(err.message).toBe(row.message);
    },
  );

  it('fills templates in order, and keeps a cause', () => {
    const cause = new Error('root');
    const err = new core.UnknownOptionError('rabbit option', 'nope', 'ssl', { cause });
    expect(err.message).toBe('Unknown rabbit option(s): nope (known: ssl)');
    expect(err.cause).toBe(cause);
    expect(new core.InvalidOptionValue('rabbit option ssl', 'a boolean', '"maybe"').message).toBe(
      'rabbit option ssl must be a boolean, got "maybe"',
    );
    // a subclass of a row formats its own template once
    expect(new core.InvalidLoopingOption('loop: bad').message).toBe('loop: bad');
    expect(new core.InvalidLoopingOption('x')).toBeInstanceOf(core.InvalidOptionError);
  });

  it('makes native-based rows instances of both their base and ConductorError', () => {
    const e = new core.InvalidClockOption('bad');
    expect(e).toBeInstanceOf(RangeError);
    expect(e).toBeInstanceOf(core.ConductorError);
    expect(e.name).toBe('InvalidClockOption');
    expect(new RangeError('x')).not.toBeInstanceOf(core.ConductorError);
    expect({ code: 'CONDUCTOR_X' }).not.toBeInstanceOf(core.ConductorError);
  });

  it('a user subclass keeps its own name and its family code', () => {
    class MyOptionError extends core.InvalidOptionError {}
    const e = new MyOptionError('mine');
    expect(e.name).toBe('MyOptionError');
    expect(e.code).toBe('CONDUCTOR_INVALID_OPTION');
    expect(e.message).toBe('mine');
  });

  it('refuses a malformed code and a code defined twice differently', () => {
    expect(() => core.defineError('NOT_OURS', 'X', core.ConductorError, '%s')).toThrow(
      core.CatalogueError,
    );
    expect(() =>
      core.defineError('CONDUCTOR_CLOCK_BUSY', 'Other', core.ConductorError, '%s'),
    ).toThrow('already defined as ClockBusyError');
    // the same row again (a second copy of a module) is harmless
    const again = core.defineError(
      'CONDUCTOR_CATALOGUE',
      'CatalogueError',
      core.ConductorError,
      '%s',
    );
    expect(again.code).toBe('CONDUCTOR_CATALOGUE');
  });

  it('toError keeps errors and wraps anything else, value kept', () => {
    const e = new TypeError('t');
    expect(core.toError(e)).toBe(e);
    const wrapped = core.toError('text') as InstanceType<typeof core.NonErrorThrown>;
    expect(wrapped).toBeInstanceOf(core.NonErrorThrown);
    expect(wrapped.message).toBe('text');
    expect(wrapped.value).toBe('text');
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    expect(core.errorMessage(hostile)).toBe('unprintable error');
    expect(core.errorMessage(42)).toBe('42');
  });
});

describe('the README error table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Errors'));
  const table = section.slice(0, section.indexOf('\n#', 1));
  const rows = [...table.matchAll(/^\| `(CONDUCTOR_[A-Z0-9_]+)` \| `(\w+)` \| `(\w+)` \|/gm)].map(
    (m) => [m[1], m[2], m[3]],
  );

  it('lists every code of the catalogue, with its class and base, in code order', () => {
    expect(rows).toEqual(core.errorCatalogue().map((e) => [e.code, e.name, e.base]));
  });
});
