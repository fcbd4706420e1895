/**
 * The error catalogue: every error the framework throws has a stable `code` (`CONDUCTOR_*`), so
 * callers can branch on codes rather than messages. Messages follow the original's wording where one
 * exists.
 */
export class ConductorError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad option or argument passed to a framework component; thrown before anything is changed. */
export class InvalidOptionError extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_INVALID_OPTION', message);
  }
}

/** A `@periodicTask` option the original rejects (`ticks_between_runs`) or that does not exist. */
export class InvalidPeriodicTaskArg extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_PERIODIC_INVALID_ARG', message);
  }
}

/** `VirtualClock.advance()` called while an earlier `advance()` is still running. */
export class ClockBusyError extends ConductorError {
  constructor() {
    super(
      'CONDUCTOR_CLOCK_BUSY',
      'VirtualClock.advance() called while another advance() is in progress; await it first',
    );
  }
}

/** A looping call, scheduler or service started twice. */
export class AlreadyRunningError extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_ALREADY_RUNNING', message);
  }
}

/** `wait()` on something that was never started. */
export class NotStartedError extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_NOT_STARTED', message);
  }
}

/** Raised by the timeout variants of looping calls. */
export class LoopingCallTimeOut extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_LOOPING_TIMEOUT', message);
  }
}

/** A dynamic looping call whose function returned no interval and that has no maximum. */
export class DynamicIntervalMissingError extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_LOOPING_NO_INTERVAL', message);
  }
}

/** True when `err` is a framework error with the given code. */
export function hasErrorCode(err: unknown, code: string): boolean {
  return err instanceof ConductorError && err.code === code;
}

// ---- messaging -------------------------------------------------------------------------------

/** Base of the RPC errors (oslo.messaging's `MessagingException`). */
export class MessagingError extends ConductorError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** No reply arrived within the call's timeout. */
export class MessagingTimeout extends MessagingError {
  constructor(message: string) {
    super('CONDUCTOR_RPC_TIMEOUT', message);
  }
}

/** A target that cannot be used for this operation (no topic, a fanout call, ...). */
export class InvalidTarget extends MessagingError {
  readonly target: unknown;
  constructor(message: string, target?: unknown) {
    super('CONDUCTOR_RPC_INVALID_TARGET', `${message}: ${JSON.stringify(target ?? null)}`);
    this.target = target;
  }
}

/** The endpoints of the requested namespace and version have no such (public) method. */
export class NoSuchMethod extends MessagingError {
  readonly method: string;
  constructor(method: string) {
    super('CONDUCTOR_RPC_NO_SUCH_METHOD', `Endpoint does not support RPC method ${method}`);
    this.method = method;
  }
}

/** No endpoint serves the requested namespace and version. */
export class UnsupportedVersion extends MessagingError {
  readonly version: string;
  readonly method: string | undefined;
  constructor(version: string, method?: string) {
    super(
      'CONDUCTOR_RPC_UNSUPPORTED_VERSION',
      method === undefined
        ? `Endpoint does not support RPC version ${version}`
        : `Endpoint does not support RPC version ${version}. Attempted method: ${method}`,
    );
    this.version = version;
    this.method = method;
  }
}

/** An `oslo.version` envelope this implementation cannot read. */
export class UnsupportedRpcEnvelopeVersion extends MessagingError {
  readonly version: string;
  constructor(version: string) {
    super('CONDUCTOR_RPC_UNSUPPORTED_ENVELOPE', `Envelope version ${version} is not supported`);
    this.version = version;
  }
}

/** The call's version is not allowed by the client's version cap. */
export class RPCVersionCapError extends MessagingError {
  constructor(version: string, versionCap: string) {
    super(
      'CONDUCTOR_RPC_VERSION_CAP',
      `Requested message version, ${version} is incompatible.  It needs to be equal in major version and less than or equal in minor version as the specified version cap ${versionCap}.`,
    );
  }
}

/** A message could not be delivered to the broker (retries exhausted, connection lost). */
export class MessageDeliveryFailure extends MessagingError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONDUCTOR_RPC_DELIVERY_FAILURE', message, options);
  }
}

/** A malformed message received from the wire (bad JSON, missing or mistyped fields, too large). */
export class InvalidRpcMessage extends MessagingError {
  constructor(message: string) {
    super('CONDUCTOR_RPC_INVALID_MESSAGE', message);
  }
}

/** An error raised by the remote endpoint that could not be rebuilt as a local class. */
export class RemoteError extends MessagingError {
  /** The remote exception's class name (e.g. `ValueError`, `VimNotFoundException`). */
  readonly excType: string;
  /** The remote exception's message. */
  readonly value: string;
  /** The remote traceback lines. */
  readonly traceback: readonly string[];
  constructor(excType: string, value: string, traceback: readonly string[] = []) {
    super(
      'CONDUCTOR_RPC_REMOTE_ERROR',
      `Remote error: ${excType} ${value}\n${traceback.join('')}.`,
    );
    this.excType = excType;
    this.value = value;
    this.traceback = traceback;
  }
}

// ---- service ---------------------------------------------------------------------------------

/** `importClass` could not find the module, the export, or the export is not a class. */
export class ImportClassError extends ConductorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONDUCTOR_IMPORT_CLASS', message, options);
  }
}

// ---- config ----------------------------------------------------------------------------------

/** Base of the configuration errors (oslo.config's `cfg.Error`). */
export class ConfigError extends ConductorError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A config file or directory that does not exist, cannot be read or is not valid INI. The message
 * names the file (and the line of a syntax error) but never quotes the file's content.
 */
export class ConfigFileError extends ConfigError {
  /** Absolute path of the file or directory. */
  readonly file: string;
  /** 1-based line of a syntax error. */
  readonly line: number | undefined;
  constructor(file: string, message: string, options?: ErrorOptions & { line?: number }) {
    super('CONDUCTOR_CONFIG_FILE', message, options);
    this.file = file;
    this.line = options?.line;
  }
}

/**
 * A value that does not have its option's type, e.g. `/etc/conductor/conductor.conf [DEFAULT]
 * report_interval: expected an integer >= 0, got 'ten'`. The value of a secret option shows as `***`.
 */
export class ConfigValueError extends ConfigError {
  /** Where the value came from: a file path, `environment variable X`, `command-line option 'x'`. */
  readonly location: string;
  readonly section: string;
  readonly option: string;
  constructor(location: string, section: string, option: string, problem: string) {
    super('CONDUCTOR_CONFIG_VALUE', `${location} [${section}] ${option}: ${problem}`);
    this.location = location;
    this.section = section;
    this.option = option;
  }
}

/** `validate()` found problems (ranges, choices, cross-field rules); every one is listed. */
export class ConfigValidationError extends ConfigError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      'CONDUCTOR_CONFIG_INVALID',
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = Object.freeze([...problems]);
  }
}

/** An option registered twice with different definitions (oslo `DuplicateOptError`). */
export class DuplicateOptError extends ConfigError {
  constructor(section: string, name: string, detail?: string) {
    super(
      'CONDUCTOR_CONFIG_DUPLICATE_OPTION',
      `Duplicate option: ${name} in group [${section}] is already registered with a different definition${detail ? ` (${detail})` : ''}`,
    );
  }
}

/** An option that is not registered (oslo `NoSuchOptError`). */
export class NoSuchOptError extends ConfigError {
  readonly section: string;
  readonly option: string;
  constructor(section: string, name: string, location?: string) {
    super(
      'CONDUCTOR_CONFIG_NO_SUCH_OPTION',
      `${location ? `${location}: ` : ''}no such option ${name} in group [${section}]`,
    );
    this.section = section;
    this.option = name;
  }
}

// ---- conductor storage -----------------------------------------------------------------------

/** A `[database] connection` string that is not a supported SQLAlchemy URL; the password is masked. */
export class DatabaseUrlError extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_DATABASE_URL', message);
  }
}

/** The database could not be opened (folder not creatable, file not openable). */
export class DatabaseOpenError extends ConductorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONDUCTOR_DATABASE_OPEN', message, options);
  }
}

/** A schema migration failed at open; nothing of it is kept where the database allows (PostgreSQL). */
export class DatabaseMigrationError extends ConductorError {
  /** The migration that failed, when one had started. */
  readonly migration: string | undefined;
  constructor(message: string, migration?: string, options?: ErrorOptions) {
    super('CONDUCTOR_DATABASE_MIGRATION', message, options);
    this.migration = migration;
  }
}

/** A store method called after `close()`. */
export class StoreClosedError extends ConductorError {
  constructor() {
    super('CONDUCTOR_STORE_CLOSED', 'The conductor store is closed');
  }
}

/** A VIM registration with a bad field (empty name, unusable auth URL, bad id). */
export class InvalidVimError extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_VIM_INVALID', message);
  }
}

/** A VIM whose id or name is already registered. */
export class VimExistsError extends ConductorError {
  /** Which unique field clashed. */
  readonly field: 'id' | 'name';
  readonly value: string;
  constructor(field: 'id' | 'name', value: string, options?: ErrorOptions) {
    super('CONDUCTOR_VIM_EXISTS', `A VIM with ${field} '${value}' already exists`, options);
    this.field = field;
    this.value = value;
  }
}

/**
 * No VIM with this id (Tacker's `tacker.extensions.nfvo.VimNotFoundException`). The RPC failure
 * codec names a remote error by `name` and `static remoteModule`, so both are Tacker's: a Python
 * peer sees `VimNotFoundException` from `tacker.extensions.nfvo`. Catch it with `instanceof`.
 */
export class VimNotFoundError extends ConductorError {
  /** Module a Python peer looks the class up in (read by the RPC failure codec). */
  static readonly remoteModule = 'tacker.extensions.nfvo';
  /** The Tacker class name of this error (also its `name`). */
  readonly pythonName = 'VimNotFoundException';
  readonly vimId: string;
  /** Tacker's keyword arguments, sent as the failure's `kwargs`. */
  readonly kwargs: { vim_id: string };
  constructor(vimId: string) {
    super('CONDUCTOR_VIM_NOT_FOUND', `VIM ${vimId} could not be found`);
    this.name = this.pythonName;
    this.vimId = vimId;
    this.kwargs = { vim_id: vimId };
  }
}

/** A VIM status outside `VIM_STATUSES`; the message lists the allowed ones. */
export class InvalidVimStatusError extends ConductorError {
  readonly status: unknown;
  constructor(status: unknown, allowed: readonly string[]) {
    super(
      'CONDUCTOR_VIM_INVALID_STATUS',
      `Invalid VIM status ${JSON.stringify(status) ?? String(status)}; expected one of ${allowed.join(', ')}`,
    );
    this.status = status;
  }
}

// ---- ops -------------------------------------------------------------------------------------

/** A health check that failed; the message is what the health report shows (never a stack). */
export class HealthCheckError extends ConductorError {
  /** Name of the check, e.g. `transport`. */
  readonly check: string;
  constructor(check: string, message: string) {
    super('CONDUCTOR_HEALTH_CHECK', message);
    this.check = check;
  }
}

/** The ops endpoint could not listen on its address (in use, not permitted, not an address here). */
export class OpsListenError extends ConductorError {
  /** `host:port` (`[host]:port` for IPv6) the endpoint tried. */
  readonly address: string;
  constructor(address: string, message: string, options?: ErrorOptions) {
    super('CONDUCTOR_OPS_LISTEN', message, options);
    this.address = address;
  }
}

/** An RPC call to the conductor with missing or mistyped arguments; nothing was changed. */
export class InvalidRpcArgumentError extends ConductorError {
  constructor(message: string) {
    super('CONDUCTOR_INVALID_RPC_ARGUMENT', message);
    // Python peers rebuild it as a builtin ValueError, as a Tacker endpoint's argument check raises.
    this.name = 'ValueError';
  }
}
