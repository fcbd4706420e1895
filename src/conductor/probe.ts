import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { InvalidProbeOption } from './errors.js';

/** The outcome of one probe. Failures are data, never exceptions. */
export interface ProbeResult {
  readonly reachable: boolean;
  /** `HTTP 401`, `connected`, `ECONNREFUSED`, `timed out after 5s`, ... */
  readonly detail: string;
  /** Seconds the probe took. */
  readonly duration: number;
}

/** Options of {@link probeUrl} and {@link probeAll}. */
export interface ProbeOptions {
  /** Seconds for the connection and the first response byte. */
  readonly timeout: number;
  /** Ends the probe at once (reported unreachable, detail `aborted`). */
  readonly signal?: AbortSignal;
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/**
 * Probes a VIM's `auth_url`. `http(s)://` counts as reachable when the server sends any HTTP
 * response (401 from Keystone included: the endpoint is up); the TLS certificate is not verified,
 * since nothing secret is sent and reachability is the question. `tcp://host:port` counts as
 * reachable when a TCP connection opens. Never throws for network failures.
 */
export function probeUrl(url: string, options: ProbeOptions): Promise<ProbeResult> {
  const start = process.hrtime.bigint();
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ reachable: false, detail: 'invalid URL', duration: 0 });
  }
  if (options.signal?.aborted)
    return Promise.resolve({ reachable: false, detail: 'aborted', duration: 0 });
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let cleanup = (): void => undefined;
    const finish = (reachable: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      cleanup();
      resolve({ reachable, detail, duration: seconds(start) });
    };
    const timer = setTimeout(
      () => finish(false, `timed out after ${options.timeout}s`),
      options.timeout * 1000,
    );
    const onAbort = (): void => finish(false, 'aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const failed = (err: NodeJS.ErrnoException): void =>
      finish(false, err.code ?? err.message ?? 'error');

    if (target.protocol === 'tcp:') {
      const port = Number(target.port);
      if (!target.hostname || !port) return finish(false, 'tcp:// needs host:port');
      const socket = connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port });
      cleanup = () => socket.destroy();
      socket.once('connect', () => finish(true, 'connected'));
      socket.once('error', failed);
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return finish(false, `unsupported scheme ${target.protocol}`);
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let req: ClientRequest;
    try {
      req = send(target, {
        method: 'GET',
        agent: false,
        headers: { 'user-agent': 'conductor-ts vim-monitor', accept: '*/*' },
        ...(target.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
      });
    } catch (err) {
      return failed(err as NodeJS.ErrnoException);
    }
    cleanup = () => req.destroy();
    req.once('response', (res) => {
      res.resume();
      finish(true, `HTTP ${res.statusCode ?? '?'}`);
    });
    req.once('error', failed);
    req.end();
  });
}

/**
 * Probes every URL with at most `concurrency` probes in flight; results in the input order.
 */
export async function probeAll(
  urls: readonly string[],
  options: ProbeOptions & { readonly concurrency: number },
): Promise<ProbeResult[]> {
  const { concurrency } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new InvalidProbeOption(`concurrency must be an integer >= 1, got ${String(concurrency)}`);
  if (!(options.timeout > 0))
    throw new InvalidProbeOption(`timeout must be > 0 seconds, got ${String(options.timeout)}`);
  const results = new Array<ProbeResult>(urls.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const i = next++;
      results[i] = await probeUrl(urls[i] as string, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
  return results;
}
