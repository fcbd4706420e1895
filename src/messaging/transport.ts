import { type Clock, getLogger, InvalidRpcOption, type Logger, realClock } from '../core/index.js';
import type { Driver } from './driver.js';
import { MemoryDriver } from './drivers/memory.js';
import { messagingOptions } from './options.js';
import { maskTransportUrl, parseTransportUrl, type TransportUrl } from './url.js';

/** Options of {@link getRpcTransport}. */
export interface TransportOptions {
  /** `memory://[name]` (default) or `rabbit://user:pass@host:port[,host2:port2]/vhost[?ssl=1]`. */
  transportUrl?: string;
  /** Exchange of targets that name none (oslo `control_exchange`; Tacker sets `tacker`). Default `openstack`. */
  controlExchange?: string;
  /** Default call timeout in seconds (oslo `rpc_response_timeout`). Default 60. */
  rpcResponseTimeout?: number;
  /** Time source of timeouts and heartbeats. */
  clock?: Clock;
  logger?: Logger;
  /** Driver options of the RabbitMQ transport (the `[oslo_messaging_rabbit]` section). */
  rabbit?: Record<string, unknown>;
}

/** Builds a driver for a parsed URL; the RabbitMQ one is registered by its module. */
export type DriverFactory = (
  url: TransportUrl,
  options: ResolvedTransportOptions,
) => Promise<Driver>;

/** Options after defaults, as a driver factory sees them. */
export interface ResolvedTransportOptions {
  readonly controlExchange: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly rabbit: Readonly<Record<string, unknown>>;
}

/** A connection to a messaging backend, shared by the clients and servers of a process. */
export class Transport {
  /** The URL with passwords masked. */
  readonly url: string;
  readonly controlExchange: string;
  readonly rpcResponseTimeout: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** @internal The backend. */
  readonly driver: Driver;

  constructor(
    driver: Driver,
    url: string,
    options: ResolvedTransportOptions & { rpcResponseTimeout: number },
  ) {
    this.driver = driver;
    this.url = maskTransportUrl(url);
    this.controlExchange = options.controlExchange;
    this.rpcResponseTimeout = options.rpcResponseTimeout;
    this.clock = options.clock;
    this.logger = options.logger;
  }

  /** True while the backend is reachable. */
  get connected(): boolean {
    return this.driver.connected;
  }

  /** Closes every connection; calls still waiting fail. */
  close(): Promise<void> {
    return this.driver.close();
  }
}

function validate(o: TransportOptions): void {
  if (
    o.controlExchange !== undefined &&
    (typeof o.controlExchange !== 'string' || o.controlExchange === '')
  ) {
    throw new InvalidRpcOption('controlExchange must be a non-empty string');
  }
  if (
    o.rpcResponseTimeout !== undefined &&
    !(o.rpcResponseTimeout > 0 && Number.isFinite(o.rpcResponseTimeout))
  ) {
    throw new InvalidRpcOption(
      `rpcResponseTimeout must be a positive number of seconds, got ${String(o.rpcResponseTimeout)}`,
    );
  }
}

/** Opens a transport for RPC (oslo `get_rpc_transport`). */
export async function getRpcTransport(options: TransportOptions = {}): Promise<Transport> {
  validate(options);
  const d = messagingOptions.defaults;
  const url = options.transportUrl ?? d.transport_url;
  const parsed = parseTransportUrl(url);
  const resolved = {
    controlExchange: options.controlExchange ?? d.control_exchange,
    clock: options.clock ?? realClock,
    logger: options.logger ?? getLogger('messaging'),
    rabbit: options.rabbit ?? {},
    rpcResponseTimeout: options.rpcResponseTimeout ?? d.rpc_response_timeout,
  };
  let driver: Driver;
  if (parsed.transport === 'memory') {
    const name = parsed.hosts[0]?.hostname ?? parsed.virtualHost ?? '';
    driver = new MemoryDriver(name, resolved.controlExchange, resolved.clock);
  } else {
    const { createRabbitDriver } = await import('./drivers/rabbit/index.js');
    driver = await createRabbitDriver(parsed, resolved);
  }
  return new Transport(driver, url, resolved);
}
