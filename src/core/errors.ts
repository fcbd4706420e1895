/**
 * The error catalogue of the framework: one row per error, each a stable code, a class name, a
 * base class and a message template (`%s` per constructor argument), in the manner of fastify's
 * `errors.js`. Callers branch on `code` (or `instanceof`), never on messages. Messages follow the
 * original's wording where one exists. The conductor and the CLI define their own rows in their
 * layers (`conductor/errors.ts`, `cli/io.ts`) with the same {@link defineError}; the README's
 * error table lists them all, and a test keeps it equal to {@link errorCatalogue}.
 */
import { ConductorError, defineError } from './define-error.js';

export {
  type CatalogueClass,
  CatalogueError,
  ConductorError,
  defineError,
  errorCatalogue,
  type ErrorBase,
  type ErrorEntry,
  formatMessage,
  hasErrorCode,
  type TemplateArgs,
} from './define-error.js';

/** `String(value)`, or a placeholder for a value whose conversion throws. */
function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'unprintable error';
  }
}

// ---- families ----------------------------------------------------------------------------------

/** Bad option or argument passed to a framework component; thrown before anything is changed. */
export class InvalidOptionError extends defineError(
  'CONDUCTOR_INVALID_OPTION',
  'InvalidOptionError',
  ConductorError,
  '%s',
) {}

/** Base of the RPC errors (oslo.messaging's `MessagingException`). */
export class MessagingError extends defineError(
  'CONDUCTOR_RPC_ERROR',
  'MessagingError',
  ConductorError,
  '%s',
) {}

/** Base of the configuration errors (oslo.config's `cfg.Error`). */
export class ConfigError extends defineError(
  'CONDUCTOR_CONFIG_ERROR',
  'ConfigError',
  ConductorError,
  '%s',
) {}

// ---- core --------------------------------------------------------------------------------------

/** A value that is not an `Error` was thrown; {@link toError} wraps it (the value is kept). */
export class NonErrorThrown extends defineError(
  'CONDUCTOR_NON_ERROR_THROWN',
  'NonErrorThrown',
  ConductorError,
  '%s',
) {
  /** What was thrown. */
  readonly value: unknown;
  constructor(value: unknown) {
    super(printable(value));
    this.value = value;
  }
}

/** An internal invariant does not hold: a bug in conductor-ts, please report it. */
export class InternalError extends defineError(
  'CONDUCTOR_INTERNAL',
  'InternalError',
  ConductorError,
  'Internal error (a bug in conductor-ts): %s',
) {}

/** Bad `RealClock` options. */
export class InvalidClockOption extends defineError(
  'CONDUCTOR_CLOCK_INVALID_OPTION',
  'InvalidClockOption',
  RangeError,
  '%s',
) {}

/** A `VirtualClock` asked to start at, or move to, a time it cannot. */
export class InvalidClockTime extends defineError(
  'CONDUCTOR_CLOCK_INVALID_TIME',
  'InvalidClockTime',
  RangeError,
  '%s',
) {}

/** `VirtualClock.advance()` called while an earlier `advance()` is still running. */
export class ClockBusyError extends defineError(
  'CONDUCTOR_CLOCK_BUSY',
  'ClockBusyError',
  ConductorError,
  'VirtualClock.advance() called while another advance() is in progress; await it first',
) {}

/** Work bounded by a timeout did not finish in time (closing a connection, a drain). */
export class OperationTimedOut extends defineError(
  'CONDUCTOR_OPERATION_TIMEOUT',
  'OperationTimedOut',
  ConductorError,
  '%s timed out after %s s',
) {}

/** A looping call, scheduler or service started twice. */
export class AlreadyRunningError extends defineError(
  'CONDUCTOR_ALREADY_RUNNING',
  'AlreadyRunningError',
  ConductorError,
  '%s',
) {}

/** `wait()` (or a use) of something that was never started. */
export class NotStartedError extends defineError(
  'CONDUCTOR_NOT_STARTED',
  'NotStartedError',
  ConductorError,
  '%s',
) {}

// ---- options (config's option sets) ------------------------------------------------------------

/** An option definition that cannot be registered (bad name, type, range or default). */
export class InvalidOptionDefinition extends defineError(
  'CONDUCTOR_OPTION_DEFINITION',
  'InvalidOptionDefinition',
  InvalidOptionError,
  'Invalid option definition [%s] %s: %s',
) {}

/** Option keys a component does not know, e.g. `Unknown rabbit option(s): nope (known: ...)`. */
export class UnknownOptionError extends defineError(
  'CONDUCTOR_OPTION_UNKNOWN',
  'UnknownOptionError',
  InvalidOptionError,
  'Unknown %s(s): %s (known: %s)',
) {}

/** An option value of the wrong type or out of range, e.g. `rabbit option ssl must be a boolean`. */
export class InvalidOptionValue extends defineError(
  'CONDUCTOR_OPTION_VALUE',
  'InvalidOptionValue',
  InvalidOptionError,
  '%s must be %s, got %s',
) {}

/** Options that are fine alone but not together (a cross-field rule of an option set). */
export class ConflictingOptionsError extends defineError(
  'CONDUCTOR_OPTION_CONFLICT',
  'ConflictingOptionsError',
  InvalidOptionError,
  '%s',
) {}

// ---- config ------------------------------------------------------------------------------------

/**
 * A config file or directory that does not exist, cannot be read or is not valid INI. The message
 * names the file (and the line of a syntax error) but never quotes the file's content.
 */
export class ConfigFileError extends defineError(
  'CONDUCTOR_CONFIG_FILE',
  'ConfigFileError',
  ConfigError,
  '%s',
) {
  /** Absolute path of the file or directory. */
  readonly file: string;
  /** 1-based line of a syntax error. */
  readonly line: number | undefined;
  constructor(file: string, message: string, options?: ErrorOptions & { line?: number }) {
    super(message, options);
    this.file = file;
    this.line = options?.line;
  }
}

/**
 * A value that does not have its option's type, e.g. `/etc/conductor/conductor.conf [DEFAULT]
 * report_interval: expected an integer >= 0, got 'ten'`. The value of a secret option shows as `***`.
 */
export class ConfigValueError extends defineError(
  'CONDUCTOR_CONFIG_VALUE',
  'ConfigValueError',
  ConfigError,
  '%s [%s] %s: %s',
) {
  /** Where the value came from: a file path, `environment variable X`, `command-line option 'x'`. */
  readonly location: string;
  readonly section: string;
  readonly option: string;
  constructor(location: string, section: string, option: string, problem: string) {
    super(location, section, option, problem);
    this.location = location;
    this.section = section;
    this.option = option;
  }
}

/** `validate()` found problems (ranges, choices, cross-field rules); every one is listed. */
export class ConfigValidationError extends defineError(
  'CONDUCTOR_CONFIG_INVALID',
  'ConfigValidationError',
  ConfigError,
  'Invalid configuration (%s):\n%s',
) {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.problems = Object.freeze([...problems]);
  }
}

/** An option registered twice with different definitions (oslo `DuplicateOptError`). */
export class DuplicateOptError extends defineError(
  'CONDUCTOR_CONFIG_DUPLICATE_OPTION',
  'DuplicateOptError',
  ConfigError,
  'Duplicate option: %s in group [%s] is already registered with a different definition%s',
) {
  constructor(section: string, name: string, detail?: string) {
    super(name, section, detail ? ` (${detail})` : '');
  }
}

/** An option that is not registered (oslo `NoSuchOptError`). */
export class NoSuchOptError extends defineError(
  'CONDUCTOR_CONFIG_NO_SUCH_OPTION',
  'NoSuchOptError',
  ConfigError,
  '%sno such option %s in group [%s]',
) {
  readonly section: string;
  readonly option: string;
  constructor(section: string, name: string, location?: string) {
    super(location ? `${location}: ` : '', name, section);
    this.section = section;
    this.option = name;
  }
}

// ---- periodic ----------------------------------------------------------------------------------

/** A `@periodicTask` option the original rejects (`ticks_between_runs`) or that does not exist. */
export class InvalidPeriodicTaskArg extends defineError(
  'CONDUCTOR_PERIODIC_INVALID_ARG',
  'InvalidPeriodicTaskArg',
  ConductorError,
  '%s',
) {}

/** Bad options of `PeriodicTasks` or `ExactScheduler`. */
export class InvalidPeriodicOption extends defineError(
  'CONDUCTOR_PERIODIC_INVALID_OPTION',
  'InvalidPeriodicOption',
  InvalidOptionError,
  '%s',
) {}

/** The `spacing` option names a task the class does not declare. */
export class UnknownPeriodicTask extends defineError(
  'CONDUCTOR_PERIODIC_UNKNOWN_TASK',
  'UnknownPeriodicTask',
  InvalidOptionError,
  'spacing: no periodic task named %s (declared: %s)',
) {}

/** The reason of a periodic task run's aborted signal when it ran past its `timeout`. */
export class TaskTimeoutError extends defineError(
  'CONDUCTOR_TASK_TIMEOUT',
  'TaskTimeoutError',
  ConductorError,
  'Periodic task %s ran past its timeout of %s s',
) {}

/** Bad geometry of the scheduler's due queue (bucket width, bucket count, lanes). */
export class InvalidDueQueueOption extends defineError(
  'CONDUCTOR_PERIODIC_QUEUE_OPTION',
  'InvalidDueQueueOption',
  RangeError,
  '%s must be %s, got %s',
) {}

// ---- looping -----------------------------------------------------------------------------------

/**
 * Thrown by a looping call's function to end the loop normally; `wait()` (and the promise returned
 * by `start()`) then resolves with {@link LoopingCallDone.returnValue}. A signal, not a failure.
 */
export class LoopingCallDone extends defineError(
  'CONDUCTOR_LOOPING_DONE',
  'LoopingCallDone',
  Error,
  'LoopingCallDone',
) {
  /** What the loop's done promise resolves with. */
  readonly returnValue: unknown;

  /**
   * @param returnValue - The loop's outcome; `true` when omitted. An explicit `undefined` is kept
   *   (like Python's `LoopingCallDone(None)`), which `retry()` relies on.
   */
  constructor(...args: [returnValue?: unknown]) {
    super();
    this.returnValue = args.length === 0 ? true : args[0];
  }
}

/** Raised by the timeout variants of looping calls. */
export class LoopingCallTimeOut extends defineError(
  'CONDUCTOR_LOOPING_TIMEOUT',
  'LoopingCallTimeOut',
  ConductorError,
  '%s',
) {}

/** A dynamic looping call whose function returned no interval and that has no maximum. */
export class DynamicIntervalMissingError extends defineError(
  'CONDUCTOR_LOOPING_NO_INTERVAL',
  'DynamicIntervalMissingError',
  ConductorError,
  '%s',
) {
  constructor(
    message = 'A dynamic interval looping call should supply either an interval or periodic_interval_max',
  ) {
    super(message);
  }
}

/** A dynamic looping call's function returned something that is not a number of seconds. */
export class InvalidLoopingResult extends defineError(
  'CONDUCTOR_LOOPING_BAD_RESULT',
  'InvalidLoopingResult',
  TypeError,
  "%s '%s' must return a number of seconds, undefined or null; got %s",
) {}

/** Bad options of a looping call or of `retry()`. */
export class InvalidLoopingOption extends defineError(
  'CONDUCTOR_LOOPING_INVALID_OPTION',
  'InvalidLoopingOption',
  InvalidOptionError,
  '%s',
) {}

/** An option a looping call does not know (a typo, a Python spelling such as `initial_delay`). */
export class UnknownLoopingOption extends defineError(
  'CONDUCTOR_LOOPING_UNKNOWN_OPTION',
  'UnknownLoopingOption',
  InvalidOptionError,
  "%s: unknown option '%s' (known: %s)",
) {}

// ---- messaging ---------------------------------------------------------------------------------

/** Bad options of a transport, an RPC client or an RPC server. */
export class InvalidRpcOption extends defineError(
  'CONDUCTOR_RPC_INVALID_OPTION',
  'InvalidRpcOption',
  InvalidOptionError,
  '%s',
) {}

/** A call or cast with a bad method name or arguments; nothing was sent. */
export class InvalidRpcCall extends defineError(
  'CONDUCTOR_RPC_INVALID_CALL',
  'InvalidRpcCall',
  InvalidOptionError,
  '%s',
) {}

/** A transport URL that cannot be parsed (the message never contains the password). */
export class InvalidTransportUrl extends defineError(
  'CONDUCTOR_RPC_TRANSPORT_URL',
  'InvalidTransportUrl',
  InvalidOptionError,
  '%s',
) {}

/** A transport URL whose scheme names no driver. */
export class UnsupportedTransport extends defineError(
  'CONDUCTOR_RPC_UNSUPPORTED_TRANSPORT',
  'UnsupportedTransport',
  InvalidOptionError,
  "Unsupported transport '%s' (supported: memory://, rabbit://, amqp://)",
) {}

/** A version string that is not `major.minor[.revision]`. */
export class InvalidVersion extends defineError(
  'CONDUCTOR_RPC_INVALID_VERSION',
  'InvalidVersion',
  InvalidOptionError,
  "Invalid version '%s': expected major.minor[.revision] integers",
) {}

/** A call's or a cap's version without integer major and minor (`RPCClient.prepare`'s check). */
export class InvalidMessageVersion extends defineError(
  'CONDUCTOR_RPC_MESSAGE_VERSION',
  'InvalidMessageVersion',
  InvalidOptionError,
  'Version must contain a major and minor integer. Got %s',
) {}

/** `ExplicitRpcAccessPolicy` asked to expose a name the framework never exposes. */
export class ForbiddenRpcMethod extends defineError(
  'CONDUCTOR_RPC_FORBIDDEN_METHOD',
  'ForbiddenRpcMethod',
  InvalidOptionError,
  "ExplicitRpcAccessPolicy: '%s' can never be exposed over RPC",
) {}

/** A TLS file of the RabbitMQ transport that cannot be read (its content is never quoted). */
export class TlsFileError extends defineError(
  'CONDUCTOR_RPC_TLS_FILE',
  'TlsFileError',
  InvalidOptionError,
  'rabbit option %s: cannot read %s: %s',
) {}

/** No reply arrived within the call's timeout. */
export class MessagingTimeout extends defineError(
  'CONDUCTOR_RPC_TIMEOUT',
  'MessagingTimeout',
  MessagingError,
  '%s',
) {}

/** A target that cannot be used for this operation (no topic, a fanout call, ...). */
export class InvalidTarget extends defineError(
  'CONDUCTOR_RPC_INVALID_TARGET',
  'InvalidTarget',
  MessagingError,
  '%s: %s',
) {
  readonly target: unknown;
  constructor(message: string, target?: unknown) {
    super(message, JSON.stringify(target ?? null));
    this.target = target;
  }
}

/** The endpoints of the requested namespace and version have no such (public) method. */
export class NoSuchMethod extends defineError(
  'CONDUCTOR_RPC_NO_SUCH_METHOD',
  'NoSuchMethod',
  MessagingError,
  'Endpoint does not support RPC method %s',
) {
  readonly method: string;
  constructor(method: string) {
    super(method);
    this.method = method;
  }
}

/** No endpoint serves the requested namespace and version. */
export class UnsupportedVersion extends defineError(
  'CONDUCTOR_RPC_UNSUPPORTED_VERSION',
  'UnsupportedVersion',
  MessagingError,
  'Endpoint does not support RPC version %s%s',
) {
  readonly version: string;
  readonly method: string | undefined;
  constructor(version: string, method?: string) {
    super(version, method === undefined ? '' : `. Attempted method: ${method}`);
    this.version = version;
    this.method = method;
  }
}

/** An `oslo.version` envelope this implementation cannot read. */
export class UnsupportedRpcEnvelopeVersion extends defineError(
  'CONDUCTOR_RPC_UNSUPPORTED_ENVELOPE',
  'UnsupportedRpcEnvelopeVersion',
  MessagingError,
  'Envelope version %s is not supported',
) {
  readonly version: string;
  constructor(version: string) {
    super(version);
    this.version = version;
  }
}

/** The call's version is not allowed by the client's version cap. */
export class RPCVersionCapError extends defineError(
  'CONDUCTOR_RPC_VERSION_CAP',
  'RPCVersionCapError',
  MessagingError,
  'Requested message version, %s is incompatible.  It needs to be equal in major version and less than or equal in minor version as the specified version cap %s.',
) {}

/** A message could not be delivered to the broker (retries exhausted, connection lost, refused). */
export class MessageDeliveryFailure extends defineError(
  'CONDUCTOR_RPC_DELIVERY_FAILURE',
  'MessageDeliveryFailure',
  MessagingError,
  '%s',
) {}

/**
 * A lean call (`rpc_reply_mode = direct`) that no queue took: no server of its topic speaks the
 * lean wire (none ever ran, or they are Python oslo.messaging servers). Fails at once, never sent.
 */
export class LeanWireUnsupported extends defineError(
  'CONDUCTOR_RPC_LEAN_UNSUPPORTED',
  'LeanWireUnsupported',
  MessageDeliveryFailure,
  "No server takes lean calls (rpc_reply_mode = direct) on exchange '%s' with routing key '%s': none is listening, or the topic's servers are not conductor-ts (Python oslo.messaging servers only speak oslo's wire: call them with rpc_reply_mode = queue)",
) {
  readonly exchange: string;
  readonly routingKey: string;
  constructor(exchange: string, routingKey: string) {
    super(exchange, routingKey);
    this.exchange = exchange;
    this.routingKey = routingKey;
  }
}

/** A malformed message received from the wire (bad JSON, missing or mistyped fields, too large). */
export class InvalidRpcMessage extends defineError(
  'CONDUCTOR_RPC_INVALID_MESSAGE',
  'InvalidRpcMessage',
  MessagingError,
  '%s',
) {}

/** An error raised by the remote endpoint that could not be rebuilt as a local class. */
export class RemoteError extends defineError(
  'CONDUCTOR_RPC_REMOTE_ERROR',
  'RemoteError',
  MessagingError,
  'Remote error: %s %s\n%s.',
) {
  /** The remote exception's class name (e.g. `ValueError`, `VimNotFoundException`). */
  readonly excType: string;
  /** The remote exception's message. */
  readonly value: string;
  /** The remote traceback lines. */
  readonly traceback: readonly string[];
  constructor(excType: string, value: string, traceback: readonly string[] = []) {
    super(excType, value, traceback.join(''));
    this.excType = excType;
    this.value = value;
    this.traceback = traceback;
  }
}

/**
 * A channel of the RabbitMQ driver closed under a publish before it was written or confirmed;
 * the driver sends the message again on the next channel. Never reaches a caller.
 */
export class ChannelLostError extends defineError(
  'CONDUCTOR_RPC_CHANNEL_LOST',
  'ChannelLostError',
  MessagingError,
  '%s',
) {}

/** The broker nacked a confirmed publish (a queue length limit with `reject-publish`, ...). */
export class BrokerNackError extends defineError(
  'CONDUCTOR_RPC_NACKED',
  'BrokerNackError',
  MessagingError,
  'the broker nacked the message',
) {}

/** The broker refused a declaration for good (406 PRECONDITION_FAILED, 403 ACCESS_REFUSED). */
export class BrokerRefusedError extends defineError(
  'CONDUCTOR_RPC_REFUSED',
  'BrokerRefusedError',
  MessagingError,
  '%s',
) {}

// ---- service -----------------------------------------------------------------------------------

/** Bad options of `Service.create` or a launcher. */
export class InvalidServiceOption extends defineError(
  'CONDUCTOR_SERVICE_INVALID_OPTION',
  'InvalidServiceOption',
  InvalidOptionError,
  '%s',
) {}

/** A class given as a manager that is not one (no `initHost`). */
export class NotAManagerError extends defineError(
  'CONDUCTOR_SERVICE_NOT_A_MANAGER',
  'NotAManagerError',
  InvalidOptionError,
  '%s is not a Manager class (it has no initHost method)',
) {}

/** `importClass` could not find the module, the export, or the export is not a class. */
export class ImportClassError extends defineError(
  'CONDUCTOR_IMPORT_CLASS',
  'ImportClassError',
  ConductorError,
  '%s',
) {}

/** `launch()` with a number of workers that is not a positive integer. */
export class InvalidWorkerCount extends defineError(
  'CONDUCTOR_LAUNCHER_WORKERS',
  'InvalidWorkerCount',
  InvalidOptionError,
  'Number of workers should be positive!',
) {}

/** Something given to a launcher as a service that is not a `ServiceBase`. */
export class NotAServiceError extends defineError(
  'CONDUCTOR_LAUNCHER_NOT_A_SERVICE',
  'NotAServiceError',
  InvalidOptionError,
  '%s (start, stop, wait, reset)',
) {}

/** Worker processes need a service factory, since only the workers may build the service. */
export class ServiceFactoryRequired extends defineError(
  'CONDUCTOR_LAUNCHER_FACTORY_REQUIRED',
  'ServiceFactoryRequired',
  InvalidOptionError,
  'A service factory is required for workers > 1: the primary must not create the service',
) {}

/** A `ProcessLauncher` created in a worker process. */
export class NotPrimaryProcess extends defineError(
  'CONDUCTOR_LAUNCHER_NOT_PRIMARY',
  'NotPrimaryProcess',
  InvalidOptionError,
  'ProcessLauncher must be created in the primary process',
) {}

// ---- coordination ------------------------------------------------------------------------------

/** Bad options of a coordinator, a lease or a hash ring. */
export class InvalidCoordinationOption extends defineError(
  'CONDUCTOR_COORDINATION_INVALID_OPTION',
  'InvalidCoordinationOption',
  InvalidOptionError,
  '%s',
) {}

/** A coordination backend URL that cannot be parsed (the message never contains the password). */
export class InvalidCoordinationUrl extends defineError(
  'CONDUCTOR_COORDINATION_URL',
  'InvalidCoordinationUrl',
  InvalidOptionError,
  'Invalid coordination backend URL %s: %s',
) {}

/** A coordination backend URL whose scheme names no backend. */
export class UnsupportedCoordinationBackend extends defineError(
  'CONDUCTOR_COORDINATION_UNSUPPORTED',
  'UnsupportedCoordinationBackend',
  InvalidOptionError,
  "Unsupported coordination backend '%s' (supported: memory://, redis://, postgresql://)",
) {}

/** The coordination backend cannot be reached, or failed an operation (`where` has no password). */
export class CoordinationUnavailable extends defineError(
  'CONDUCTOR_COORDINATION_UNAVAILABLE',
  'CoordinationUnavailable',
  ConductorError,
  'Coordination backend %s is unavailable: %s',
) {}

/**
 * A lease this replica held is no longer its own: expired before it could be renewed, taken, released
 * or the backend is gone. The reason of the holder's aborted `AbortSignal`.
 */
export class LeaseLostError extends defineError(
  'CONDUCTOR_LEASE_LOST',
  'LeaseLostError',
  ConductorError,
  "Lease '%s' lost: %s",
) {}

// ---- ops ---------------------------------------------------------------------------------------

/** Bad options of the ops endpoint or its metrics. */
export class InvalidOpsOption extends defineError(
  'CONDUCTOR_OPS_INVALID_OPTION',
  'InvalidOpsOption',
  InvalidOptionError,
  '%s',
) {}

/** An `[ops] listen` address that cannot be parsed. */
export class InvalidListenAddress extends defineError(
  'CONDUCTOR_OPS_LISTEN_ADDRESS',
  'InvalidListenAddress',
  InvalidOptionError,
  'Invalid listen address %s: %s (expected host:port, [ipv6]:port, :port, or 0 to disable)',
) {}

/** A health check that failed; the message is what the health report shows (never a stack). */
export class HealthCheckError extends defineError(
  'CONDUCTOR_HEALTH_CHECK',
  'HealthCheckError',
  ConductorError,
  '%s',
) {
  /** Name of the check, e.g. `transport`. */
  readonly check: string;
  constructor(check: string, message: string) {
    super(message);
    this.check = check;
  }
}

/** The ops endpoint could not listen on its address (in use, not permitted, not an address here). */
export class OpsListenError extends defineError(
  'CONDUCTOR_OPS_LISTEN',
  'OpsListenError',
  ConductorError,
  '%s',
) {
  /** `host:port` (`[host]:port` for IPv6) the endpoint tried. */
  readonly address: string;
  constructor(address: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.address = address;
  }
}

// ---- helpers -----------------------------------------------------------------------------------

/** `value` itself when it is an `Error`, else a {@link NonErrorThrown} holding it. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new NonErrorThrown(value);
}

/** The message of what was thrown, for log lines and wrapped messages. */
export function errorMessage(value: unknown): string {
  return toError(value).message;
}
