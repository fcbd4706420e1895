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
