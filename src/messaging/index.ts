/**
 * `conductor-ts/messaging`: oslo.messaging RPC — targets, transports (`memory://`, `rabbit://`),
 * clients, servers, the dispatcher and its access policy. Imports only `core`.
 * @packageDocumentation
 */
export { Target, type TargetFields } from './target.js';
export {
  messagingOptions,
  rpcTransportOptions,
  rpcServerOptions,
  type RpcTransportConfig,
} from './options.js';
export {
  rabbitOptions,
  DEFAULT_RABBIT_OPTIONS,
  RABBIT_OPTION_NAMES,
  type RabbitOptions,
} from './drivers/rabbit/options.js';
export { isCompatible, parseVersion } from './version.js';
export {
  parseTransportUrl,
  maskTransportUrl,
  type TransportUrl,
  type TransportHost,
} from './url.js';
export {
  getRpcTransport,
  Transport,
  type TransportOptions,
  type DriverFactory,
  type ResolvedTransportOptions,
} from './transport.js';
export type {
  Driver,
  DriverListener,
  IncomingMessage,
  ListenOptions,
  SendOptions,
} from './driver.js';
export { RpcClient, type RpcClientOptions, type PrepareOptions } from './client.js';
export {
  getRpcServer,
  RpcServer,
  type RpcServerOptions,
  type RpcDispatchEvent,
  UNKNOWN_METHOD,
} from './server.js';
export {
  RpcDispatcher,
  readRequest,
  type RpcRequest,
  type RpcDispatcherOptions,
} from './dispatcher.js';
export {
  DefaultRpcAccessPolicy,
  ExplicitRpcAccessPolicy,
  type RpcAccessPolicy,
} from './access-policy.js';
export { DictContextSerializer, RequestContextSerializer, type Serializer } from './serializer.js';
export { encodeEnvelope, decodeEnvelope, popContext, ENVELOPE_VERSION } from './envelope.js';
export {
  serializeRemoteException,
  deserializeRemoteException,
  parseRemoteFailure,
  remoteKwargsOf,
  type RemoteFailure,
  DISPATCHER_MODULE,
} from './failure.js';
export { parseWireJson } from './json.js';
export {
  MessagingError,
  MessagingTimeout,
  RemoteError,
  NoSuchMethod,
  UnsupportedVersion,
  InvalidTarget,
  UnsupportedRpcEnvelopeVersion,
  RPCVersionCapError,
  LeanWireUnsupported,
  MessageDeliveryFailure,
  InvalidRpcMessage,
  InvalidRpcOption,
  InvalidRpcCall,
  InvalidTransportUrl,
  UnsupportedTransport,
  InvalidVersion,
  InvalidMessageVersion,
  ForbiddenRpcMethod,
  TlsFileError,
} from '../core/errors.js';
