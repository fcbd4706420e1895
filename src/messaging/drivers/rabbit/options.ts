import { readFileSync } from 'node:fs';
import { defineOptions, opt, type OptionRule, type OptionValues } from '../../../config/index.js';
import { errorMessage, TlsFileError } from '../../../core/index.js';
import type { TransportUrl } from '../../url.js';

const SSL_QUERY = /[?&]ssl=(?:1|true|yes|on)(?:&|#|$)/i;

const options = {
  heartbeat_timeout_threshold: opt.int({
    default: 60,
    min: 0,
    max: 65535,
    help: 'Seconds of broker silence after which the connection is considered dead (AMQP heartbeat offered to the broker); 0 disables heartbeats.',
  }),
  rabbit_login_method: opt.enum(['AMQPLAIN', 'PLAIN', 'EXTERNAL'], {
    default: 'AMQPLAIN',
    ignoreCase: true,
    help: 'The RabbitMQ login method (EXTERNAL needs a TLS client certificate).',
  }),
  rabbit_retry_interval: opt.float({
    default: 1,
    min: 0,
    exclusiveMin: true,
    max: 3600,
    help: 'How frequently to retry connecting with RabbitMQ (seconds, first delay).',
  }),
  rabbit_retry_backoff: opt.float({
    default: 2,
    min: 0,
    max: 3600,
    help: 'How long to backoff for between retries when connecting to RabbitMQ (seconds added per attempt).',
  }),
  rabbit_interval_max: opt.float({
    default: 30,
    min: 0,
    exclusiveMin: true,
    max: 3600,
    help: 'Maximum interval of RabbitMQ connection retries (seconds); must be >= rabbit_retry_interval.',
  }),
  kombu_reconnect_delay: opt.float({
    default: 1,
    min: 0,
    max: 3600,
    help: 'How long to wait (seconds) after a connection was lost before reconnecting.',
  }),
  rabbit_qos_prefetch_count: opt.int({
    default: 0,
    min: 0,
    max: 65535,
    help: "Specifies the number of messages to prefetch; 0 = the server's own bound (its executor pool size).",
  }),
  amqp_durable_queues: opt.bool({
    default: false,
    deprecatedNames: [
      { section: 'DEFAULT', name: 'amqp_durable_queues' },
      { section: 'DEFAULT', name: 'rabbit_durable_queues' },
    ],
    help: 'Use durable queues in AMQP (the control exchange and topic queues).',
  }),
  amqp_auto_delete: opt.bool({
    default: false,
    deprecatedNames: [{ section: 'DEFAULT', name: 'amqp_auto_delete' }],
    help: 'Auto-delete queues in AMQP (the control exchange and topic queues).',
  }),
  rabbit_ha_queues: opt.bool({
    default: false,
    help: 'Declare queues with x-ha-policy: all (classic mirrored queues of RabbitMQ < 3).',
  }),
  rabbit_quorum_queue: opt.bool({
    default: false,
    help: 'Use quorum queues for topic queues (durable, x-queue-type: quorum); excludes amqp_auto_delete.',
  }),
  rabbit_transient_queues_ttl: opt.int({
    default: 1800,
    min: 1,
    max: 2147483,
    help: 'Seconds reply and fanout queues may stay unused before the broker deletes them (x-expires).',
  }),
  kombu_missing_consumer_retry_timeout: opt.float({
    default: 60,
    min: 0,
    exclusiveMin: true,
    max: 86400,
    help: 'How long (seconds) a reply to a missing reply queue is retried before it is dropped.',
  }),
  direct_mandatory_flag: opt.bool({
    default: true,
    help: 'Publish replies with the mandatory flag, so that a missing reply queue is noticed.',
  }),
  ssl: opt.bool({
    default: false,
    deprecatedNames: ['rabbit_use_ssl'],
    help: 'Connect over TLS (amqps). Also ?ssl=1 in the transport URL.',
  }),
  ssl_ca_file: opt.string({
    deprecatedNames: ['kombu_ssl_ca_certs'],
    help: 'TLS certification authority file (PEM) to verify the broker with; empty = system CAs.',
  }),
  ssl_cert_file: opt.string({
    deprecatedNames: ['kombu_ssl_certfile'],
    help: 'TLS client certificate file (PEM); needs ssl_key_file.',
  }),
  ssl_key_file: opt.string({
    deprecatedNames: ['kombu_ssl_keyfile'],
    help: 'TLS client private key file (PEM); needs ssl_cert_file.',
  }),
  ssl_verify: opt.bool({ default: true, help: "Verify the broker's TLS certificate." }),
  rabbit_max_message_size: opt.int({
    default: 16 * 1024 * 1024,
    min: 1024,
    max: 512 * 1024 * 1024,
    help: 'conductor-ts: bodies larger than this many bytes are rejected unread.',
  }),
  rabbit_publish_timeout: opt.float({
    default: 60,
    min: 0,
    exclusiveMin: true,
    max: 86400,
    help: 'conductor-ts: seconds a cast waits for a connection and the publisher confirm, and a reply for a connection, before failing.',
  }),
  rabbit_reply_direct_exchange: opt.bool({
    default: true,
    help: "conductor-ts: also declare the reply queue's direct exchange, so that Pike-era servers (oslo.messaging < 5.34) reach this client.",
  }),
  rpc_reply_mode: opt.enum(['queue', 'direct'], {
    default: 'queue',
    ignoreCase: true,
    help: "conductor-ts: how this client's calls travel. queue: oslo.messaging's wire, with a reply queue per client (every oslo.messaging peer understands it). direct: conductor-ts's lean wire, with RabbitMQ direct reply-to and a body encoded once (faster; only conductor-ts servers answer it, and a call to a topic without one fails at once with LeanWireUnsupported). Casts, and calls with a call monitor, always use oslo's wire. Servers answer both.",
  }),
  rabbit_connect_timeout: opt.float({
    default: 10,
    min: 0,
    exclusiveMin: true,
    max: 3600,
    help: 'conductor-ts: seconds for the TCP connect and AMQP handshake.',
  }),
};

/**
 * The RabbitMQ driver's options, with the names, defaults and ranges of oslo.messaging's
 * `[oslo_messaging_rabbit]` (times in seconds, fractions allowed); see {@link rabbitOptions}.
 */
export type RabbitOptions = OptionValues<typeof options>;

const retryWithinMax: OptionRule<RabbitOptions> = (o, say) =>
  o.rabbit_interval_max < o.rabbit_retry_interval
    ? {
        message: `${say.ref('rabbit_interval_max')} must be >= ${say.ref('rabbit_retry_interval')}`,
        options: ['rabbit_interval_max', 'rabbit_retry_interval'],
      }
    : undefined;

const quorumNotAutoDelete: OptionRule<RabbitOptions> = (o) =>
  o.rabbit_quorum_queue && o.amqp_auto_delete
    ? {
        message:
          'rabbit_quorum_queue and amqp_auto_delete exclude each other (quorum queues cannot be auto-delete)',
        options: ['rabbit_quorum_queue', 'amqp_auto_delete'],
      }
    : undefined;

const certWithKey: OptionRule<RabbitOptions> = (o) =>
  (o.ssl_cert_file === undefined) !== (o.ssl_key_file === undefined)
    ? {
        message: 'ssl_cert_file and ssl_key_file must be given together',
        options: ['ssl_cert_file', 'ssl_key_file'],
      }
    : undefined;

const filesNeedSsl: OptionRule<RabbitOptions> = (o, say) => {
  // In a configuration the URL's ?ssl=1 has not been merged into `ssl` yet; in code it has.
  const url = say.lookup('DEFAULT', 'transport_url');
  const sslOn = o.ssl || (typeof url === 'string' && SSL_QUERY.test(url));
  const files = (['ssl_ca_file', 'ssl_cert_file'] as const).filter((n) => o[n] !== undefined);
  if (files.length === 0 || sslOn) return undefined;
  return {
    message: `${files.join(' and ')} need ${say.assign('ssl', 'true')} (or ?ssl=1 in ${say.other('DEFAULT', 'transport_url')})`,
    options: [...files, 'ssl'],
  };
};

const externalNeedsCert: OptionRule<RabbitOptions> = (o) =>
  o.rabbit_login_method === 'EXTERNAL' && o.ssl_cert_file === undefined
    ? {
        message:
          'rabbit_login_method EXTERNAL needs a TLS client certificate (ssl_cert_file, ssl_key_file)',
        options: ['rabbit_login_method'],
      }
    : undefined;

/**
 * `[oslo_messaging_rabbit]`: every option of the RabbitMQ driver, defined once. The configuration
 * registers these specs; `getRpcTransport({ rabbit })` takes `rabbitOptions.read(conf)` (already
 * validated) or plain values from code, which the driver checks with `rabbitOptions.parse()`.
 */
export const rabbitOptions = defineOptions({
  group: 'oslo_messaging_rabbit',
  label: 'rabbit option',
  options,
  rules: [retryWithinMax, quorumNotAutoDelete, certWithKey, filesNeedSsl, externalNeedsCert],
});

/** Every option at its oslo default. */
export const DEFAULT_RABBIT_OPTIONS: RabbitOptions = rabbitOptions.defaults;

/** Option names the driver knows. */
export const RABBIT_OPTION_NAMES: readonly string[] = rabbitOptions.names;

/**
 * The driver's options from the `rabbit` options of a transport and the query of its URL
 * (`?ssl=1&...`; a query key overrides the option of the same name). Unknown option keys are an
 * error; unknown query keys are returned so the caller can warn about them.
 */
export function parseRabbitOptions(
  raw: Readonly<Record<string, unknown>>,
  url?: Pick<TransportUrl, 'query'>,
): { options: RabbitOptions; ignoredQueryKeys: string[] } {
  const ignoredQueryKeys: string[] = [];
  const fromQuery: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(url?.query ?? {})) {
    if ((RABBIT_OPTION_NAMES as readonly string[]).includes(name)) fromQuery[name] = value;
    else ignoredQueryKeys.push(name);
  }
  const mergeable = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  const merged = Object.keys(fromQuery).length > 0 && mergeable ? { ...raw, ...fromQuery } : raw;
  return { options: rabbitOptions.parse(merged), ignoredQueryKeys };
}

/** TLS socket options read from the configured files (errors name the file, never its content). */
export function tlsSocketOptions(o: RabbitOptions): Record<string, unknown> {
  const read = (name: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsFileError(name, path, errorMessage(err));
    }
  };
  const tls: Record<string, unknown> = { rejectUnauthorized: o.ssl_verify };
  const ca = read('ssl_ca_file', o.ssl_ca_file);
  const cert = read('ssl_cert_file', o.ssl_cert_file);
  const key = read('ssl_key_file', o.ssl_key_file);
  if (ca) tls['ca'] = [ca];
  if (cert) tls['cert'] = cert;
  if (key) tls['key'] = key;
  return tls;
}
