import { type ConfigView, defineOptions, opt } from '../config/index.js';
import { rabbitOptions } from './drivers/rabbit/options.js';

/** `[DEFAULT]` options of oslo.messaging (transport, RPC client and server), Tacker's defaults. */
export const messagingOptions = defineOptions({
  group: 'DEFAULT',
  label: 'messaging option',
  options: {
    transport_url: opt.string({
      default: 'memory://',
      secret: 'url',
      help: "The network address and optional user credentials for connecting to the messaging backend, in URL format: 'driver://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host?query' (rabbit://, amqp://, or memory:// for a single process).",
    }),
    control_exchange: opt.string({
      default: 'openstack',
      help: 'The default exchange under which topics are scoped (Tacker sets tacker).',
    }),
    rpc_response_timeout: opt.int({
      default: 60,
      min: 1,
      help: 'Seconds to wait for a response from a call.',
    }),
    executor_thread_pool_size: opt.int({
      default: 64,
      min: 1,
      deprecatedNames: ['rpc_thread_pool_size'],
      help: 'Number of RPC requests a server handles at once (also its prefetch).',
    }),
  },
});

/** What `getRpcTransport()` takes, read from a configuration. */
export interface RpcTransportConfig {
  /** `[DEFAULT] transport_url` — holds the password: never log it, log `maskUrlPassword(...)`. */
  readonly transportUrl: string;
  readonly controlExchange: string;
  readonly rpcResponseTimeout: number;
  /** `[oslo_messaging_rabbit]`, validated (the driver takes it as it is). */
  readonly rabbit: Readonly<Record<string, unknown>>;
}

/**
 * The transport options of a loaded configuration where {@link messagingOptions} and
 * `rabbitOptions` are registered: `getRpcTransport({ ...rpcTransportOptions(conf), clock })`.
 */
export function rpcTransportOptions(conf: ConfigView): RpcTransportConfig {
  const m = messagingOptions.read(conf);
  return {
    transportUrl: m.transport_url,
    controlExchange: m.control_exchange,
    rpcResponseTimeout: m.rpc_response_timeout,
    rabbit: rabbitOptions.read(conf),
  };
}

/** `getRpcServer(..., rpcServerOptions(conf))`: `executorPoolSize` from `executor_thread_pool_size`. */
export function rpcServerOptions(conf: ConfigView): { executorPoolSize: number } {
  return { executorPoolSize: messagingOptions.read(conf).executor_thread_pool_size };
}
