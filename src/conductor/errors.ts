/**
 * The conductor's rows of the error catalogue: its database and its VIMs. Defined here, beside the
 * code that throws them, with core's `defineError`, so they are listed in `errorCatalogue()` (and
 * the README's table) with the framework's.
 */
import { ConductorError, defineError, InvalidOptionError, NotStartedError } from '../core/index.js';

/** A `[database] connection` string that is not a supported SQLAlchemy URL; the password is masked. */
export class DatabaseUrlError extends defineError(
  'CONDUCTOR_DATABASE_URL',
  'DatabaseUrlError',
  ConductorError,
  '%s',
) {}

/**
 * The database could not be opened (folder not creatable, file not openable), or a store call found
 * the server unreachable or lost its connection (PostgreSQL restarting or down): such a call wrote
 * nothing, unless its message says the outcome is unknown (a lost `COMMIT`).
 */
export class DatabaseOpenError extends defineError(
  'CONDUCTOR_DATABASE_OPEN',
  'DatabaseOpenError',
  ConductorError,
  '%s',
) {}

/**
 * A store call found the database server unreachable, or lost its connection before its write
 * was sent (PostgreSQL restarting or down): nothing was written, and a retry later may succeed.
 */
export class DatabaseUnavailable extends defineError(
  'CONDUCTOR_DATABASE_UNAVAILABLE',
  'DatabaseUnavailable',
  DatabaseOpenError,
  '%s',
) {}

/**
 * The connection was lost after a write's `COMMIT` (or its one writing statement) was sent and
 * before the answer: the change may or may not have been written. Read it back before retrying.
 */
export class DatabaseOutcomeUnknown extends defineError(
  'CONDUCTOR_DATABASE_OUTCOME_UNKNOWN',
  'DatabaseOutcomeUnknown',
  DatabaseOpenError,
  '%s',
) {}

/** A schema migration failed at open; nothing of it is kept where the database allows (PostgreSQL). */
export class DatabaseMigrationError extends defineError(
  'CONDUCTOR_DATABASE_MIGRATION',
  'DatabaseMigrationError',
  ConductorError,
  '%s',
) {
  /** The migration that failed, when one had started. */
  readonly migration: string | undefined;
  constructor(message: string, migration?: string, options?: ErrorOptions) {
    super(message, options);
    this.migration = migration;
  }
}

/** A store method called after `close()`. */
export class StoreClosedError extends defineError(
  'CONDUCTOR_STORE_CLOSED',
  'StoreClosedError',
  ConductorError,
  'The conductor store is closed',
) {}

/** The conductor's store used before `initHost()` opened it. */
export class StoreNotOpenError extends defineError(
  'CONDUCTOR_STORE_NOT_OPEN',
  'StoreNotOpenError',
  NotStartedError,
  'The conductor has no database yet: it opens it in initHost()',
) {}

/** A store method called with a bad argument (a limit, a service key, a date); nothing was written. */
export class InvalidStoreArgument extends defineError(
  'CONDUCTOR_STORE_INVALID_ARGUMENT',
  'InvalidStoreArgument',
  InvalidOptionError,
  '%s',
) {}

/** Bad options of the VIM monitor's probes (timeout, concurrency). */
export class InvalidProbeOption extends defineError(
  'CONDUCTOR_VIM_PROBE_OPTION',
  'InvalidProbeOption',
  InvalidOptionError,
  '%s',
) {}

/** A VIM registration with a bad field (empty name, unusable auth URL, bad id). */
export class InvalidVimError extends defineError(
  'CONDUCTOR_VIM_INVALID',
  'InvalidVimError',
  ConductorError,
  '%s',
) {}

/** A VIM whose id or name is already registered. */
export class VimExistsError extends defineError(
  'CONDUCTOR_VIM_EXISTS',
  'VimExistsError',
  ConductorError,
  "A VIM with %s '%s' already exists",
) {
  /** Which unique field clashed. */
  readonly field: 'id' | 'name';
  readonly value: string;
  constructor(field: 'id' | 'name', value: string, options?: ErrorOptions) {
    super(field, value, options);
    this.field = field;
    this.value = value;
  }
}

/**
 * No VIM with this id (Tacker's `tacker.extensions.nfvo.VimNotFoundException`). The RPC failure
 * codec names a remote error by `name` and `static remoteModule`, so both are Tacker's: a Python
 * peer sees `VimNotFoundException` from `tacker.extensions.nfvo`. Catch it with `instanceof`.
 */
export class VimNotFoundError extends defineError(
  'CONDUCTOR_VIM_NOT_FOUND',
  'VimNotFoundError',
  ConductorError,
  'VIM %s could not be found',
) {
  /** Module a Python peer looks the class up in (read by the RPC failure codec). */
  static readonly remoteModule = 'tacker.extensions.nfvo';
  /** The Tacker class name of this error (also its `name`). */
  readonly pythonName = 'VimNotFoundException';
  readonly vimId: string;
  /** Tacker's keyword arguments, sent as the failure's `kwargs`. */
  readonly kwargs: { vim_id: string };
  constructor(vimId: string) {
    super(vimId);
    this.name = this.pythonName;
    this.vimId = vimId;
    this.kwargs = { vim_id: vimId };
  }
}

/** A VIM status outside `VIM_STATUSES`; the message lists the allowed ones. */
export class InvalidVimStatusError extends defineError(
  'CONDUCTOR_VIM_INVALID_STATUS',
  'InvalidVimStatusError',
  ConductorError,
  'Invalid VIM status %s; expected one of %s',
) {
  readonly status: unknown;
  constructor(status: unknown, allowed: readonly string[]) {
    super(JSON.stringify(status) ?? String(status), allowed.join(', '));
    this.status = status;
  }
}

/** An RPC call to the conductor with missing or mistyped arguments; nothing was changed. */
export class InvalidRpcArgumentError extends defineError(
  'CONDUCTOR_INVALID_RPC_ARGUMENT',
  'InvalidRpcArgumentError',
  ConductorError,
  '%s',
) {
  constructor(message: string) {
    super(message);
    // Python peers rebuild it as a builtin ValueError, as a Tacker endpoint's argument check raises.
    this.name = 'ValueError';
  }
}
