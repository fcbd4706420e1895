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
 * The helpers and the refusals are bench/faults/security.ts's (bench/faults/security-runs.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callAndCast,
  Echo,
  FAST,
  openTransport,
  refusal,
  runCli,
  startTlsRabbit,
  TLS_REFUSALS,
  tlsCliArgs,
  tlsConnections,
  unverifiedTls,
  urlFor,
} from '../../bench/faults/security-runs.js';
import type { TlsRabbit } from '../../bench/faults/security-runs.js';
import { createLogger, RequestContext } from '../../src/core/index.js';
import {
  getRpcServer,
  MessageDeliveryFailure,
  RpcClient,
  type RpcServer,
  type Transport,
} from '../../src/messaging/index.js';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { hasRabbitServer, stopRabbitNodes } from '../helpers/rabbit-node.js';
import { requireService } from '../helpers/services.js';
import { hasOpenssl } from '../helpers/tls-certs.js';

const ready = await requireService(
  'rabbitmq-server and openssl (a private RabbitMQ node with a TLS listener)',
  hasRabbitServer() && hasOpenssl(),
);
const CLI = `${ROOT}dist/src/cli/main.js`;
const EXCHANGE = 'tls_test';
const ctx = (): RequestContext => new RequestContext({ userId: 'tls-test', projectId: 'p' });
const silent = () => createLogger({ level: process.env['CONDUCTOR_LOG_LEVEL'] ?? 'silent' });

describe.skipIf(!ready)('TLS to RabbitMQ (a private node with AMQPS listeners)', () => {
  let tls: TlsRabbit;
  let serverT: Transport;
  let server: RpcServer;
  const echo = new Echo();
  const topic = `tls-${randomUUID().slice(0, 8)}`;
  const opened: Transport[] = [];
  const guest = urlFor('guest:guest');
  const url = (host = '127.0.0.1', port = tls.tlsPort, scheme = 'rabbit'): string =>
    guest(host, port, scheme);

  async function open(transportUrl: string, rabbit: Record<string, unknown>): Promise<Transport> {
    const t = await openTransport(transportUrl, rabbit, { exchange: EXCHANGE, logger: silent() });
    opened.push(t);
    return t;
  }

  beforeAll(async () => {
    ensureBuilt(); // for the CLI case (builds dist/ when older than src/)
    tls = await startTlsRabbit();
    serverT = await open(url(), { ssl: true, ssl_ca_file: tls.certs.ca.certFile });
    server = getRpcServer(serverT, { topic, server: 'tls-host' }, [echo]);
    await server.start();
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await server?.wait();
    for (const t of opened) await t.close().catch(() => undefined);
    await stopRabbitNodes();
    tls?.certs.remove();
  }, 60_000);

  it('calls and casts over ssl = true with ssl_ca_file, on a TLS connection', async () => {
    const t = await open(url(), { ssl: true, ssl_ca_file: tls.certs.ca.certFile });
    const answer = await callAndCast(t, {
      topic,
      echo,
      value: 'over tls',
      castValue: 'cast over tls',
    });
    expect(answer).toBe('over tls');
    // Every connection the broker has (server, client) is TLS; none came in on the plain port.
    const conns = await tlsConnections(tls.node);
    expect(conns.length).toBeGreaterThanOrEqual(3);
    for (const [ssl, protocol] of conns) {
      expect(ssl).toBe('true');
      expect(protocol).toMatch(/^tlsv1\.[23]$/);
    }
    await t.close();
  });

  it('calls and casts with an amqps:// URL (by the name localhost, the default port not used)', async () => {
    const t = await open(url('localhost', tls.tlsPort, 'amqps'), {
      ssl_ca_file: tls.certs.ca.certFile,
    });
    const answer = await callAndCast(t, { topic, echo, value: 'amqps', castValue: 'amqps cast' });
    expect(answer).toBe('amqps');
    await t.close();
  });

  it.each(TLS_REFUSALS.map((k) => [k.title, k] as const))('%s', async (_title, k) => {
    const port = k.listener === 'tls' ? tls.tlsPort : tls.wrongHostPort;
    const r = await refusal(url(k.host, port), k.rabbit(tls.certs), { exchange: EXCHANGE, topic });
    expect(r.error).toMatch(k.error);
    // The first attempt, within rabbit_connect_timeout; the driver keeps retrying, no hang.
    expect(r.ms).toBeLessThan(FAST.rabbit_connect_timeout * 1000);
    expect(r.call).toBeInstanceOf(MessageDeliveryFailure);
    expect(r.callMs).toBeLessThan(1000 + 2000);
    expect(r.connected).toBe(false);
  });

  it('connects despite a wrong CA or host name with ssl_verify = false (no verification)', async () => {
    for (const target of [url(), url('127.0.0.1', tls.wrongHostPort)]) {
      const t = await open(target, unverifiedTls(tls.certs));
      expect(t.connected).toBe(true);
      const client = new RpcClient(t, { topic }, { timeout: 10 });
      expect(await client.call(ctx(), 'echo', { value: 'unverified' })).toBe('unverified');
      await t.close();
    }
  });

  it('conductor rpc call over TLS; a wrong CA exits 1 naming the certificate problem', async () => {
    const args = (ca: string): string[] =>
      tlsCliArgs(url(), ca, { exchange: EXCHANGE, topic, value: 'from the cli' });
    const ok = await runCli(CLI, args(tls.certs.ca.certFile));
    expect(ok.code, ok.out).toBe(0);
    expect(ok.stdout.trim()).toBe('"from the cli"');

    const bad = await runCli(CLI, args(tls.certs.wrongCa.certFile));
    expect(bad.code).toBe(1);
    expect(bad.ms).toBeLessThan(15_000);
    expect(bad.stderr).toMatch(/certificate/);
  }, 60_000);
});
