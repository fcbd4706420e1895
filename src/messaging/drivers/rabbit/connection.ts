import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { type ChannelModel, connect, credentials } from 'amqplib';
import { type Clock, type Logger, MessageDeliveryFailure } from '../../../core/index.js';
import type { RabbitOptions } from './options.js';
import { errorText, Notifier, pause, waitChange } from './util.js';

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
  readonly clock: Clock;
}

/** Called on every new connection, before it counts as ready: open channels, declare, consume. */
export type SetupFn = (conn: ChannelModel) => Promise<void>;

/** `<argv[1] basename>:<pid>:<uuid4>`, the connection name oslo.messaging sends. */
export function connectionName(): string {
  const script = process.argv[1] ? basename(process.argv[1]) : 'node';
  return `${script}:${process.pid}:${randomUUID()}`;
}

/**
 * Delay before reconnection attempt number `failures` (1-based), kombu style: starts at
 * `rabbit_retry_interval`, grows by `rabbit_retry_backoff` per failure, capped at
 * `rabbit_interval_max` (1, 3, 5, ... 30 s with the defaults).
 */
export function retryDelay(o: RabbitOptions, failures: number): number {
  const d = o.rabbit_retry_interval + o.rabbit_retry_backoff * Math.max(0, failures - 1);
  return Math.min(d, o.rabbit_interval_max);
}

/**
 * One AMQP connection kept open: connects (hosts round-robin), runs `setup` on every new
 * connection, and after a loss reconnects with back-off and runs `setup` again, so that channels,
 * declarations and consumers are restored. With `failFast`, a failing first `setup` (e.g. a
 * declaration the broker refuses) is fatal instead of retried.
 */
export class ManagedConnection {
  readonly name: string;
  readonly #config: ConnectionConfig;
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
  #loop: Promise<void> | undefined;
  #firstAttempt: Promise<void> | undefined;

  constructor(name: string, config: ConnectionConfig, setup: SetupFn, failFast = false) {
    this.name = name;
    this.#config = config;
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
            { connection: this.name, err: errorText(err) },
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
      if (!(await waitChange(this.#changed, this.#config.clock, deadline))) {
        if (this.connection) continue;
        throw new MessageDeliveryFailure(
          `Could not ${what}: no connection to the AMQP server (${this.#hosts()}) in time`,
        );
      }
    }
  }

  /** Drops the current connection (if any) so that a fresh one is set up. */
  reset(reason: string): void {
    const conn = this.#conn;
    if (!conn || this.#closed) return;
    this.#log.warn({ connection: this.name, reason }, 'Resetting the AMQP connection');
    conn.close().catch(() => undefined);
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    if (this.#closed) return this.#loop;
    this.#closed = true;
    this.#ready = false;
    this.#stop.abort();
    this.#changed.notify();
    const conn = this.#conn;
    if (conn) await withTimeout(conn.close(), 5).catch(() => undefined);
    // A connection attempt in progress may take up to rabbit_connect_timeout; the loop closes
    // what it gets, no need to wait for it.
    if (this.#loop) await Promise.race([this.#loop, pause(1)]);
  }

  #hosts(): string {
    return this.#config.endpoints.map((e) => `${e.hostname}:${e.port}`).join(',');
  }

  async #run(firstAttemptDone: () => void): Promise<void> {
    const o = this.#config.options;
    let failures = 0;
    while (!this.#closed) {
      const endpoint = this.#config.endpoints[
        this.#hostIndex++ % this.#config.endpoints.length
      ] as BrokerEndpoint;
      const where = `${endpoint.hostname}:${endpoint.port}`;
      let conn: ChannelModel;
      try {
        conn = await this.#open(endpoint);
        coalesceWrites(conn);
      } catch (err) {
        failures++;
        const delay = retryDelay(o, failures);
        this.#log.error(
          {
            connection: this.name,
            host: where,
            vhost: this.#config.virtualHost,
            err: errorText(err),
          },
          `AMQP server on ${where} is unreachable: ${errorText(err)}. Trying again in ${delay} seconds.`,
        );
        firstAttemptDone();
        await pause(delay, this.#stop.signal);
        continue;
      }
      if (this.#closed) {
        await withTimeout(conn.close(), 5).catch(() => undefined);
        break;
      }
      const lost = new Promise<unknown>((resolve) => conn.once('close', resolve));
      conn.on('error', (err: unknown) =>
        this.#log.warn(
          { connection: this.name, host: where, err: errorText(err) },
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
        this.#log.info(
          { connection: this.name, host: where },
          'The broker unblocked the connection',
        ),
      );
      this.#conn = conn;
      try {
        await this.#setup(conn);
      } catch (err) {
        if (this.#failFast && !this.#everReady && !this.#closed) {
          this.#fatal = err instanceof Error ? err : new Error(String(err));
          this.#closed = true;
          this.#conn = undefined;
          await withTimeout(conn.close(), 5).catch(() => undefined);
          this.#changed.notify();
          return;
        }
        failures++;
        const delay = retryDelay(o, failures);
        if (!this.#closed) {
          this.#log.error(
            { connection: this.name, host: where, err: errorText(err) },
            `Setting up the AMQP connection to ${where} failed: ${errorText(err)}. Trying again in ${delay} seconds.`,
          );
        }
        await withTimeout(conn.close(), 5).catch(() => undefined);
        await withTimeout(lost, 5).catch(() => undefined);
        this.#conn = undefined;
        firstAttemptDone();
        await pause(delay, this.#stop.signal);
        continue;
      }
      if (this.#closed) {
        await withTimeout(conn.close(), 5).catch(() => undefined);
        break;
      }
      failures = 0;
      this.#ready = true;
      this.#everReady = true;
      this.#log.info(
        { connection: this.name, host: where },
        `Connected to AMQP server on ${where}`,
      );
      this.#changed.notify();
      firstAttemptDone();
      const reason = await lost;
      this.#ready = false;
      this.#conn = undefined;
      this.#changed.notify();
      if (this.#closed) break;
      const delay = o.kombu_reconnect_delay;
      this.#log.error(
        {
          connection: this.name,
          host: where,
          err: reason === undefined ? undefined : errorText(reason),
        },
        `Connection to AMQP server on ${where} lost${reason === undefined ? '' : `: ${errorText(reason)}`}. Reconnecting in ${delay} seconds.`,
      );
      await pause(delay, this.#stop.signal);
    }
  }

  #open(e: BrokerEndpoint): Promise<ChannelModel> {
    const { options: o, tls } = this.#config;
    const cred =
      o.rabbit_login_method === 'EXTERNAL'
        ? credentials.external()
        : o.rabbit_login_method === 'PLAIN'
          ? credentials.plain(e.username, e.password)
          : credentials.amqplain(e.username, e.password);
    return connect(
      {
        protocol: tls ? 'amqps' : 'amqp',
        hostname: e.hostname,
        port: e.port,
        // The login goes through `credentials` below.
        locale: 'en_US',
        frameMax: 131072,
        heartbeat: o.heartbeat_timeout_threshold,
        // amqplib unescapes the vhost once.
        vhost: encodeURIComponent(this.#config.virtualHost),
      },
      {
        ...(tls ?? {}),
        servername: e.hostname,
        credentials: cred,
        noDelay: true,
        timeout: o.rabbit_connect_timeout * 1000,
        clientProperties: { product: 'conductor-ts', connection_name: connectionName() },
      },
    );
  }
}

/** Rejects when `p` takes more than `seconds` (real time). */
export function withTimeout<T>(p: Promise<T>, seconds: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${seconds} s`)),
      seconds * 1000,
    );
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * amqplib writes every frame with its own socket write; under load that is one syscall per frame.
 * Corking the socket on the first write of an event-loop turn and uncorking on the next tick sends a
 * turn's frames in one `writev`, without delaying any of them past the current turn.
 */
function coalesceWrites(conn: ChannelModel): void {
  const stream = (
    conn as unknown as {
      connection?: {
        stream?: NodeJS.WritableStream & {
          cork?: () => void;
          uncork?: () => void;
          write: (...a: unknown[]) => boolean;
        };
      };
    }
  ).connection?.stream;
  if (!stream || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
  const write = stream.write.bind(stream);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork?.();
  };
  stream.write = (...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      stream.cork?.();
      process.nextTick(uncork);
    }
    return write(...args);
  };
}
