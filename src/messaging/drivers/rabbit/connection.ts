import type { ChannelModel } from 'amqplib';
import {
  type Clock,
  errorMessage,
  type Logger,
  MessageDeliveryFailure,
  toError,
} from '../../../core/index.js';
import { openConnection } from './open.js';
import type { RabbitOptions } from './options.js';
import { Notifier, pause, waitChange, withTimeout } from './util.js';

/** One broker address with its credentials. */
export interface BrokerEndpoint {
  readonly hostname: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
}

/** Everything needed to open connections to the broker. */
export interface ConnectionConfig {
  readonly endpoints: readonly BrokerEndpoint[];
  readonly virtualHost: string;
  readonly options: RabbitOptions;
  /** TLS socket options (ca, cert, key, rejectUnauthorized), or undefined for plain AMQP. */
  readonly tls: Readonly<Record<string, unknown>> | undefined;
  readonly logger: Logger;
  /** Every pause, back-off and timeout of the driver runs on it. */
  readonly clock: Clock;
}

/** Called on every new connection, before it counts as ready: open channels, declare, consume. */
export type SetupFn = (conn: ChannelModel) => Promise<void>;

/** Seconds a connection's close (or the wait for its `close` event) may take. */
const CLOSE_TIMEOUT = 5;
/** Seconds {@link ManagedConnection.close} waits for the loop to end. */
const STOP_TIMEOUT = 1;

/**
 * Delay before reconnection attempt number `failures` (1-based), kombu style: starts at
 * `rabbit_retry_interval`, grows by `rabbit_retry_backoff` per failure, capped at
 * `rabbit_interval_max` (1, 3, 5, ... 30 s with the defaults).
 */
export function retryDelay(o: RabbitOptions, failures: number): number {
  const d = o.rabbit_retry_interval + o.rabbit_retry_backoff * Math.max(0, failures - 1);
  return Math.min(d, o.rabbit_interval_max);
}

/** How the set-up of a new connection ended. */
type SetUpOutcome = 'ready' | 'failed' | 'fatal';

/**
 * One AMQP connection kept open: connects (hosts round-robin), runs `setup` on every new
 * connection, and after a loss reconnects with back-off and runs `setup` again, so that channels,
 * declarations and consumers are restored. With `failFast`, a failing first `setup` (e.g. a
 * declaration the broker refuses) is fatal instead of retried.
 *
 * Pauses: `kombu_reconnect_delay` after a loss, then {@link retryDelay} after each failed attempt
 * (connect or set-up), all on the config's clock.
 */
export class ManagedConnection {
  readonly name: string;
  readonly #config: ConnectionConfig;
  readonly #clock: Clock;
  readonly #setup: SetupFn;
  readonly #failFast: boolean;
  readonly #log: Logger;
  readonly #changed = new Notifier();
  readonly #stop = new AbortController();
  #conn: ChannelModel | undefined;
  #ready = false;
  #everReady = false;
  #closed = false;
  #fatal: Error | undefined;
  #hostIndex = 0;
  /** Why the last attempt failed (connect or set-up), for the errors of those waiting. */
  #lastFailure: string | undefined;
  #loop: Promise<void> | undefined;
  #firstAttempt: Promise<void> | undefined;

  constructor(name: string, config: ConnectionConfig, setup: SetupFn, failFast = false) {
    this.name = name;
    this.#config = config;
    this.#clock = config.clock;
    this.#setup = setup;
    this.#failFast = failFast;
    this.#log = config.logger;
  }

  /** True while connected and set up. */
  get ready(): boolean {
    return this.#ready && !this.#closed;
  }

  /** The live connection (only while {@link ready}). */
  get connection(): ChannelModel | undefined {
    return this.ready ? this.#conn : undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts the connection loop; resolves after the first attempt, whatever its outcome. */
  start(): Promise<void> {
    if (!this.#firstAttempt) {
      let first!: () => void;
      this.#firstAttempt = new Promise<void>((resolve) => (first = resolve));
      this.#loop = this.#run(first)
        .catch((err: unknown) =>
          this.#log.error(
            { connection: this.name, err: errorMessage(err) },
            'AMQP connection loop failed',
          ),
        )
        .finally(first);
    }
    return this.#firstAttempt;
  }

  /**
   * Resolves once connected and set up. Rejects with {@link MessageDeliveryFailure} when the
   * deadline (clock seconds) passes first or the connection is closed, or with the fatal setup
   * error of a fail-fast connection.
   */
  async waitReady(deadline = Infinity, what = 'connect'): Promise<ChannelModel> {
    void this.start();
    for (;;) {
      if (this.#fatal) throw this.#fatal;
      if (this.#closed) throw new MessageDeliveryFailure('Transport is closed');
      const conn = this.connection;
      if (conn) return conn;
      if (!(await waitChange(this.#changed, this.#clock, deadline))) {
        if (this.connection) continue;
        const last = this.#lastFailure === undefined ? '' : `; last attempt: ${this.#lastFailure}`;
        throw new MessageDeliveryFailure(
          `Could not ${what}: no connection to the AMQP server (${this.#hosts()}) in time${last}`,
        );
      }
    }
  }

  /** Drops the current connection (if any) so that a fresh one is set up. */
  reset(reason: string): void {
    const conn = this.#conn;
    if (!conn || this.#closed) return;
    this.#log.warn({ connection: this.name, reason }, 'Resetting the AMQP connection');
    conn
      .close()
      .catch((err: unknown) =>
        this.#log.debug(
          { connection: this.name, err: errorMessage(err) },
          'Could not close the AMQP connection being reset (it is closing already)',
        ),
      );
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    if (this.#closed) return this.#loop;
    this.#closed = true;
    this.#ready = false;
    this.#stop.abort();
    this.#changed.notify();
    const conn = this.#conn;
    if (conn) await this.#closeConnection(conn);
    // A connection attempt in progress may take up to rabbit_connect_timeout; the loop closes
    // what it gets, no need to wait for it.
    if (this.#loop) {
      await withTimeout(this.#loop, STOP_TIMEOUT, this.#clock, 'Stopping the AMQP connection loop')
        // The loop never rejects (start() catches): this is the timeout, logged, not waited out.
        .catch((err: unknown) =>
          this.#log.debug(
            { connection: this.name, err: errorMessage(err) },
            'Not waiting for a connection attempt in progress (it closes what it gets)',
          ),
        );
    }
  }

  #hosts(): string {
    return this.#config.endpoints.map((e) => `${e.hostname}:${e.port}`).join(',');
  }

  /** Connect, set up, serve until lost; back off after a failure or a loss; until closed. */
  async #run(firstAttemptDone: () => void): Promise<void> {
    const o = this.#config.options;
    let failures = 0;
    while (!this.#closed) {
      const endpoint = this.#config.endpoints[
        this.#hostIndex++ % this.#config.endpoints.length
      ] as BrokerEndpoint;
      const where = `${endpoint.hostname}:${endpoint.port}`;
      // The pause after this attempt, should it fail.
      const delay = retryDelay(o, failures + 1);
      const attempt = await this.#attempt(endpoint, where, delay);
      if (attempt.outcome !== 'ready') {
        if (attempt.outcome === 'fatal') return;
        if (attempt.outcome === 'closed') break;
        failures++;
        firstAttemptDone();
        await this.#backOff(delay);
        continue;
      }
      failures = 0;
      this.#lastFailure = undefined;
      this.#ready = true;
      this.#everReady = true;
      this.#log.info(
        { connection: this.name, host: where },
        `Connected to AMQP server on ${where}`,
      );
      this.#changed.notify();
      firstAttemptDone();
      await this.#serve(attempt.lost, where);
      if (this.#closed) break;
      await this.#backOff(o.kombu_reconnect_delay);
    }
  }

  /**
   * One attempt: connect, then set up. `failed` is retried after `delay`; `closed`: the connection
   * was closed meanwhile (what was opened is closed again); `ready` comes with the promise of its loss.
   */
  async #attempt(
    endpoint: BrokerEndpoint,
    where: string,
    delay: number,
  ): Promise<
    { outcome: 'failed' | 'fatal' | 'closed' } | { outcome: 'ready'; lost: Promise<unknown> }
  > {
    const conn = await this.#connect(endpoint, where, delay);
    if (conn === undefined) return { outcome: 'failed' };
    if (this.#closed) {
      await this.#closeConnection(conn);
      return { outcome: 'closed' };
    }
    const lost = new Promise<unknown>((resolve) => conn.once('close', resolve));
    this.#watch(conn, where);
    const outcome = await this.#setUp(conn, lost, where, delay);
    if (outcome !== 'ready') return { outcome };
    if (this.#closed) {
      await this.#closeConnection(conn);
      return { outcome: 'closed' };
    }
    return { outcome: 'ready', lost };
  }

  /** Opens a connection to `endpoint`; a failure is logged (with the pause to come), not thrown. */
  async #connect(
    endpoint: BrokerEndpoint,
    where: string,
    delay: number,
  ): Promise<ChannelModel | undefined> {
    try {
      return await openConnection(this.#config, endpoint);
    } catch (err) {
      this.#lastFailure = `${where} is unreachable: ${errorMessage(err)}`;
      this.#log.error(
        {
          connection: this.name,
          host: where,
          vhost: this.#config.virtualHost,
          err: errorMessage(err),
        },
        `AMQP server on ${where} is unreachable: ${errorMessage(err)}. Trying again in ${delay} seconds.`,
      );
      return undefined;
    }
  }

  /**
   * Runs the owner's set-up on `conn` (`lost`: its close). A failure closes it ('failed', retried
   * after `delay`) or, on a fail-fast connection never ready before, this for good ('fatal').
   */
  async #setUp(
    conn: ChannelModel,
    lost: Promise<unknown>,
    where: string,
    delay: number,
  ): Promise<SetUpOutcome> {
    this.#conn = conn;
    try {
      await this.#setup(conn);
      return 'ready';
    } catch (err) {
      if (this.#failFast && !this.#everReady && !this.#closed) {
        this.#fatal = toError(err);
        this.#closed = true;
        this.#conn = undefined;
        await this.#closeConnection(conn);
        this.#changed.notify();
        return 'fatal';
      }
      if (!this.#closed) {
        this.#lastFailure = `setting up ${where} failed: ${errorMessage(err)}`;
        this.#log.error(
          { connection: this.name, host: where, err: errorMessage(err) },
          `Setting up the AMQP connection to ${where} failed: ${errorMessage(err)}. Trying again in ${delay} seconds.`,
        );
      }
      await this.#closeConnection(conn);
      await withTimeout(
        lost,
        CLOSE_TIMEOUT,
        this.#clock,
        'Waiting for the AMQP connection to close',
      )
        // Its socket is gone either way: the next attempt opens a new one.
        .catch(() => undefined);
      this.#conn = undefined;
      return 'failed';
    }
  }

  /** Waits until the ready connection is lost (or closed), then logs the loss unless closing. */
  async #serve(lost: Promise<unknown>, where: string): Promise<void> {
    const reason = await lost;
    this.#ready = false;
    this.#conn = undefined;
    this.#changed.notify();
    if (this.#closed) return;
    const text = reason === undefined ? undefined : errorMessage(reason);
    this.#log.error(
      { connection: this.name, host: where, err: text },
      `Connection to AMQP server on ${where} lost${text === undefined ? '' : `: ${text}`}. Reconnecting in ${this.#config.options.kombu_reconnect_delay} seconds.`,
    );
  }

  /** The pause before the next attempt, on the clock; ends at once when the connection closes. */
  #backOff(seconds: number): Promise<void> {
    return pause(this.#clock, seconds, this.#stop.signal);
  }

  /** Logs the connection's errors and the broker's flow control. */
  #watch(conn: ChannelModel, where: string): void {
    conn.on('error', (err: unknown) =>
      this.#log.warn(
        { connection: this.name, host: where, err: errorMessage(err) },
        'AMQP connection error',
      ),
    );
    conn.on('blocked', (reason: unknown) =>
      this.#log.warn(
        { connection: this.name, host: where, reason },
        'The broker blocked the connection',
      ),
    );
    conn.on('unblocked', () =>
      this.#log.info({ connection: this.name, host: where }, 'The broker unblocked the connection'),
    );
  }

  /** Closes `conn` within {@link CLOSE_TIMEOUT}; a failure or timeout is only logged at debug. */
  async #closeConnection(conn: ChannelModel): Promise<void> {
    try {
      await withTimeout(conn.close(), CLOSE_TIMEOUT, this.#clock, 'Closing the AMQP connection');
    } catch (err) {
      this.#log.debug(
        { connection: this.name, err: errorMessage(err) },
        'Could not close the AMQP connection cleanly (the broker drops it with the socket)',
      );
    }
  }
}
