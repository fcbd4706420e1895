/**
 * Issue 16, scenario 6, TLS: the RabbitMQ driver against a real TLS listener. A private RabbitMQ
 * node of this file's own (test/helpers/rabbit-node.ts) listens for AMQPS with a server certificate
 * for `localhost` and 127.0.0.1 signed by a CA made here (test/helpers/tls-certs.ts), plus a second
 * AMQPS listener whose certificate, from the same CA, names only `not-this-host.example`.
 *
 * - `ssl = true` + `ssl_ca_file`, and an `amqps://` URL: calls and casts go over TLS (the broker
 *   says so: `rabbitmqctl list_connections ssl ssl_protocol`);
 * - a CA that did not sign the broker's certificate, no `ssl_ca_file` (the system CAs), and a
 *   certificate for another host name are refused: the first attempt fails within
 *   `rabbit_connect_timeout`, its error log line names the certificate problem, and a call fails
 *   with `MessageDeliveryFailure` within its timeout (the driver keeps retrying: no hang, no crash);
 * - `ssl_verify = false` connects despite a wrong CA or host name (documented: no verification);
 * - the built CLI (`conductor rpc call`) over TLS, and refusing a wrong CA with exit status 1.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, RequestContext } from '../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  MessageDeliveryFailure,
  RpcClient,
  type RpcServer,
  type Transport,
} from '../../src/messaging/index.js';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import {
  giveToRabbit,
  hasRabbitServer,
  type RabbitNode,
  startRabbitNode,
  stopRabbitNodes,
} from '../helpers/rabbit-node.js';
import { freePort, requireService } from '../helpers/services.js';
import { addTlsListener, hasOpenssl, makeTlsCerts, type TlsCerts } from '../helpers/tls-certs.js';

const ready = await requireService(
  'rabbitmq-server and openssl (a private RabbitMQ node with a TLS listener)',
  hasRabbitServer() && hasOpenssl(),
);
const run = promisify(execFile);
const CLI = `${ROOT}dist/src/cli/main.js`;
const EXCHANGE = 'tls_test';
/** Retries quick enough for a test; the first attempt bounded by rabbit_connect_timeout. */
const FAST = { rabbit_retry_interval: 0.2, rabbit_retry_backoff: 0.2, rabbit_connect_timeout: 5 };
const ctx = (): RequestContext => new RequestContext({ userId: 'tls-test', projectId: 'p' });
const silent = () => createLogger({ level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'silent' });

class Echo {
  readonly seen: unknown[] = [];
  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    this.seen.push(args.value);
    return args.value;
  }
}

/** Polls `cond` every 20 ms; throws after `timeoutMs`. */
async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!ready)('TLS to RabbitMQ (a private node with AMQPS listeners)', () => {
  let certs: TlsCerts;
  let node: RabbitNode;
  let tlsPort: number;
  /** The second listener: a certificate for not-this-host.example, signed by the right CA. */
  let wrongHostPort: number;
  let serverT: Transport;
  let server: RpcServer;
  const echo = new Echo();
  const topic = `tls-${randomUUID().slice(0, 8)}`;
  const opened: Transport[] = [];

  const url = (host = '127.0.0.1', port = tlsPort, scheme = 'rabbit'): string =>
    `${scheme}://guest:guest@${host}:${port}/`;

  async function open(
    transportUrl: string,
    rabbit: Record<string, unknown>,
    logger = silent(),
  ): Promise<Transport> {
    const t = await getRpcTransport({
      transportUrl,
      controlExchange: EXCHANGE,
      rabbit: { ...FAST, ...rabbit },
      logger,
    });
    opened.push(t);
    return t;
  }

  /** `rabbitmqctl list_connections ssl ssl_protocol`: one `[ssl, protocol]` per connection. */
  async function connections(): Promise<string[][]> {
    const out = await node.ctl('list_connections', 'ssl', 'ssl_protocol', '--no-table-headers');
    return out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.trim().split('\t'));
  }

  /**
   * Opens a transport that must be refused: the first attempt's error line, how long it took, and
   * a call's failure (within its timeout).
   */
  async function refused(
    transportUrl: string,
    rabbit: Record<string, unknown>,
  ): Promise<{ error: string; ms: number; call: unknown; callMs: number; connected: boolean }> {
    const logs = captureLogs();
    const t0 = Date.now();
    const t = await open(transportUrl, rabbit, logs.logger);
    const line = logs.lines.find((l) => l.level === LEVEL.error);
    const ms = Date.now() - t0;
    const c0 = Date.now();
    const call = await new RpcClient(t, { topic }, { timeout: 1 })
      .call(ctx(), 'echo', { value: 'never' })
      .catch((e: unknown) => e);
    const callMs = Date.now() - c0;
    const connected = t.connected;
    await t.close();
    return { error: line?.msg ?? '(no error line)', ms, call, callMs, connected };
  }

  beforeAll(async () => {
    ensureBuilt(); // for the CLI case (builds dist/ when older than src/)
    certs = await makeTlsCerts();
    giveToRabbit(certs.dir, certs.ca.certFile, certs.server.certFile, certs.server.keyFile);
    giveToRabbit(certs.wrongHost.certFile, certs.wrongHost.keyFile);
    node = await startRabbitNode({
      tls: {
        caFile: certs.ca.certFile,
        certFile: certs.server.certFile,
        keyFile: certs.server.keyFile,
      },
    });
    tlsPort = node.tlsPort as number;
    wrongHostPort = await freePort();
    await addTlsListener(node.ctl, wrongHostPort, certs.wrongHost, certs.ca.certFile);
    serverT = await open(url(), { ssl: true, ssl_ca_file: certs.ca.certFile });
    server = getRpcServer(serverT, { topic, server: 'tls-host' }, [echo]);
    await server.start();
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await server?.wait();
    for (const t of opened) await t.close().catch(() => undefined);
    await stopRabbitNodes();
    certs?.remove();
  }, 60_000);

  it('calls and casts over ssl = true with ssl_ca_file, on a TLS connection', async () => {
    const t = await open(url(), { ssl: true, ssl_ca_file: certs.ca.certFile });
    const client = new RpcClient(t, { topic }, { timeout: 10 });
    expect(await client.call(ctx(), 'echo', { value: 'over tls' })).toBe('over tls');
    await client.cast(ctx(), 'echo', { value: 'cast over tls' });
    await waitFor(() => echo.seen.includes('cast over tls'), 5000, 'the cast');
    // Every connection the broker has (server, client) is TLS; none came in on the plain port.
    const conns = await connections();
    expect(conns.length).toBeGreaterThanOrEqual(3);
    for (const [ssl, protocol] of conns) {
      expect(ssl).toBe('true');
      expect(protocol).toMatch(/^tlsv1\.[23]$/);
    }
    await t.close();
  });

  it('calls and casts with an amqps:// URL (by the name localhost, the default port not used)', async () => {
    const t = await open(url('localhost', tlsPort, 'amqps'), { ssl_ca_file: certs.ca.certFile });
    const client = new RpcClient(t, { topic }, { timeout: 10 });
    expect(await client.call(ctx(), 'echo', { value: 'amqps' })).toBe('amqps');
    await client.cast(ctx(), 'echo', { value: 'amqps cast' });
    await waitFor(() => echo.seen.includes('amqps cast'), 5000, 'the cast');
    await t.close();
  });

  it('refuses a broker whose certificate the CA file did not sign: a clear error, no hang', async () => {
    const r = await refused(url(), { ssl: true, ssl_ca_file: certs.wrongCa.certFile });
    expect(r.error).toMatch(/AMQP server on 127\.0\.0\.1:\d+ is unreachable: .*certificate/);
    expect(r.ms).toBeLessThan(5000); // the first attempt, within rabbit_connect_timeout
    expect(r.call).toBeInstanceOf(MessageDeliveryFailure);
    expect(r.callMs).toBeLessThan(1000 + 2000);
    expect(r.connected).toBe(false);
  });

  it('refuses it as well with no ssl_ca_file (the system CAs do not know the test CA)', async () => {
    const r = await refused(url(), { ssl: true });
    expect(r.error).toMatch(/is unreachable: .*certificate/);
    expect(r.call).toBeInstanceOf(MessageDeliveryFailure);
  });

  it('refuses a certificate for another host name, even from the right CA', async () => {
    const r = await refused(url('127.0.0.1', wrongHostPort), {
      ssl: true,
      ssl_ca_file: certs.ca.certFile,
    });
    expect(r.error).toMatch(/is unreachable: .*(does not match certificate|altnames)/i);
    expect(r.ms).toBeLessThan(5000);
    expect(r.call).toBeInstanceOf(MessageDeliveryFailure);
    expect(r.callMs).toBeLessThan(1000 + 2000);
    // ... and by the name localhost too.
    const byName = await refused(url('localhost', wrongHostPort), {
      ssl: true,
      ssl_ca_file: certs.ca.certFile,
    });
    expect(byName.error).toMatch(/is unreachable: .*(does not match certificate|altnames)/i);
  });

  it('connects despite a wrong CA or host name with ssl_verify = false (no verification)', async () => {
    for (const target of [url(), url('127.0.0.1', wrongHostPort)]) {
      const t = await open(target, {
        ssl: true,
        ssl_ca_file: certs.wrongCa.certFile,
        ssl_verify: false,
      });
      expect(t.connected).toBe(true);
      const client = new RpcClient(t, { topic }, { timeout: 10 });
      expect(await client.call(ctx(), 'echo', { value: 'unverified' })).toBe('unverified');
      await t.close();
    }
  });

  it('conductor rpc call over TLS; a wrong CA exits 1 naming the certificate problem', async () => {
    const args = (ca: string): string[] => [
      CLI,
      'rpc',
      'call',
      '--transport-url',
      url(),
      '--set',
      'oslo_messaging_rabbit.ssl=true',
      '--set',
      `oslo_messaging_rabbit.ssl_ca_file=${ca}`,
      '--exchange',
      EXCHANGE,
      '--topic',
      topic,
      '--timeout',
      '3',
      'echo',
      'value="from the cli"',
    ];
    const ok = await run(process.execPath, args(certs.ca.certFile), { timeout: 30_000 });
    expect(ok.stdout.trim()).toBe('"from the cli"');

    const t0 = Date.now();
    const bad = await run(process.execPath, args(certs.wrongCa.certFile), {
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(bad.stderr).toMatch(/certificate/);
  }, 60_000);
});
