/**
 * Throw-away TLS material for the security scenario (issue 16, scenario 6) and its tests
 * (test/helpers/tls-certs.ts re-exports this): made with the `openssl` command in a temporary
 * directory, EC keys (prime256v1) so that it takes a fraction of a second.
 *
 * - a CA, and a server certificate it signs for `localhost` (CN and SAN) and the IP 127.0.0.1;
 * - a server certificate the same CA signs for `not-this-host.example` only (hostname checks);
 * - a second, unrelated CA (the "wrong CA"), which signed none of them.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key (PEM file paths). */
export interface CertPair {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The files {@link makeTlsCerts} wrote. */
export interface TlsCerts {
  /** The directory holding every file; {@link TlsCerts.remove} deletes it. */
  readonly dir: string;
  /** The CA that signed both server certificates. */
  readonly ca: CertPair;
  /** Signed by `ca` for CN `localhost`, SAN `DNS:localhost, IP:127.0.0.1`. */
  readonly server: CertPair;
  /** Signed by `ca` for CN and SAN `not-this-host.example` only. */
  readonly wrongHost: CertPair;
  /** An unrelated CA: it signed none of the above. */
  readonly wrongCa: CertPair;
  /** Deletes `dir`. */
  remove(): void;
}

/** True when the `openssl` command is installed. */
export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd, timeout: 30_000 });
}

async function makeCa(dir: string, name: string, cn: string): Promise<CertPair> {
  const pair = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}-key.pem`) };
  // prettier-ignore
  await openssl(dir, 'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', pair.keyFile, '-out', pair.certFile, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  return pair;
}

async function makeServer(
  dir: string,
  name: string,
  ca: CertPair,
  cn: string,
  san: string,
): Promise<CertPair> {
  const pair = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}-key.pem`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature, keyAgreement',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${san}`,
      '',
    ].join('\n'),
  );
  // prettier-ignore
  await openssl(dir, 'req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', pair.keyFile, '-out', csr, '-subj', `/CN=${cn}`);
  // prettier-ignore
  await openssl(dir, 'x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-out', pair.certFile, '-days', '2', '-extfile', ext);
  rmSync(csr);
  rmSync(ext);
  return pair;
}

/**
 * Writes the CA, the two server certificates and the wrong CA into a new temporary directory
 * (about 0.2 s). The files are readable by everyone (0644, the directory 0755): a broker running
 * as another user must read them; they protect nothing.
 */
export async function makeTlsCerts(): Promise<TlsCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'conductor-tls-'));
  chmodSync(dir, 0o755);
  try {
    const [ca, wrongCa] = await Promise.all([
      makeCa(dir, 'ca', 'conductor-ts test CA'),
      makeCa(dir, 'wrong-ca', 'conductor-ts unrelated CA'),
    ]);
    const [server, wrongHost] = await Promise.all([
      makeServer(dir, 'server', ca, 'localhost', 'DNS:localhost, IP:127.0.0.1'),
      makeServer(dir, 'wrong-host', ca, 'not-this-host.example', 'DNS:not-this-host.example'),
    ]);
    for (const p of [ca, wrongCa, server, wrongHost]) {
      chmodSync(p.certFile, 0o644);
      chmodSync(p.keyFile, 0o644);
    }
    return {
      dir,
      ca,
      server,
      wrongHost,
      wrongCa,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts one more TLS (AMQPS) listener on a running RabbitMQ node, on 127.0.0.1:`port`, presenting
 * `pair` (e.g. {@link TlsCerts.wrongHost}) instead of the node's configured certificate; client
 * certificates are not asked for. `ctl` runs `rabbitmqctl -n <node> <args>` (RabbitNode.ctl).
 * The files must be readable by the node's user. The listener goes with the node.
 */
export async function addTlsListener(
  ctl: (...args: string[]) => Promise<string>,
  port: number,
  pair: CertPair,
  caFile: string,
): Promise<void> {
  const str = (s: string): string => JSON.stringify(s); // an Erlang string literal for plain paths
  const opts = [
    `{certfile, ${str(pair.certFile)}}`,
    `{keyfile, ${str(pair.keyFile)}}`,
    `{cacertfile, ${str(caFile)}}`,
    '{verify, verify_none}',
    '{fail_if_no_peer_cert, false}',
  ].join(', ');
  const out = await ctl(
    'eval',
    `rabbit_networking:start_ssl_listener({"127.0.0.1", ${port}}, [${opts}], 1).`,
  );
  if (out.trim() !== 'ok') throw new Error(`could not start a TLS listener on ${port}: ${out}`);
}
