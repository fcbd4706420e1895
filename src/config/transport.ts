import type { ConfigView } from './types.js';

/** What `getRpcTransport()` (conductor-ts/messaging `TransportOptions`) takes, read from config. */
export interface RpcTransportConfig {
  /** `[DEFAULT] transport_url` — holds the password: never log it, log `maskUrlPassword(...)`. */
  readonly transportUrl: string;
  readonly controlExchange: string;
  readonly rpcResponseTimeout: number;
  /** `[oslo_messaging_rabbit]`, unset options left out. */
  readonly rabbit: Record<string, unknown>;
}

/**
 * The transport options from the built-in `[DEFAULT]` messaging options and the
 * `[oslo_messaging_rabbit]` section: `getRpcTransport({ ...rpcTransportOptions(conf), clock })`.
 * (config does not import messaging; the shape is structurally the same.)
 */
export function rpcTransportOptions(
  conf: ConfigView & { section(section: string): Record<string, unknown> },
): RpcTransportConfig {
  return {
    transportUrl: conf.get<string>('DEFAULT', 'transport_url'),
    controlExchange: conf.get<string>('DEFAULT', 'control_exchange'),
    rpcResponseTimeout: conf.get<number>('DEFAULT', 'rpc_response_timeout'),
    rabbit: conf.section('oslo_messaging_rabbit'),
  };
}

/** `getRpcServer(..., rpcServerOptions(conf))`: `executorPoolSize` from `executor_thread_pool_size`. */
export function rpcServerOptions(conf: ConfigView): { executorPoolSize: number } {
  return { executorPoolSize: conf.get<number>('DEFAULT', 'executor_thread_pool_size') };
}
