import { hostname } from 'node:os';
import type { OptionSpec } from './types.js';

const D = 'DEFAULT';
const RABBIT = 'oslo_messaging_rabbit';

/**
 * [DEFAULT] options of oslo.service and Tacker's service module (`tacker.service`,
 * `tacker.common.config`), plus conductor-ts's scheduling mode.
 */
export const serviceOptions: readonly OptionSpec[] = Object.freeze([
  {
    section: D,
    name: 'host',
    type: 'string',
    default: hostname(),
    help: 'Hostname, FQDN or IP address of this host. Used as the RPC server name and in service reports.',
  },
  {
    section: D,
    name: 'periodic_interval',
    type: 'int',
    default: 40,
    min: 0,
    help: 'Seconds between running periodic tasks in the fixed mode; 0 disables periodic tasks.',
  },
  {
    section: D,
    name: 'periodic_fuzzy_delay',
    type: 'int',
    default: 5,
    min: 0,
    help: 'Range in seconds to randomly delay the start of the periodic task scheduler by, to reduce stampeding; 0 disables the delay.',
  },
  {
    section: D,
    name: 'report_interval',
    type: 'int',
    default: 10,
    min: 0,
    help: 'Seconds between state reports of the service; 0 disables them.',
  },
  {
    section: D,
    name: 'run_external_periodic_tasks',
    type: 'bool',
    default: true,
    help: 'Some periodic tasks can be run in a separate process. Should we run them here?',
  },
  {
    section: D,
    name: 'graceful_shutdown_timeout',
    type: 'int',
    default: 60,
    min: 0,
    help: 'Seconds a graceful shutdown (SIGTERM) may take before the process is ended; 0 waits forever.',
  },
  {
    section: D,
    name: 'log_options',
    type: 'bool',
    default: true,
    help: 'Log every option value (secrets masked) at DEBUG level when the service starts.',
  },
  {
    section: D,
    name: 'debug',
    type: 'bool',
    default: false,
    help: 'Log at DEBUG level instead of the default INFO level.',
  },
  {
    section: D,
    name: 'periodic_mode',
    type: 'enum',
    default: 'exact',
    choices: ['exact', 'fixed', 'dynamic'],
    help: "conductor-ts: how the service schedules periodic tasks. 'exact': sleep until the next task is due, so a 60 s task runs every 60 s; 'fixed': the original's fixed tick of periodic_interval seconds; 'dynamic': oslo's DynamicLoopingCall driven by the idle time the tasks report, capped by periodic_interval_max.",
  },
  {
    section: D,
    name: 'periodic_interval_max',
    type: 'float',
    default: 60,
    min: 0,
    help: 'conductor-ts: longest sleep in seconds between two passes of the periodic tasks in the dynamic mode (must be > 0 there).',
  },
] satisfies OptionSpec[]);

/** [DEFAULT] options of oslo.messaging (transport, RPC client and server), Tacker's defaults. */
export const messagingOptions: readonly OptionSpec[] = Object.freeze([
  {
    section: D,
    name: 'transport_url',
    type: 'string',
    default: 'memory://',
    secret: 'url',
    help: "The network address and optional user credentials for connecting to the messaging backend, in URL format: 'driver://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host?query' (rabbit://, amqp://, or memory:// for a single process).",
  },
  {
    section: D,
    name: 'control_exchange',
    type: 'string',
    default: 'tacker',
    help: 'The default exchange under which topics are scoped (Tacker sets tacker).',
  },
  {
    section: D,
    name: 'rpc_response_timeout',
    type: 'int',
    default: 60,
    min: 1,
    help: 'Seconds to wait for a response from a call.',
  },
  {
    section: D,
    name: 'executor_thread_pool_size',
    type: 'int',
    default: 64,
    min: 1,
    deprecatedNames: ['rpc_thread_pool_size'],
    help: 'Number of RPC requests a server handles at once (also its prefetch).',
  },
] satisfies OptionSpec[]);

/**
 * `[oslo_messaging_rabbit]`: every option of the RabbitMQ driver
 * (`src/messaging/drivers/rabbit/options.ts`), same names, defaults and ranges, so that
 * `conf.section('oslo_messaging_rabbit')` can be passed as `getRpcTransport({ rabbit })`.
 */
export const rabbitOptions: readonly OptionSpec[] = Object.freeze([
  {
    section: RABBIT,
    name: 'heartbeat_timeout_threshold',
    type: 'int',
    default: 60,
    min: 0,
    max: 65535,
    help: 'Seconds of broker silence after which the connection is considered dead (AMQP heartbeat offered to the broker); 0 disables heartbeats.',
  },
  {
    section: RABBIT,
    name: 'rabbit_login_method',
    type: 'enum',
    default: 'AMQPLAIN',
    choices: ['AMQPLAIN', 'PLAIN', 'EXTERNAL'],
    ignoreCase: true,
    help: 'The RabbitMQ login method (EXTERNAL needs a TLS client certificate).',
  },
  {
    section: RABBIT,
    name: 'rabbit_retry_interval',
    type: 'float',
    default: 1,
    min: 0,
    exclusiveMin: true,
    max: 3600,
    help: 'How frequently to retry connecting with RabbitMQ (seconds, first delay).',
  },
  {
    section: RABBIT,
    name: 'rabbit_retry_backoff',
    type: 'float',
    default: 2,
    min: 0,
    max: 3600,
    help: 'How long to backoff for between retries when connecting to RabbitMQ (seconds added per attempt).',
  },
  {
    section: RABBIT,
    name: 'rabbit_interval_max',
    type: 'float',
    default: 30,
    min: 0,
    exclusiveMin: true,
    max: 3600,
    help: 'Maximum interval of RabbitMQ connection retries (seconds); must be >= rabbit_retry_interval.',
  },
  {
    section: RABBIT,
    name: 'kombu_reconnect_delay',
    type: 'float',
    default: 1,
    min: 0,
    max: 3600,
    help: 'How long to wait (seconds) after a connection was lost before reconnecting.',
  },
  {
    section: RABBIT,
    name: 'rabbit_qos_prefetch_count',
    type: 'int',
    default: 0,
    min: 0,
    max: 65535,
    help: "Specifies the number of messages to prefetch; 0 = the server's own bound (its executor pool size).",
  },
  {
    section: RABBIT,
    name: 'amqp_durable_queues',
    type: 'bool',
    default: false,
    deprecatedNames: [
      { section: D, name: 'amqp_durable_queues' },
      { section: D, name: 'rabbit_durable_queues' },
    ],
    help: 'Use durable queues in AMQP (the control exchange and topic queues).',
  },
  {
    section: RABBIT,
    name: 'amqp_auto_delete',
    type: 'bool',
    default: false,
    deprecatedNames: [{ section: D, name: 'amqp_auto_delete' }],
    help: 'Auto-delete queues in AMQP (the control exchange and topic queues).',
  },
  {
    section: RABBIT,
    name: 'rabbit_ha_queues',
    type: 'bool',
    default: false,
    help: 'Declare queues with x-ha-policy: all (classic mirrored queues of RabbitMQ < 3).',
  },
  {
    section: RABBIT,
    name: 'rabbit_quorum_queue',
    type: 'bool',
    default: false,
    help: 'Use quorum queues for topic queues (durable, x-queue-type: quorum); excludes amqp_auto_delete.',
  },
  {
    section: RABBIT,
    name: 'rabbit_transient_queues_ttl',
    type: 'int',
    default: 1800,
    min: 1,
    max: 2147483,
    help: 'Seconds reply and fanout queues may stay unused before the broker deletes them (x-expires).',
  },
  {
    section: RABBIT,
    name: 'kombu_missing_consumer_retry_timeout',
    type: 'float',
    default: 60,
    min: 0,
    exclusiveMin: true,
    max: 86400,
    help: 'How long (seconds) a reply to a missing reply queue is retried before it is dropped.',
  },
  {
    section: RABBIT,
    name: 'direct_mandatory_flag',
    type: 'bool',
    default: true,
    help: 'Publish replies with the mandatory flag, so that a missing reply queue is noticed.',
  },
  {
    section: RABBIT,
    name: 'ssl',
    type: 'bool',
    default: false,
    deprecatedNames: ['rabbit_use_ssl'],
    help: 'Connect over TLS (amqps). Also ?ssl=1 in the transport URL.',
  },
  {
    section: RABBIT,
    name: 'ssl_ca_file',
    type: 'string',
    deprecatedNames: ['kombu_ssl_ca_certs'],
    help: 'TLS certification authority file (PEM) to verify the broker with; empty = system CAs.',
  },
  {
    section: RABBIT,
    name: 'ssl_cert_file',
    type: 'string',
    deprecatedNames: ['kombu_ssl_certfile'],
    help: 'TLS client certificate file (PEM); needs ssl_key_file.',
  },
  {
    section: RABBIT,
    name: 'ssl_key_file',
    type: 'string',
    deprecatedNames: ['kombu_ssl_keyfile'],
    help: 'TLS client private key file (PEM); needs ssl_cert_file.',
  },
  {
    section: RABBIT,
    name: 'ssl_verify',
    type: 'bool',
    default: true,
    help: "Verify the broker's TLS certificate.",
  },
  {
    section: RABBIT,
    name: 'rabbit_max_message_size',
    type: 'int',
    default: 16 * 1024 * 1024,
    min: 1024,
    max: 512 * 1024 * 1024,
    help: 'conductor-ts: bodies larger than this many bytes are rejected unread.',
  },
  {
    section: RABBIT,
    name: 'rabbit_publish_timeout',
    type: 'float',
    default: 60,
    min: 0,
    exclusiveMin: true,
    max: 86400,
    help: 'conductor-ts: seconds a cast waits for a connection and the publisher confirm, and a reply for a connection, before failing.',
  },
  {
    section: RABBIT,
    name: 'rabbit_reply_direct_exchange',
    type: 'bool',
    default: true,
    help: "conductor-ts: also declare the reply queue's direct exchange, so that Pike-era servers (oslo.messaging < 5.34) reach this client.",
  },
  {
    section: RABBIT,
    name: 'rabbit_connect_timeout',
    type: 'float',
    default: 10,
    min: 0,
    exclusiveMin: true,
    max: 3600,
    help: 'conductor-ts: seconds for the TCP connect and AMQP handshake.',
  },
] satisfies OptionSpec[]);

/** `[database]` (oslo.db). */
export const databaseOptions: readonly OptionSpec[] = Object.freeze([
  {
    section: 'database',
    name: 'connection',
    type: 'string',
    default: 'sqlite:///data/conductor.db',
    secret: 'url',
    deprecatedNames: [
      { section: D, name: 'sql_connection' },
      { section: 'sql', name: 'connection' },
    ],
    help: 'The SQLAlchemy-style connection string of the database (the password part is masked in logs).',
  },
] satisfies OptionSpec[]);

/** Every built-in option set. */
export const builtinOptions: readonly OptionSpec[] = Object.freeze([
  ...serviceOptions,
  ...messagingOptions,
  ...rabbitOptions,
  ...databaseOptions,
]);
