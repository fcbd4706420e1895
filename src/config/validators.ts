import type { ConfigValidator, ConfigView } from './types.js';

const RABBIT = 'oslo_messaging_rabbit';

function all(conf: ConfigView, section: string, names: readonly string[]): boolean {
  return names.every((n) => conf.has(section, n));
}

/** `[DEFAULT] periodic_interval_max > 0` when `periodic_mode` is `dynamic`. */
export const periodicModeValidator: ConfigValidator = (conf) => {
  if (!all(conf, 'DEFAULT', ['periodic_mode', 'periodic_interval_max'])) return [];
  const max = conf.get<number | undefined>('DEFAULT', 'periodic_interval_max');
  if (conf.get('DEFAULT', 'periodic_mode') !== 'dynamic' || (max !== undefined && max > 0))
    return [];
  return [
    `periodic_interval_max must be > 0 when periodic_mode is dynamic: ${conf.describe('DEFAULT', 'periodic_interval_max')}, ${conf.describe('DEFAULT', 'periodic_mode')}`,
  ];
};

const SSL_QUERY = /[?&]ssl=(?:1|true|yes|on)(?:&|#|$)/i;

/** The cross-field rules of the RabbitMQ driver (`parseRabbitOptions`), with oslo names. */
export const rabbitValidator: ConfigValidator = (conf) => {
  const problems: string[] = [];
  const has = (n: string): boolean => conf.has(RABBIT, n);
  const get = <T>(n: string): T => conf.get<T>(RABBIT, n);
  const d = (n: string): string => conf.describe(RABBIT, n);
  if (has('rabbit_interval_max') && has('rabbit_retry_interval')) {
    const max = get<number>('rabbit_interval_max');
    const first = get<number>('rabbit_retry_interval');
    if (typeof max === 'number' && typeof first === 'number' && max < first)
      problems.push(
        `rabbit_interval_max must be >= rabbit_retry_interval: ${d('rabbit_interval_max')}, ${d('rabbit_retry_interval')}`,
      );
  }
  if (has('rabbit_quorum_queue') && has('amqp_auto_delete')) {
    if (get('rabbit_quorum_queue') === true && get('amqp_auto_delete') === true)
      problems.push(
        `rabbit_quorum_queue and amqp_auto_delete exclude each other (quorum queues cannot be auto-delete): ${d('rabbit_quorum_queue')}, ${d('amqp_auto_delete')}`,
      );
  }
  if (has('ssl_cert_file') && has('ssl_key_file')) {
    if ((get('ssl_cert_file') === undefined) !== (get('ssl_key_file') === undefined))
      problems.push(
        `ssl_cert_file and ssl_key_file must be given together: ${d('ssl_cert_file')}, ${d('ssl_key_file')}`,
      );
  }
  if (all(conf, RABBIT, ['ssl', 'ssl_ca_file', 'ssl_cert_file'])) {
    const url = conf.has('DEFAULT', 'transport_url') ? conf.get('DEFAULT', 'transport_url') : '';
    const sslOn = get('ssl') === true || (typeof url === 'string' && SSL_QUERY.test(url));
    const files = ['ssl_ca_file', 'ssl_cert_file'].filter((n) => get(n) !== undefined);
    if (files.length > 0 && !sslOn)
      problems.push(
        `${files.join(' and ')} need ssl = true (or ?ssl=1 in [DEFAULT] transport_url): ${files.map(d).join(', ')}, ${d('ssl')}`,
      );
  }
  if (has('rabbit_login_method') && has('ssl_cert_file')) {
    if (get('rabbit_login_method') === 'EXTERNAL' && get('ssl_cert_file') === undefined)
      problems.push(
        `rabbit_login_method EXTERNAL needs a TLS client certificate (ssl_cert_file, ssl_key_file): ${d('rabbit_login_method')}`,
      );
  }
  return problems;
};

/** Validators every {@link ConfigOpts} runs; each does nothing unless its options are registered. */
export const builtinValidators: readonly ConfigValidator[] = Object.freeze([
  periodicModeValidator,
  rabbitValidator,
]);
