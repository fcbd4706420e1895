/**
 * Shared pieces of the RPC benchmark (bench/rpc/index.ts): the Tacker-like request context, the
 * measurement loops every Node.js peer runs (sequential calls, concurrent calls, awaited and
 * pipelined casts), the result record and the child-process protocol (`READY` / `RESULT <json>`
 * lines on stdout).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RequestContext } from '../../src/core/index.js';
import { max, percentiles } from '../lib/stats.js';

/** One measured mode of one system. Latencies in ms. */
export interface ModeResult {
  system: string;
  variant: string;
  mode: string;
  count: number;
  seconds: number;
  /** Operations per second as the caller saw them (calls returned, casts resolved). */
  rate: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** Casts: messages the server counted as handled. */
  handled?: number;
  /** Casts: handled / seconds from the first cast until the server had handled them all. */
  handledRate?: number;
  note?: string;
  /** Set on a row that is the median of several rounds: the lowest and highest rate seen. */
  rateRange?: [number, number];
  /** Rounds this row is the median of. */
  rounds?: number;
  /** The round this row was measured in (before the rows are reduced to medians). */
  round?: number;
  /**
   * CPU per operation in µs while the mode ran (the orchestrator reads /proc at the client's
   * `MARK` lines): the server process, the client process, the broker (beam.smp).
   */
  cpu?: { server: number; client: number; broker: number };
}

/** What every Node.js peer (client side) accepts on its command line. */
export interface PeerArgs {
  role: string;
  url: string;
  amqpUrl: string;
  name: string;
  duration: number;
  concurrency: number;
  window: number;
  warmup: number;
  modes: string[];
  variant: string;
}

export function peerArgs(): PeerArgs {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', default: 'client' },
      url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
      'amqp-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
      name: { type: 'string', default: 'rpcbench' },
      duration: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '16' },
      window: { type: 'string', default: '256' },
      warmup: { type: 'string', default: '50' },
      modes: { type: 'string', default: 'seq,conc,cast,castpipe' },
      variant: { type: 'string', default: 'default' },
    },
    strict: true,
  });
  return {
    role: values.role,
    url: values.url,
    amqpUrl: values['amqp-url'],
    name: values.name,
    duration: Number(values.duration),
    concurrency: Number(values.concurrency),
    window: Number(values.window),
    warmup: Number(values.warmup),
    modes: values.modes.split(',').filter((m) => m !== ''),
    variant: values.variant,
  };
}

/**
 * A Tacker-like request context: oslo.context's 22-key dict as Tacker sends it plus `system_scope`
 * (23 keys, the size of the context bench.py sends).
 */
export function tackerContext(): RequestContext {
  return new RequestContext({
    userId: 'user-1',
    projectId: 'project-1',
    isAdmin: true,
    roles: ['admin', 'member'],
    projectName: 'demo',
    userName: 'admin',
    extra: { system_scope: null },
  });
}

/** The same context as a plain dict, for the peers that carry it inside their own payload. */
export function tackerContextDict(): Record<string, unknown> {
  return tackerContext().toDict() as unknown as Record<string, unknown>;
}

const now = (): number => performance.now();

function summarize(
  base: { system: string; variant: string; mode: string },
  count: number,
  seconds: number,
  lat: number[],
  errors: number,
): ModeResult {
  const [p50, p99] = percentiles(lat, [50, 99]) as [number, number];
  return {
    ...base,
    count,
    seconds: round(seconds, 3),
    rate: round(count / seconds, 1),
    p50: round(p50, 3),
    p99: round(p99, 3),
    max: round(max(lat), 3),
    errors,
  };
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** `n` calls one after the other (warm-up). */
export async function warmUp(fn: () => Promise<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await fn();
}

/** `loops` back-to-back loops of `fn` for `duration` s: [count, seconds, latencies ms, errors]. */
async function runLoops(
  fn: () => Promise<unknown>,
  duration: number,
  loops: number,
): Promise<[number, number, number[], number]> {
  const lat: number[] = [];
  let errors = 0;
  const t0 = now();
  const end = t0 + duration * 1000;
  const loop = async (): Promise<void> => {
    while (now() < end) {
      const t = now();
      try {
        await fn();
        lat.push(now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  return [lat.length, (now() - t0) / 1000, lat, errors];
}

/**
 * `callers` loops sharing `fn`, each back-to-back for `duration` seconds; latency per call.
 * Failed calls are counted as errors and left out of the latencies.
 */
export async function measureCalls(
  base: { system: string; variant: string; mode: string },
  fn: () => Promise<unknown>,
  duration: number,
  callers: number,
): Promise<ModeResult> {
  return summarize(base, ...(await runLoops(fn, duration, callers)));
}

/**
 * Casts for `duration` seconds with at most `window` unresolved at a time (1 = each cast awaited
 * before the next). Latency = time until the cast's promise resolved (publish + confirm). Then,
 * with `handledCount`, waits (up to 60 s) until the server has handled every cast sent.
 */
export async function measureCasts(
  base: { system: string; variant: string; mode: string },
  fn: () => Promise<unknown>,
  duration: number,
  window: number,
  handledCount?: () => Promise<number>,
): Promise<ModeResult> {
  const before = handledCount ? await handledCount() : 0;
  const t0 = now();
  const loops = await runLoops(fn, duration, window);
  const sent = loops[0];
  const r = summarize(base, ...loops);
  if (window > 1) r.note = `window ${window}`;
  if (handledCount) {
    const deadline = now() + 60_000;
    let done = 0;
    for (;;) {
      done = (await handledCount()) - before;
      if (done >= sent || now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const e2e = (now() - t0) / 1000;
    r.handled = done;
    r.handledRate = round(done / e2e, 1);
  }
  return r;
}

/** The row label of each mode (`MARK` lines carry it, so the orchestrator can match its CPU). */
const MODE_LABELS: Record<string, (a: PeerArgs) => string> = {
  seq: () => 'seq',
  conc: (a) => `conc${a.concurrency}`,
  cast: () => 'cast',
  castpipe: () => 'cast pipelined',
};

/** Runs the modes a client supports, in the order asked, and prints the `RESULT` line. */
export async function runModes(
  a: PeerArgs,
  system: string,
  ops: {
    call: () => Promise<unknown>;
    cast?: () => Promise<unknown>;
    handled?: () => Promise<number>;
  },
  extra: Record<string, unknown> = {},
): Promise<ModeResult[]> {
  const base = (mode: string) => ({ system, variant: a.variant, mode });
  await warmUp(ops.call, a.warmup);
  const results: ModeResult[] = [];
  for (const mode of a.modes) {
    let r: ModeResult | undefined;
    const label = MODE_LABELS[mode]?.(a);
    if (label === undefined || ((mode === 'cast' || mode === 'castpipe') && !ops.cast)) continue;
    console.log(`MARK start ${label}`);
    if (mode === 'seq') r = await measureCalls(base('seq'), ops.call, a.duration, 1);
    else if (mode === 'conc')
      r = await measureCalls(base(`conc${a.concurrency}`), ops.call, a.duration, a.concurrency);
    else if (mode === 'cast' && ops.cast)
      r = await measureCasts(base('cast'), ops.cast, a.duration, 1, ops.handled);
    else if (mode === 'castpipe' && ops.cast)
      r = await measureCasts(base('cast pipelined'), ops.cast, a.duration, a.window, ops.handled);
    console.log(`MARK end ${label}`);
    if (!r) continue;
    results.push(r);
    process.stderr.write(`  ${system} [${a.variant}] ${r.mode}: ${r.rate}/s p50 ${r.p50} ms\n`);
  }
  console.log(`RESULT ${JSON.stringify({ results, ...extra })}`);
  return results;
}

/** Resolves on SIGTERM or SIGINT (servers run until the orchestrator stops them). */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
}

/** Top-level runner of a child script: errors go to stderr and exit code 1. */
export function main(fn: () => Promise<void>): void {
  fn().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
