/**
 * Throw-away RabbitMQ nodes for fault tests and benches: a node of its own per test file (own name, ports and
 * data directory), so that `stop_app`, `close_all_connections` or a TLS listener never touch the
 * machine's broker that other test files use at the same time. Every node started here is stopped
 * by {@link stopRabbitNodes}. Starting one takes about 5 s.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** True when `rabbitmq-server` and `rabbitmqctl` are installed (the Debian package). */
export function hasRabbitServer(): boolean {
  return (
    spawnSync('sh', ['-c', 'command -v rabbitmq-server && command -v rabbitmqctl'], {
      stdio: 'ignore',
    }).status === 0
  );
}

/** PEM files for the node's TLS listener (paths; the node's user must be able to read them). */
export interface RabbitNodeTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A private RabbitMQ node on 127.0.0.1. */
export interface RabbitNode {
  /** Erlang node name, `ct-<pid>-<id>@localhost`. */
  readonly name: string;
  /** The plain AMQP port. */
  readonly port: number;
  /** `rabbit://guest:guest@127.0.0.1:<port>/`. */
  readonly url: string;
  /** The TLS port, when started with `tls`. */
  readonly tlsPort: number | undefined;
  /** The node's data and log directory. */
  readonly dir: string;
  /** `rabbitmqctl -n <node> <args>`; resolves with its stdout. */
  ctl(...args: string[]): Promise<string>;
  /** `rabbitmqctl stop_app`: the broker goes, the Erlang node stays. */
  stopApp(): Promise<void>;
  /** `rabbitmqctl start_app`, then waits until the AMQP port answers. */
  startApp(): Promise<void>;
  /** `rabbitmqctl close_all_connections <why>`. */
  closeAllConnections(why?: string): Promise<void>;
  /** `rabbitmqctl list_consumers`: one `queue<TAB>consumer tag` string per consumer, sorted. */
  listConsumers(vhost?: string): Promise<string[]>;
  /** `rabbitmqctl list_connections name`: one client-provided name per connection. */
  listConnections(): Promise<string[]>;
  /** Stops the node and deletes its directory. */
  stop(): Promise<void>;
}

export interface RabbitNodeOptions {
  /** Also listen for TLS (AMQPS) on a free port with these files. */
  readonly tls?: RabbitNodeTls;
  /** More lines for rabbitmq.conf. */
  readonly config?: readonly string[];
}

const nodes = new Set<RabbitNode>();
// A test process that dies (a timeout, a crash) before its afterAll must not leave nodes behind.
process.once('exit', () => {
  for (const n of nodes) killByPidFile(n.dir);
});

function rabbitUid(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'rabbitmq'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'rabbitmq'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Makes `path` (and what is in it) the node user's, since rabbitmq-server drops root. */
export function giveToRabbit(...paths: string[]): void {
  const owner = rabbitUid();
  if (!owner) return;
  for (const p of paths) chownSync(p, owner.uid, owner.gid);
}

/** Starts a private node and waits until its AMQP port (and TLS port) accepts connections. */
export async function startRabbitNode(options: RabbitNodeOptions = {}): Promise<RabbitNode> {
  const id = randomUUID().slice(0, 8);
  const name = `ct-${process.pid}-${id}@localhost`;
  const dir = join(tmpdir(), `rabbit-node-${process.pid}-${id}`);
  mkdirSync(join(dir, 'mnesia'), { recursive: true });
  mkdirSync(join(dir, 'log'), { recursive: true });
  const port = await freePort();
  const distPort = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  const conf = [
    `listeners.tcp.local = 127.0.0.1:${port}`,
    'loopback_users = none',
    ...(options.tls && tlsPort !== undefined
      ? [
          `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
          `ssl_options.cacertfile = ${options.tls.caFile}`,
          `ssl_options.certfile = ${options.tls.certFile}`,
          `ssl_options.keyfile = ${options.tls.keyFile}`,
          'ssl_options.verify = verify_none',
          'ssl_options.fail_if_no_peer_cert = false',
        ]
      : []),
    ...(options.config ?? []),
  ];
  writeFileSync(join(dir, 'rabbitmq.conf'), `${conf.join('\n')}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  giveToRabbit(dir, join(dir, 'mnesia'), join(dir, 'log'), join(dir, 'rabbitmq.conf'));
  giveToRabbit(join(dir, 'enabled_plugins'));
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const ctl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('rabbitmqctl', ['-q', '-n', name, ...args], {
      timeout: 60_000,
      env,
    });
    return stdout;
  };
  await run('rabbitmq-server', ['-detached'], { env, timeout: 30_000 });
  // `wait <pid file>` waits for the file, then the Erlang node, then the broker app; at start,
  // await_startup would fail at once while the node is not yet registered with epmd.
  const ready = async (): Promise<void> => {
    await ctl('wait', join(dir, 'pid'), '--timeout', '60');
  };
  try {
    await ready();
  } catch (err) {
    const log = (() => {
      try {
        return readFileSync(join(dir, 'log', `${name}.log`), 'utf8').slice(-2000);
      } catch {
        return '(no log)';
      }
    })();
    // It may have started after all (or be half-way): never leave a node behind.
    await ctl('stop').catch(() => killByPidFile(dir));
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`RabbitMQ node ${name} did not start: ${String(err)}\n${log}`);
  }
  let stopped = false;
  const node: RabbitNode = {
    name,
    port,
    url: `rabbit://guest:guest@127.0.0.1:${port}/`,
    tlsPort,
    dir,
    ctl,
    async stopApp() {
      await ctl('stop_app');
    },
    async startApp() {
      await ctl('start_app');
      await ctl('await_startup', '--timeout', '60');
    },
    async closeAllConnections(why = 'closed by test') {
      await ctl('close_all_connections', why);
    },
    async listConsumers(vhost = '/') {
      const out = await ctl('list_consumers', '-p', vhost, '--no-table-headers');
      return out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.split('\t').slice(0, 3).join('\t'))
        .sort();
    },
    async listConnections() {
      const out = await ctl('list_connections', 'client_properties', '--no-table-headers');
      return out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => /connection_name","?([^"]*)"/.exec(l)?.[1] ?? l);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      nodes.delete(node);
      await ctl('stop').catch(() => killByPidFile(dir));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  nodes.add(node);
  return node;
}

/** SIGKILLs the node whose pid file is in `dir`, if there is one (a node `rabbitmqctl` cannot stop). */
function killByPidFile(dir: string): void {
  try {
    process.kill(Number(readFileSync(join(dir, 'pid'), 'utf8').trim()), 'SIGKILL');
  } catch {
    // no pid file, or the process is gone
  }
}

/** Stops every node started here that still runs. */
export async function stopRabbitNodes(): Promise<void> {
  await Promise.all([...nodes].map((n) => n.stop()));
}
