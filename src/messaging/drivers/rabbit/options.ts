import { readFileSync } from 'node:fs';
import { InvalidOptionError } from '../../../core/index.js';
import type { TransportUrl } from '../../url.js';

/**
 * Options of the RabbitMQ driver, with the names of oslo.messaging's `[oslo_messaging_rabbit]`
 * section. Times are in seconds (fractions allowed), as in oslo's configuration files.
 */
export interface RabbitOptions {
  /** AMQP heartbeat in seconds offered in Connection.TuneOk (oslo default 60). */
  readonly heartbeat_timeout_threshold: number;
  /** SASL mechanism: AMQPLAIN (oslo's default), PLAIN or EXTERNAL (TLS client certificate). */
  readonly rabbit_login_method: 'AMQPLAIN' | 'PLAIN' | 'EXTERNAL';
  /** First delay between reconnection attempts (kombu `interval_start`). */
  readonly rabbit_retry_interval: number;
  /** Added to the delay after each failed attempt (kombu `interval_step`). */
  readonly rabbit_retry_backoff: number;
  /** Longest delay between attempts. */
  readonly rabbit_interval_max: number;
  /** Pause after a connection was lost, before the first reconnection attempt. */
  readonly kombu_reconnect_delay: number;
  /** Basic.Qos of consumers; 0 = the server's own bound (its executor pool size). */
  readonly rabbit_qos_prefetch_count: number;
  /** Control exchange and topic queues are durable. */
  readonly amqp_durable_queues: boolean;
  /** Control exchange and topic queues are auto-delete. */
  readonly amqp_auto_delete: boolean;
  /** `x-ha-policy: all` on every queue (classic mirrored queues of RabbitMQ < 3). */
  readonly rabbit_ha_queues: boolean;
  /** Topic queues are quorum queues (durable, `x-queue-type: quorum`). */
  readonly rabbit_quorum_queue: boolean;
  /** Seconds reply and fanout queues live unused (`x-expires`). */
  readonly rabbit_transient_queues_ttl: number;
  /** How long a reply to a missing reply queue is retried (every 0.25 s). */
  readonly kombu_missing_consumer_retry_timeout: number;
  /** Replies are published with the mandatory flag (a missing reply queue is then noticed). */
  readonly direct_mandatory_flag: boolean;
  /** TLS (`amqps`). Also `?ssl=1` in the transport URL. */
  readonly ssl: boolean;
  readonly ssl_ca_file: string | undefined;
  readonly ssl_cert_file: string | undefined;
  readonly ssl_key_file: string | undefined;
  /** Verify the broker's certificate (default true). */
  readonly ssl_verify: boolean;
  /** conductor-ts: bodies larger than this (bytes) are rejected unread. Default 16 MiB. */
  readonly rabbit_max_message_size: number;
  /**
   * conductor-ts: how long a cast waits for a connection and the publisher confirm, and a server's
   * reply for a connection, before failing with MessageDeliveryFailure. Default 60.
   */
  readonly rabbit_publish_timeout: number;
  /**
   * conductor-ts: also declare the reply queue's direct exchange (same name, bound to the queue)
   * so that Pike-era servers (oslo.messaging < 5.34), which publish replies to that exchange, reach
   * this client. Newer servers use the default exchange. Default true.
   */
  readonly rabbit_reply_direct_exchange: boolean;
  /** conductor-ts: TCP connect + AMQP handshake timeout in seconds. Default 10. */
  readonly rabbit_connect_timeout: number;
}

export const DEFAULT_RABBIT_OPTIONS: RabbitOptions = Object.freeze({
  heartbeat_timeout_threshold: 60,
  rabbit_login_method: 'AMQPLAIN',
  rabbit_retry_interval: 1,
  rabbit_retry_backoff: 2,
  rabbit_interval_max: 30,
  kombu_reconnect_delay: 1,
  rabbit_qos_prefetch_count: 0,
  amqp_durable_queues: false,
  amqp_auto_delete: false,
  rabbit_ha_queues: false,
  rabbit_quorum_queue: false,
  rabbit_transient_queues_ttl: 1800,
  kombu_missing_consumer_retry_timeout: 60,
  direct_mandatory_flag: true,
  ssl: false,
  ssl_ca_file: undefined,
  ssl_cert_file: undefined,
  ssl_key_file: undefined,
  ssl_verify: true,
  rabbit_max_message_size: 16 * 1024 * 1024,
  rabbit_publish_timeout: 60,
  rabbit_reply_direct_exchange: true,
  rabbit_connect_timeout: 10,
});

type Kind =
  | { t: 'bool' }
  | { t: 'int'; min: number; max?: number }
  | { t: 'number'; min: number; exclusiveMin?: boolean; max?: number }
  | { t: 'string' }
  | { t: 'enum'; values: readonly string[] };

const SPEC: Readonly<Record<keyof RabbitOptions, Kind>> = {
  heartbeat_timeout_threshold: { t: 'int', min: 0, max: 65535 },
  rabbit_login_method: { t: 'enum', values: ['AMQPLAIN', 'PLAIN', 'EXTERNAL'] },
  rabbit_retry_interval: { t: 'number', min: 0, exclusiveMin: true, max: 3600 },
  rabbit_retry_backoff: { t: 'number', min: 0, max: 3600 },
  rabbit_interval_max: { t: 'number', min: 0, exclusiveMin: true, max: 3600 },
  kombu_reconnect_delay: { t: 'number', min: 0, max: 3600 },
  rabbit_qos_prefetch_count: { t: 'int', min: 0, max: 65535 },
  amqp_durable_queues: { t: 'bool' },
  amqp_auto_delete: { t: 'bool' },
  rabbit_ha_queues: { t: 'bool' },
  rabbit_quorum_queue: { t: 'bool' },
  rabbit_transient_queues_ttl: { t: 'int', min: 1, max: 2147483 },
  kombu_missing_consumer_retry_timeout: { t: 'number', min: 0, exclusiveMin: true, max: 86400 },
  direct_mandatory_flag: { t: 'bool' },
  ssl: { t: 'bool' },
  ssl_ca_file: { t: 'string' },
  ssl_cert_file: { t: 'string' },
  ssl_key_file: { t: 'string' },
  ssl_verify: { t: 'bool' },
  rabbit_max_message_size: { t: 'int', min: 1024, max: 512 * 1024 * 1024 },
  rabbit_publish_timeout: { t: 'number', min: 0, exclusiveMin: true, max: 86400 },
  rabbit_reply_direct_exchange: { t: 'bool' },
  rabbit_connect_timeout: { t: 'number', min: 0, exclusiveMin: true, max: 3600 },
};

/** Option names the driver knows. */
export const RABBIT_OPTION_NAMES: readonly string[] = Object.keys(SPEC);

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Checks one value; strings (from the URL query or a config file) are converted. */
function coerce(name: string, kind: Kind, raw: unknown): unknown {
  const bad = (expected: string): never => {
    throw new InvalidOptionError(
      `rabbit option ${name} must be ${expected}, got ${JSON.stringify(raw) ?? String(raw)}`,
    );
  };
  switch (kind.t) {
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && TRUE.has(raw.toLowerCase())) return true;
      if (typeof raw === 'string' && FALSE.has(raw.toLowerCase())) return false;
      return bad('a boolean');
    }
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      const range =
        kind.t === 'int'
          ? `an integer in [${kind.min}, ${kind.max ?? 'inf'}]`
          : `a number ${kind.exclusiveMin ? '>' : '>='} ${kind.min}${kind.max === undefined ? '' : ` and <= ${kind.max}`}`;
      if (typeof n !== 'number' || !Number.isFinite(n)) return bad(range);
      if (kind.t === 'int' && !Number.isInteger(n)) return bad(range);
      const tooLow =
        kind.t === 'number' && kind.exclusiveMin === true ? n <= kind.min : n < kind.min;
      if (tooLow || (kind.max !== undefined && n > kind.max)) return bad(range);
      return n;
    }
    case 'string':
      if (typeof raw !== 'string' || raw === '') return bad('a non-empty string');
      return raw;
    case 'enum': {
      const v = typeof raw === 'string' ? raw.toUpperCase() : raw;
      if (typeof v !== 'string' || !kind.values.includes(v))
        return bad(`one of ${kind.values.join(', ')}`);
      return v;
    }
  }
}

/**
 * Validates the `rabbit` options of a transport and the query of its URL (`?ssl=1&...`; a query
 * key overrides the option of the same name). Unknown option keys are an error; unknown query
 * keys are returned so the caller can warn about them.
 */
export function parseRabbitOptions(
  raw: Readonly<Record<string, unknown>>,
  url?: Pick<TransportUrl, 'query'>,
): { options: RabbitOptions; ignoredQueryKeys: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidOptionError('rabbit options must be an object');
  }
  const out: Record<string, unknown> = { ...DEFAULT_RABBIT_OPTIONS };
  const unknown = Object.keys(raw).filter((k) => !Object.hasOwn(SPEC, k));
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `Unknown rabbit option(s): ${unknown.join(', ')} (known: ${RABBIT_OPTION_NAMES.join(', ')})`,
    );
  }
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name] = coerce(name, SPEC[name as keyof RabbitOptions], value);
  }
  const ignoredQueryKeys: string[] = [];
  for (const [name, value] of Object.entries(url?.query ?? {})) {
    if (!Object.hasOwn(SPEC, name)) {
      ignoredQueryKeys.push(name);
      continue;
    }
    out[name] = coerce(name, SPEC[name as keyof RabbitOptions], value);
  }
  const options = Object.freeze(out) as unknown as RabbitOptions;
  if (options.rabbit_interval_max < options.rabbit_retry_interval) {
    throw new InvalidOptionError(
      `rabbit option rabbit_interval_max (${options.rabbit_interval_max}) must be >= rabbit_retry_interval (${options.rabbit_retry_interval})`,
    );
  }
  if (options.rabbit_quorum_queue && options.amqp_auto_delete) {
    throw new InvalidOptionError(
      'rabbit options rabbit_quorum_queue and amqp_auto_delete exclude each other (quorum queues cannot be auto-delete)',
    );
  }
  if ((options.ssl_cert_file === undefined) !== (options.ssl_key_file === undefined)) {
    throw new InvalidOptionError(
      'rabbit options ssl_cert_file and ssl_key_file must be given together',
    );
  }
  const usesTlsFiles = options.ssl_ca_file !== undefined || options.ssl_cert_file !== undefined;
  if (usesTlsFiles && !options.ssl) {
    throw new InvalidOptionError('rabbit options ssl_*_file need ssl=true (or ?ssl=1 in the URL)');
  }
  if (options.rabbit_login_method === 'EXTERNAL' && options.ssl_cert_file === undefined) {
    throw new InvalidOptionError(
      'rabbit_login_method EXTERNAL needs a TLS client certificate (ssl_cert_file, ssl_key_file)',
    );
  }
  return { options, ignoredQueryKeys };
}

/** TLS socket options read from the configured files (errors name the file, never its content). */
export function tlsSocketOptions(o: RabbitOptions): Record<string, unknown> {
  const read = (name: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new InvalidOptionError(
        `rabbit option ${name}: cannot read ${path}: ${(err as Error).message}`,
      );
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
