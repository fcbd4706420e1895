import type { Driver } from '../../driver.js';
import type { ResolvedTransportOptions } from '../../transport.js';
import type { TransportUrl } from '../../url.js';

/** Opens the RabbitMQ driver (placeholder until the driver lands). */
export async function createRabbitDriver(_url: TransportUrl, _options: ResolvedTransportOptions): Promise<Driver> {
  throw new Error('The RabbitMQ driver is not implemented yet');
}
