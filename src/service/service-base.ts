/**
 * What a launcher runs (oslo.service's `ServiceBase`): start, stop, wait, reset. `kill` is optional.
 */
export interface ServiceBase {
  /** Starts the service; rejects if it cannot (the launcher then exits non-zero). */
  start(): Promise<void>;
  /**
   * Graceful stop: take no new work, let work in progress finish. Resolves when stopping has been
   * initiated and in-flight work has been told to finish; {@link wait} resolves when it has.
   */
  stop(): Promise<void>;
  /** Resolves when the service has really stopped. */
  wait(): Promise<void>;
  /** Called between stop() and start() when the configuration was reloaded (SIGHUP). */
  reset(): Promise<void> | void;
  /** Immediate stop: nothing is waited for. */
  kill?(): Promise<void> | void;
}
