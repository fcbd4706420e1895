import type { Driver } from '../../driver.js';
import type { ResolvedTransportOptions } from '../../transport.js';
import { maskTransportUrl, type TransportUrl } from '../../url.js';
import type { BrokerEndpoint, ConnectionConfig } from './connection.js';
import { RabbitDriver } from './driver.js';
import { parseRabbitOptions, tlsSocketOptions } from './options.js';

export { RabbitDriver } from './driver.js';
export {
  DEFAULT_RABBIT_OPTIONS,
  parseRabbitOptions,
  RABBIT_OPTION_NAMES,
  type RabbitOptions,
} from './options.js';

/** The URL again, password masked, for log lines. */
export function describeRabbitUrl(url: TransportUrl, endpoints: readonly BrokerEndpoint[]): string {
  const hosts = endpoints
    .map((e, i) => {
      const user = url.hosts[i]?.username;
      const host = e.hostname.includes(':') ? `[${e.hostname}]` : e.hostname;
      const pass = url.hosts[i]?.password;
      const cred =
        user === undefined ? '' : `${encodeURIComponent(user)}${pass === undefined ? '' : ':***'}@`;
      return `${cred}${host}:${e.port}`;
    })
    .join(',');
  const vhost = url.virtualHost === undefined ? '' : encodeURIComponent(url.virtualHost);
  return maskTransportUrl(`rabbit://${hosts}/${vhost}`);
}

/**
 * Opens the RabbitMQ driver: validates the options, then connects the publishing connection (the
 * first attempt is awaited; when the broker is unreachable the driver keeps retrying in the
 * background and sends wait for it).
 */
export async function createRabbitDriver(
  url: TransportUrl,
  options: ResolvedTransportOptions,
): Promise<Driver> {
  const { options: o, ignoredQueryKeys } = parseRabbitOptions(options.rabbit, url);
  const logger = options.logger.child({ driver: 'rabbit' });
  const defaultPort = o.ssl ? 5671 : 5672;
  const hosts = url.hosts.length > 0 ? url.hosts : [undefined];
  const endpoints: BrokerEndpoint[] = hosts.map((h) => ({
    hostname: h?.hostname || 'localhost',
    port: h?.port ?? defaultPort,
    username: h?.username ?? 'guest',
    password: h?.password ?? 'guest',
  }));
  if (o.heartbeat_timeout_threshold === 0) {
    logger.warn(
      'heartbeat_timeout_threshold 0: amqplib cannot turn AMQP heartbeats off; the broker-proposed interval is used',
    );
  }
  if (ignoredQueryKeys.length > 0) {
    logger.warn({ keys: ignoredQueryKeys }, 'Ignoring unknown transport URL query parameters');
  }
  const config: ConnectionConfig = {
    endpoints,
    virtualHost: url.virtualHost ?? '/',
    options: o,
    tls: o.ssl ? tlsSocketOptions(o) : undefined,
    logger,
    clock: options.clock,
  };
  logger.info({ url: describeRabbitUrl(url, endpoints) }, 'Opening the RabbitMQ transport');
  const driver = new RabbitDriver(config, options.controlExchange);
  await driver.start();
  return driver;
}
