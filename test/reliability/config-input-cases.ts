/**
 * The cases of `config-input.test.ts`: bad configuration files, values, URLs and command lines,
 * with what the built `conductor` command answers to each (determined by running it).
 *
 * Placeholders in `args` and `env` values: `{conf}` is the case's `conductor.conf` (written from
 * `config`), `{dir}` the case's temporary directory (also the working directory), `{fixture}` the
 * fixture manager module `test/fixtures/cli/manager.mjs`.
 */

/** One bad input and the error it must produce. */
export interface ErrorCase {
  /** Unique; also the test's name. */
  readonly name: string;
  readonly category: Category;
  /** The command line, without `node main.js`. */
  readonly args: readonly string[];
  /** Contents of `{conf}`; written when given. */
  readonly config?: string;
  /** More files, relative to `{dir}` (e.g. a config dir's files). */
  readonly files?: Readonly<Record<string, string>>;
  /** Environment variables besides PATH and HOME. */
  readonly env?: Readonly<Record<string, string>>;
  /** Expected exit status (1: configuration / runtime failure, 2: usage error). */
  readonly status: number;
  /** Must match the error on stderr: it names the file, line, section, option or value at fault. */
  readonly error: RegExp;
  /**
   * `conductor run` writes its log lines (JSON) on stdout; every other failing command prints
   * nothing there.
   */
  readonly stdout?: 'empty' | 'logs';
}

/** A warning (not an error): status 0, one JSON log line on stderr. */
export interface WarningCase {
  readonly name: string;
  readonly args: readonly string[];
  readonly config?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Must match the `msg` of the single warning line. */
  readonly warning: RegExp;
}

export type Category =
  | 'ini syntax'
  | 'config files'
  | 'wrong type'
  | 'out of range'
  | 'rule'
  | 'url'
  | 'cli'
  | 'manager'
  | 'secret';

/** The secret in the `secret` cases' URLs: it must never be printed. */
export const SECRET = 's3cret';

/** Where a file error names the case's file. */
const CONF = String.raw`\/conductor\.conf`;

export const ERROR_CASES: readonly ErrorCase[] = [
  // ---- INI syntax ------------------------------------------------------------------------------
  {
    name: "a line without '=' or ':'",
    category: 'ini syntax',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nreport_interval\n',
    status: 1,
    error: new RegExp(`${CONF}:2: no '=' or ':' in assignment$`),
  },
  {
    name: 'a key before any section header',
    category: 'ini syntax',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: 'host = node-1\n[DEFAULT]\n',
    status: 1,
    error: new RegExp(`${CONF}:1: assignment before any \\[section\\] header`),
  },
  {
    name: 'an unterminated section header [DEFAULT',
    category: 'ini syntax',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '# conductor\n[DEFAULT\nhost = node-1\n',
    status: 1,
    error: new RegExp(`${CONF}:2: invalid section header \\(must end with '\\]'\\)$`),
  },
  {
    name: 'an empty section name []',
    category: 'ini syntax',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[]\nhost = node-1\n',
    status: 1,
    error: new RegExp(`${CONF}:1: empty section name$`),
  },
  {
    name: 'an empty key',
    category: 'ini syntax',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\n= node-1\n',
    status: 1,
    error: new RegExp(`${CONF}:2: empty key$`),
  },
  {
    name: 'a continuation line with nothing to continue',
    category: 'ini syntax',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\n   node-1\n',
    status: 1,
    error: new RegExp(`${CONF}:2: unexpected continuation line`),
  },
  {
    name: 'a syntax error reported by run, before anything starts',
    category: 'ini syntax',
    args: ['run', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit\nrabbit_retry_interval = 1\n',
    status: 1,
    error: new RegExp(`${CONF}:1: invalid section header`),
  },
  {
    name: 'a syntax error in the second --config-file names that file',
    category: 'ini syntax',
    args: ['config', 'show', '--config-file', '{conf}', '--config-file', '{dir}/override.conf'],
    config: '[DEFAULT]\nhost = node-1\n',
    files: { 'override.conf': '[DEFAULT]\nhost = node-2\ndebug\n' },
    status: 1,
    error: /\/override\.conf:3: no '=' or ':' in assignment$/,
  },
  {
    name: 'a syntax error in a --config-dir file names that file',
    category: 'ini syntax',
    args: ['services', '--config-dir', '{dir}/conf.d'],
    files: {
      'conf.d/10-good.conf': '[DEFAULT]\nhost = node-1\n',
      'conf.d/20-bad.conf': '[database\nconnection = sqlite:///x.db\n',
    },
    status: 1,
    error: /\/conf\.d\/20-bad\.conf:1: invalid section header/,
  },

  // ---- config files and dirs -------------------------------------------------------------------
  {
    name: 'a missing --config-file',
    category: 'config files',
    args: ['config', 'show', '--config-file', '{dir}/missing.conf'],
    status: 1,
    error: /Cannot read config file \S+\/missing\.conf: no such file$/,
  },
  {
    name: 'a --config-file that is a directory',
    category: 'config files',
    args: ['config', 'sample', '--config-file', '{dir}'],
    status: 1,
    error: /Cannot read config file \S+: is a directory$/,
  },
  {
    name: 'a missing --config-file given to rpc call (before any connection)',
    category: 'config files',
    args: ['rpc', 'call', '--timeout', '1', '--config-file', '{dir}/nope.conf', 'ping'],
    status: 1,
    error: /Cannot read config file \S+\/nope\.conf: no such file$/,
  },
  {
    name: 'a --config-dir that is a file',
    category: 'config files',
    args: ['config', 'show', '--config-dir', '{conf}'],
    config: '[DEFAULT]\n',
    status: 1,
    error: new RegExp(`Cannot read config dir \\S+${CONF}: (ENOTDIR|not a directory)$`),
  },
  {
    name: 'a missing --config-dir',
    category: 'config files',
    args: ['config', 'show', '--config-dir', '{dir}/conf.d'],
    status: 1,
    error: /Cannot read config dir \S+\/conf\.d: no such file$/,
  },

  // ---- values of the wrong type ----------------------------------------------------------------
  {
    name: '[DEFAULT] report_interval = ten (int)',
    category: 'wrong type',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nreport_interval = ten\n',
    status: 1,
    error: new RegExp(
      `${CONF} \\[DEFAULT\\] report_interval: expected an integer >= 0, got 'ten'$`,
    ),
  },
  {
    name: '[DEFAULT] executor_thread_pool_size = 1.5 (int)',
    category: 'wrong type',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nexecutor_thread_pool_size = 1.5\n',
    status: 1,
    error: /\[DEFAULT\] executor_thread_pool_size: expected an integer >= 1, got '1\.5'$/,
  },
  {
    name: 'an inline comment after an int value',
    category: 'wrong type',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nreport_interval = 10 # seconds\n',
    status: 1,
    error:
      /\[DEFAULT\] report_interval: expected an integer >= 0, got '10 # seconds' \(a '#' or ';' after a value is part of the value/,
  },
  {
    name: '[DEFAULT] debug = maybe (bool)',
    category: 'wrong type',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\ndebug = maybe\n',
    status: 1,
    error:
      /\[DEFAULT\] debug: expected a boolean \(true\/false, yes\/no, on\/off, 1\/0\), got 'maybe'$/,
  },
  {
    name: '[DEFAULT] periodic_interval_max = fast (float)',
    category: 'wrong type',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nperiodic_interval_max = fast\n',
    status: 1,
    error: /\[DEFAULT\] periodic_interval_max: expected a number >= 0, got 'fast'$/,
  },
  {
    name: '[oslo_messaging_rabbit] rabbit_retry_interval = 1s (float)',
    category: 'wrong type',
    args: ['rpc', 'call', '--timeout', '1', '--config-file', '{conf}', 'ping'],
    config: '[oslo_messaging_rabbit]\nrabbit_retry_interval = 1s\n',
    status: 1,
    error:
      /\[oslo_messaging_rabbit\] rabbit_retry_interval: expected a number > 0 and <= 3600, got '1s'$/,
  },
  {
    name: '[oslo_messaging_rabbit] ssl = sometimes (bool)',
    category: 'wrong type',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nssl = sometimes\n',
    status: 1,
    error: /\[oslo_messaging_rabbit\] ssl: expected a boolean .*, got 'sometimes'$/,
  },
  {
    name: '[coordination] required_at_start = perhaps (bool)',
    category: 'wrong type',
    args: ['members', '--config-file', '{conf}'],
    config: '[coordination]\nrequired_at_start = perhaps\n',
    status: 1,
    error: /\[coordination\] required_at_start: expected a boolean .*, got 'perhaps'$/,
  },
  {
    name: '[ops] stall_threshold = abc (float)',
    category: 'wrong type',
    args: ['run', '--config-file', '{conf}'],
    config: '[ops]\nstall_threshold = abc\n',
    status: 1,
    error: /\[ops\] stall_threshold: expected a number > 0 and <= 3600, got 'abc'$/,
  },
  {
    name: '[vim_monitor] interval = x (int)',
    category: 'wrong type',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[vim_monitor]\ninterval = x\n',
    status: 1,
    error: /\[vim_monitor\] interval: expected an integer >= 1, got 'x'$/,
  },
  {
    name: 'CONDUCTOR_DEFAULT__REPORT_INTERVAL=abc (environment)',
    category: 'wrong type',
    args: ['config', 'show'],
    env: { CONDUCTOR_DEFAULT__REPORT_INTERVAL: 'abc' },
    status: 1,
    error:
      /environment variable CONDUCTOR_DEFAULT__REPORT_INTERVAL \[DEFAULT\] report_interval: expected an integer >= 0, got 'abc'$/,
  },
  {
    name: '--set DEFAULT.report_interval=x (command line)',
    category: 'wrong type',
    args: ['config', 'show', '--set', 'DEFAULT.report_interval=x'],
    status: 2,
    error:
      /command-line option 'DEFAULT\.report_interval' \[DEFAULT\] report_interval: expected an integer >= 0, got 'x'$/,
  },

  // ---- out of range / not a choice -------------------------------------------------------------
  {
    name: '[DEFAULT] report_interval = -1 (int >= 0)',
    category: 'out of range',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nreport_interval = -1\n',
    status: 1,
    error: new RegExp(
      `${CONF} \\[DEFAULT\\] report_interval: expected an integer >= 0, got '-1'$`,
      'm',
    ),
  },
  {
    name: '[DEFAULT] periodic_mode = sometimes (enum)',
    category: 'out of range',
    args: ['run', '--config-file', '{conf}'],
    config: '[DEFAULT]\nperiodic_mode = sometimes\n',
    status: 1,
    error:
      /\[DEFAULT\] periodic_mode: expected one of 'exact', 'fixed', 'dynamic', got 'sometimes'$/m,
  },
  {
    name: '[oslo_messaging_rabbit] rabbit_connect_timeout = 0 (> 0)',
    category: 'out of range',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nrabbit_connect_timeout = 0\n',
    status: 1,
    error:
      /\[oslo_messaging_rabbit\] rabbit_connect_timeout: expected a number > 0 and <= 3600, got '0'$/m,
  },
  {
    name: '[oslo_messaging_rabbit] rabbit_connect_timeout = 4000 (<= 3600)',
    category: 'out of range',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nrabbit_connect_timeout = 4000\n',
    status: 1,
    error:
      /\[oslo_messaging_rabbit\] rabbit_connect_timeout: expected a number > 0 and <= 3600, got '4000'$/m,
  },
  {
    name: '[oslo_messaging_rabbit] rabbit_login_method = KERBEROS (enum)',
    category: 'out of range',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nrabbit_login_method = KERBEROS\n',
    status: 1,
    error:
      /\[oslo_messaging_rabbit\] rabbit_login_method: expected one of 'AMQPLAIN', 'PLAIN', 'EXTERNAL', got 'KERBEROS'$/m,
  },
  {
    name: '[ops] stall_window = -5 (> 0)',
    category: 'out of range',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[ops]\nstall_window = -5\n',
    status: 1,
    error: /\[ops\] stall_window: expected a number > 0 and <= 86400, got '-5'$/m,
  },
  {
    name: '[vim_monitor] concurrency = 0 (1..4096)',
    category: 'out of range',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[vim_monitor]\nconcurrency = 0\n',
    status: 1,
    error: /\[vim_monitor\] concurrency: expected an integer >= 1 and <= 4096, got '0'$/m,
  },
  {
    name: 'CONDUCTOR_DEFAULT__REPORT_INTERVAL=-3 (environment, out of range)',
    category: 'out of range',
    args: ['config', 'show'],
    env: { CONDUCTOR_DEFAULT__REPORT_INTERVAL: '-3' },
    status: 1,
    error:
      /environment variable CONDUCTOR_DEFAULT__REPORT_INTERVAL \[DEFAULT\] report_interval: expected an integer >= 0, got '-3'$/m,
  },
  {
    name: '--set DEFAULT.report_interval=-1 (command line, out of range)',
    category: 'out of range',
    args: ['config', 'show', '--set', 'DEFAULT.report_interval=-1'],
    status: 2,
    error:
      /command-line option 'DEFAULT\.report_interval' \[DEFAULT\] report_interval: expected an integer >= 0, got '-1'$/,
  },

  // ---- cross-field rules -----------------------------------------------------------------------
  {
    name: 'rabbit_interval_max < rabbit_retry_interval',
    category: 'rule',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nrabbit_retry_interval = 10\nrabbit_interval_max = 2\n',
    status: 1,
    error:
      /rabbit_interval_max must be >= rabbit_retry_interval: \[oslo_messaging_rabbit\] rabbit_interval_max = 2 \(from \S+conductor\.conf\), \[oslo_messaging_rabbit\] rabbit_retry_interval = 10/,
  },
  {
    name: '[coordination] heartbeat_interval >= lease_ttl',
    category: 'rule',
    args: ['members', '--config-file', '{conf}'],
    config: '[coordination]\nheartbeat_interval = 20\nlease_ttl = 10\n',
    status: 1,
    error:
      /heartbeat_interval must be less than lease_ttl: \[coordination\] heartbeat_interval = 20 \(from \S+conductor\.conf\), \[coordination\] lease_ttl = 10/,
  },
  {
    name: '[coordination] heartbeat_interval >= lease_ttl from --set alone',
    category: 'rule',
    args: ['config', 'show', '--set', 'coordination.heartbeat_interval=20'],
    // A rule broken by the command line alone (its other value a default) is a usage error.
    status: 2,
    error:
      /heartbeat_interval must be less than lease_ttl: \[coordination\] heartbeat_interval = 20 \(from command-line option 'coordination\.heartbeat_interval'\)/,
  },
  {
    name: 'ssl_cert_file without ssl_key_file',
    category: 'rule',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nssl = true\nssl_cert_file = /etc/conductor/cert.pem\n',
    status: 1,
    error:
      /ssl_cert_file and ssl_key_file must be given together: \[oslo_messaging_rabbit\] ssl_cert_file = \/etc\/conductor\/cert\.pem .*ssl_key_file = <unset>/,
  },
  {
    name: 'ssl_ca_file without ssl = true',
    category: 'rule',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nssl_ca_file = /etc/conductor/ca.pem\n',
    status: 1,
    error: /ssl_ca_file need ssl = true \(or \?ssl=1 in \[DEFAULT\] transport_url\)/,
  },
  {
    name: 'rabbit_quorum_queue with amqp_auto_delete',
    category: 'rule',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\namqp_auto_delete = true\n',
    status: 1,
    error: /rabbit_quorum_queue and amqp_auto_delete exclude each other/,
  },
  {
    name: 'rabbit_login_method EXTERNAL without a client certificate',
    category: 'rule',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nrabbit_login_method = EXTERNAL\n',
    status: 1,
    error: /rabbit_login_method EXTERNAL needs a TLS client certificate/,
  },
  {
    name: 'periodic_mode dynamic with periodic_interval_max = 0',
    category: 'rule',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nperiodic_mode = dynamic\nperiodic_interval_max = 0\n',
    status: 1,
    error: /periodic_interval_max must be > 0 when periodic_mode is dynamic/,
  },
  {
    name: 'two problems in two sections are both listed',
    category: 'rule',
    args: ['config', 'show', '--config-file', '{conf}'],
    config:
      '[coordination]\nlease_ttl = 0.01\n[oslo_messaging_rabbit]\nrabbit_retry_interval = 10\nrabbit_interval_max = 2\n',
    status: 1,
    error:
      /Invalid configuration \(3 problems\)[\s\S]*\[coordination\] lease_ttl: expected a number >= 0\.05, got '0\.01'[\s\S]*rabbit_interval_max must be >= rabbit_retry_interval/,
  },

  // ---- URLs ------------------------------------------------------------------------------------
  {
    name: 'transport_url with an unsupported scheme (rpc call --transport-url)',
    category: 'url',
    args: ['rpc', 'call', '--timeout', '1', '--transport-url', 'kafka://broker:9092/', 'ping'],
    status: 1,
    error: /Unsupported transport 'kafka' \(supported: memory:\/\/, rabbit:\/\/, amqp:\/\/\)$/,
  },
  {
    name: 'transport_url with an unsupported scheme in a file (run)',
    category: 'url',
    args: ['run', '--config-file', '{conf}'],
    config: '[DEFAULT]\ntransport_url = zmq://broker:9092/\n[ops]\nlisten = 0\n',
    status: 1,
    stdout: 'logs',
    error: /the service did not start: Unsupported transport 'zmq'/,
  },
  {
    name: 'transport_url that is not a URL',
    category: 'url',
    args: ['rpc', 'cast', '--transport-url', 'localhost', 'ping'],
    status: 1,
    error: /Invalid transport URL '.*': expected driver:\/\/host\/\.\.\.$/,
  },
  {
    name: 'transport_url with a port out of range',
    category: 'url',
    args: ['rpc', 'call', '--timeout', '1', '--set', 'transport_url=rabbit://h:99999/', 'ping'],
    status: 1,
    error: /Invalid port 99999 in transport URL$/,
  },
  {
    name: 'transport_url with an unterminated IPv6 host',
    category: 'url',
    args: ['rpc', 'call', '--timeout', '1', '--transport-url', 'amqp://[::1/', 'ping'],
    status: 1,
    error: /Invalid host '\[::1' in transport URL$/,
  },
  {
    name: '[coordination] backend_url with an unsupported scheme',
    category: 'url',
    args: ['members', '--config-file', '{conf}'],
    config: '[coordination]\nbackend_url = zookeeper://zk:2181\n',
    status: 1,
    error:
      /Unsupported coordination backend 'zookeeper' \(supported: memory:\/\/, redis:\/\/, postgresql:\/\/\)$/,
  },
  {
    name: "[coordination] backend_url host:port without a scheme ('redis-host:' read as one)",
    category: 'url',
    args: ['members', '--set', 'coordination.backend_url=redis-host:6379'],
    status: 1,
    error:
      /Unsupported coordination backend 'redis-host' \(supported: memory:\/\/, redis:\/\/, postgresql:\/\/\)$/,
  },
  {
    name: '[coordination] backend_url redis with a db that is not a number',
    category: 'url',
    args: ['members', '--set', 'coordination.backend_url=redis://127.0.0.1:6379/notadb'],
    status: 1,
    error:
      /Invalid coordination backend URL redis:\/\/127\.0\.0\.1:6379\/notadb: the db index must be a non-negative integer .*, got 'notadb'$/,
  },
  {
    name: '[coordination] backend_url redis with db 99 (the server has 16)',
    category: 'url',
    args: ['members', '--set', 'coordination.backend_url=redis://127.0.0.1:6379/99'],
    status: 1,
    error:
      /Coordination backend redis:\/\/127\.0\.0\.1:6379\/99 is unavailable: the server refused SELECT 99 \(ERR DB index is out of range\)/,
  },
  {
    name: '[coordination] backend_url redis with a port out of range',
    category: 'url',
    args: ['members', '--config-file', '{conf}'],
    config: '[coordination]\nbackend_url = redis://127.0.0.1:99999/0\n',
    status: 1,
    error:
      /Invalid coordination backend URL redis:\/\/127\.0\.0\.1:99999\/0: invalid port '99999' \(expected an integer 0\.\.65535\)$/,
  },
  {
    name: '[database] connection with an unsupported database',
    category: 'url',
    args: ['services', '--config-file', '{conf}'],
    config: '[database]\nconnection = oracle://tacker@db/tacker\n',
    status: 1,
    error: /Invalid database URL 'oracle:\/\/tacker@db\/tacker': unsupported database 'oracle'/,
  },
  {
    name: '[database] connection that is not a URL',
    category: 'url',
    args: ['vim', 'list', '--set', 'database.connection=conductor.db'],
    status: 1,
    error:
      /Invalid database URL '.*': expected sqlite:\/\/\/relative\.db, sqlite:\/\/\/\/absolute\.db or postgresql:\/\/\.\.\.$/,
  },
  {
    name: '[ops] listen without a port (run)',
    category: 'url',
    args: ['run', '--set', 'ops.listen=localhost'],
    status: 1,
    stdout: 'logs',
    error: /Invalid listen address "localhost": no port/,
  },
  {
    name: '[ops] listen with a port out of range (run)',
    category: 'url',
    args: ['run', '--config-file', '{conf}'],
    config: '[ops]\nlisten = 127.0.0.1:99999\n',
    status: 1,
    stdout: 'logs',
    error: /Invalid listen address "127\.0\.0\.1:99999": the port must be an integer 0\.\.65535/,
  },
  {
    name: 'vim register with an --auth-url that is not a URL',
    category: 'url',
    args: ['vim', 'register', '--name', 'site-a', '--auth-url', 'keystone'],
    status: 1,
    error: /VIM 'site-a': authUrl '.*' is not a URL$/,
  },

  // ---- secrets: the bad value is in a URL with a password --------------------------------------
  {
    name: 'transport_url rabbit://user:s3cret@host:notaport/ (rpc call --transport-url)',
    category: 'secret',
    args: [
      'rpc',
      'call',
      '--timeout',
      '1',
      '--transport-url',
      `rabbit://user:${SECRET}@host:notaport/`,
      'ping',
    ],
    status: 1,
    error: /Invalid host 'host:(notaport|\*\*\*)' in transport URL$/,
  },
  {
    name: 'transport_url with a password and a bad port in a file (run)',
    category: 'secret',
    args: ['run', '--config-file', '{conf}'],
    config: `[DEFAULT]\ntransport_url = rabbit://user:${SECRET}@host:notaport/\n[ops]\nlisten = 0\n`,
    status: 1,
    stdout: 'logs',
    error: /the service did not start: Invalid host 'host:(notaport|\*\*\*)' in transport URL$/,
  },
  {
    name: 'transport_url with a password and a bad port in the environment (rpc cast)',
    category: 'secret',
    args: ['rpc', 'cast', 'ping'],
    env: { CONDUCTOR_DEFAULT__TRANSPORT_URL: `amqp://user:${SECRET}@host:-1/` },
    status: 1,
    error: /Invalid host 'host:(-1|\*\*\*)' in transport URL$/,
  },
  {
    name: 'transport_url with a password and a bad ?ssl= query',
    category: 'secret',
    args: [
      'rpc',
      'call',
      '--timeout',
      '1',
      '--set',
      `transport_url=rabbit://user:${SECRET}@127.0.0.1:5672/?ssl=maybe`,
      'ping',
    ],
    status: 1,
    error: /rabbit option ssl must be a boolean .*, got "maybe"$/,
  },
  {
    name: 'transport_url with a password that is not a URL',
    category: 'secret',
    args: ['rpc', 'cast', '--transport-url', `user:${SECRET}@host`, 'ping'],
    status: 1,
    error: /Invalid transport URL '\*\*\*': expected driver:\/\/host\/\.\.\.$/,
  },
  {
    name: 'backend_url redis://:s3cret@host:notaport',
    category: 'secret',
    args: ['members', '--set', `coordination.backend_url=redis://:${SECRET}@host:notaport`],
    status: 1,
    error:
      /Invalid coordination backend URL redis:\/\/\*\*\*@host:notaport: invalid port 'notaport'/,
  },
  {
    name: 'backend_url redis://user:s3cret (a password without @host reads as a port)',
    category: 'secret',
    args: ['members', '--config-file', '{conf}'],
    config: `[coordination]\nbackend_url = redis://user:${SECRET}\n`,
    status: 1,
    error:
      /Invalid coordination backend URL redis:\/\/user:\*\*\*: invalid port \(expected an integer 0\.\.65535\)$/,
  },
  {
    name: 'database connection with a password and a bad port',
    category: 'secret',
    args: ['services', '--config-file', '{conf}'],
    config: `[database]\nconnection = postgresql://tacker:${SECRET}@db:notaport/tacker\n`,
    status: 1,
    error:
      /Invalid database URL 'postgresql:\/\/\*\*\*@db:notaport\/tacker': not a valid PostgreSQL URL$/,
  },
  {
    name: 'database connection with a password and an unsupported database',
    category: 'secret',
    args: ['vim', 'list', '--set', `database.connection=mysql://tacker:${SECRET}@db/tacker`],
    status: 1,
    error:
      /Invalid database URL 'mysql:\/\/tacker:\*\*\*@db\/tacker': unsupported database 'mysql'/,
  },

  // ---- command line ----------------------------------------------------------------------------
  {
    name: 'an unknown command',
    category: 'cli',
    args: ['frobnicate'],
    status: 2,
    error: /^conductor: unknown command 'frobnicate'$/,
  },
  {
    name: 'a misspelt command gets a suggestion',
    category: 'cli',
    args: ['confg', 'show'],
    status: 2,
    error: /^conductor: unknown command 'confg' \(Did you mean config\?\)$/,
  },
  {
    name: 'an unknown sub-command',
    category: 'cli',
    args: ['config', 'bogus'],
    status: 2,
    error: /^conductor: unknown command 'bogus'$/,
  },
  {
    name: 'an unknown global flag',
    category: 'cli',
    args: ['--frobnicate', 'config', 'show'],
    status: 2,
    error: /^conductor: unknown option '--frobnicate'$/,
  },
  {
    name: 'a misspelt flag of config show gets a suggestion',
    category: 'cli',
    args: ['config', 'show', '--formt', 'json'],
    status: 2,
    error: /^conductor: unknown option '--formt' \(Did you mean --format\?\)$/,
  },
  {
    name: 'config show --format xml',
    category: 'cli',
    args: ['config', 'show', '--format', 'xml'],
    status: 2,
    error:
      /option '--format <format>' argument 'xml' is invalid\. Allowed choices are table, json\.$/,
  },
  {
    name: '--config-file without its argument',
    category: 'cli',
    args: ['config', 'show', '--config-file'],
    status: 2,
    error: /option '--config-file <file>' argument missing$/,
  },
  {
    name: 'rpc call without a method',
    category: 'cli',
    args: ['rpc', 'call', '--topic', 'TACKER_CONDUCTOR'],
    status: 2,
    error: /^conductor: missing required argument 'method'$/,
  },
  {
    name: 'rpc without call or cast',
    category: 'cli',
    args: ['rpc'],
    status: 2,
    error: /^conductor: rpc needs a command: call or cast \(see conductor rpc --help\)$/,
  },
  {
    name: 'vim without a sub-command',
    category: 'cli',
    args: ['vim'],
    status: 2,
    error: /^conductor: vim needs a command: register, list or show \(see conductor vim --help\)$/,
  },
  {
    name: 'no command at all',
    category: 'cli',
    args: ['--config-file', '{conf}'],
    config: '[DEFAULT]\n',
    status: 2,
    error: /^conductor: missing command: run, config, rpc, .* \(see conductor --help\)$/,
  },
  {
    name: 'vim register without --name',
    category: 'cli',
    args: ['vim', 'register', '--auth-url', 'http://keystone:5000/v3'],
    status: 2,
    error: /required option '--name <name>' not specified$/,
  },
  {
    name: "--set without '='",
    category: 'cli',
    args: ['config', 'show', '--set', 'DEFAULT.debug'],
    status: 2,
    error:
      /option '--set <section\.option=value>' argument 'DEFAULT\.debug' is invalid\. expected section\.option=value/,
  },
  {
    name: '--set with an empty key',
    category: 'cli',
    args: ['run', '--set', '=true'],
    status: 2,
    error: /option '--set <section\.option=value>' argument '=true' is invalid/,
  },
  {
    name: '--set of an unknown option',
    category: 'cli',
    args: ['config', 'show', '--set', 'DEFAULT.report_intervall=5'],
    status: 2,
    error:
      /command-line option 'DEFAULT\.report_intervall': no such option report_intervall in group \[DEFAULT\]$/,
  },
  {
    name: '--set in an unknown section',
    category: 'cli',
    args: ['rpc', 'call', '--set', 'rabbit.rabbit_retry_interval=1', 'ping'],
    status: 2,
    error:
      /command-line option 'rabbit\.rabbit_retry_interval': no such option rabbit_retry_interval in group \[rabbit\]$/,
  },
  {
    name: 'run --workers 0',
    category: 'cli',
    args: ['run', '--workers', '0'],
    status: 2,
    error: /option '--workers <n>' argument '0' is invalid\. must be a whole number >= 1$/,
  },
  {
    name: 'run --workers two',
    category: 'cli',
    args: ['run', '--workers', 'two'],
    status: 2,
    error: /option '--workers <n>' argument 'two' is invalid/,
  },
  {
    name: 'rpc call --args with invalid JSON',
    category: 'cli',
    args: ['rpc', 'call', '--args', '{"vim_id": ', 'update_vim'],
    status: 2,
    error: /option '--args <json>' argument '\{"vim_id": ' is invalid\. not valid JSON/,
  },
  {
    name: 'rpc call --args with a JSON array',
    category: 'cli',
    args: ['rpc', 'call', '--args', '[1, 2]', 'update_vim'],
    status: 2,
    error: /option '--args <json>' argument '\[1, 2\]' is invalid\. must be a JSON object/,
  },
  {
    name: 'rpc call with a parameter that is not key=value',
    category: 'cli',
    args: ['rpc', 'call', 'update_vim', 'vim_id=1', 'REACHABLE'],
    status: 2,
    error: /argument 'REACHABLE' is not key=value/,
  },
  {
    name: 'rpc call --version one',
    category: 'cli',
    args: ['rpc', 'call', '--version', 'one', 'ping'],
    status: 2,
    error: /option '--version <version>' argument 'one' is invalid\. must be major\.minor/,
  },
  {
    name: 'rpc call --timeout -1',
    category: 'cli',
    args: ['rpc', 'call', '--timeout', '-1', 'ping'],
    status: 2,
    error: /option '--timeout <seconds>' argument '-1' is invalid\. must be a positive number/,
  },
  {
    name: 'rpc call --fanout',
    category: 'cli',
    args: ['rpc', 'call', '--fanout', 'ping'],
    status: 2,
    error: /--fanout cannot be used with 'rpc call'/,
  },

  // ---- --manager -------------------------------------------------------------------------------
  {
    name: 'run --manager of a package that does not exist',
    category: 'manager',
    args: ['run', '--manager', 'nonexistent#Class'],
    status: 2,
    error:
      /Cannot import module 'nonexistent' \(from 'nonexistent#Class'\): Cannot find package 'nonexistent'/,
  },
  {
    name: 'run --manager of a file that does not exist',
    category: 'manager',
    args: ['run', '--manager', './dist/nope.js#NopeManager'],
    status: 2,
    error:
      /Cannot import module '\.\/dist\/nope\.js' \(from '\.\/dist\/nope\.js#NopeManager'\): Cannot find module/,
  },
  {
    name: 'run --manager of a module without that class',
    category: 'manager',
    args: ['run', '--manager', '{fixture}#NoSuchManager'],
    status: 2,
    error:
      /Module '\S+manager\.mjs' has no export 'NoSuchManager'; its classes and functions: FixtureManager$/,
  },
  {
    name: 'run --manager of a module without #Class or a default export',
    category: 'manager',
    args: ['run', '--manager', '{fixture}'],
    status: 2,
    error: /Module '\S+manager\.mjs' has no export 'default'/,
  },
  {
    name: 'run --manager of a function, not a class',
    category: 'manager',
    args: ['run', '--manager', 'node:fs#readFile'],
    status: 2,
    error: /'node:fs#readFile' is not a class \(it is a plain function\)$/,
  },
  {
    name: 'run --manager of a class that is not a Manager',
    category: 'manager',
    args: ['run', '--manager', 'node:events#EventEmitter'],
    status: 2,
    error: /node:events#EventEmitter is not a Manager class \(it has no initHost method\)$/,
  },
  {
    name: 'tasks --manager of a class without periodic tasks',
    category: 'manager',
    args: ['tasks', '--manager', 'node:events#EventEmitter'],
    status: 2,
    error: /EventEmitter is not a Manager or PeriodicTasks class/,
  },
];

/** Inputs the project accepts with a warning: unknown options and sections are ignored (oslo). */
export const WARNING_CASES: readonly WarningCase[] = [
  {
    name: 'an unknown option in [DEFAULT]',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nreport_intervall = 5\n',
    warning: /^Unknown option \[DEFAULT\] report_intervall in \S+conductor\.conf:2 \(ignored\)$/,
  },
  {
    name: 'an unknown option in a known section',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[oslo_messaging_rabbit]\nrabbit_hosts = a,b\n',
    warning:
      /^Unknown option \[oslo_messaging_rabbit\] rabbit_hosts in \S+conductor\.conf:2 \(ignored\)$/,
  },
  {
    name: 'an unknown section',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[keystone_authtoken]\nauth_url = http://keystone:5000/v3\n',
    warning: /^Unknown section \[keystone_authtoken\] in \S+conductor\.conf \(ignored\)$/,
  },
  {
    name: '[default] in lower case',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[default]\nhost = node-1\n',
    warning: /^Unknown section \[default\] .*did you mean \[DEFAULT\]\? It is case-sensitive\)$/,
  },
  {
    name: 'a malformed line holding a password is not quoted',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: `[DEFAULT]\ntransport_url rabbit://user:${SECRET}@host/\n`,
    warning:
      /^Unknown option \[DEFAULT\] <not an option name> in \S+conductor\.conf:2 \(ignored\)$/,
  },
  {
    name: 'an unknown CONDUCTOR_ variable',
    args: ['config', 'show'],
    env: { CONDUCTOR_DEFAULT__REPORT_INTERVALL: '5' },
    warning:
      /^Environment variable CONDUCTOR_DEFAULT__REPORT_INTERVALL matches no registered option \(ignored\)$/,
  },
  {
    name: 'a key set twice',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nhost = node-1\nhost = node-2\n',
    warning: /^\[DEFAULT\] host is set more than once in \S+conductor\.conf \(lines 2 and 3\)/,
  },
  {
    name: 'a deprecated option name',
    args: ['config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT]\nrpc_thread_pool_size = 8\n',
    warning:
      /^Option "rpc_thread_pool_size" from group "DEFAULT" is deprecated\. Use option "executor_thread_pool_size"/,
  },
];
