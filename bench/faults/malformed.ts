/**
 * Malformed traffic (issue 16, scenario 4): a conductor-ts RPC server (a child process of this
 * script) takes a storm of bad messages, published raw on its topic, while a client keeps calling
 * it. Prints one `RESULT <json>` line; progress on stderr.
 *
 *   node dist/bench/faults/malformed.js [--count 100000] [--big 4] [--url rabbit://...]
 *       [--amqp-url amqp://...] [--name N]
 *
 * The storm cycles through kinds of bad input: not JSON, not an object, a wrong envelope version,
 * mistyped envelope parts, a missing or mistyped method or args, unknown methods, `_private` and
 * prototype members (`constructor`, `__proto__`, `toString`, ...), `__proto__` and `constructor`
 * keys in the arguments and the context, deep nesting, mistyped driver keys, an unknown namespace
 * or version, malformed lean calls. Every message that names a reply address names this script's
 * own reply queue, so each failure reply is counted. Plus `--big` valid calls of 10 MiB each.
 *
 * Reported: what was sent per kind, the replies received (and how many were failures), the valid
 * calls made during the storm (ok, failed, p50/p99 latency), the server's RSS before and after and
 * whether it is still alive and answering, and whether any prototype was polluted in it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { createLogger, type RequestContext, setRootLogger } from '../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  RpcClient,
  Target,
  type Transport,
} from '../../src/messaging/index.js';
import { percentiles } from '../lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
    'amqp-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
    name: { type: 'string', default: `faults_${randomBytes(4).toString('hex')}` },
    count: { type: 'string', default: '100000' },
    big: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '1' },
  },
  strict: true,
});
const NAME = opts.name;
const COUNT = Number(opts.count);
const BIG = Number(opts.big);
const ROUNDS = Number(opts.rounds);
const log = (m: string): void => void process.stderr.write(`${m}\n`);

// ---- the server (child process) ---------------------------------------------------------------

class Endpoint {
  readonly target = new Target({ version: '1.0' });
  echoes = 0;
  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    this.echoes++;
    return args.value;
  }
  _private(): string {
    return 'must never be reachable';
  }
  stats(): Record<string, unknown> {
    const polluted =
      ({} as Record<string, unknown>)['polluted'] !== undefined ||
      Object.keys(Object.prototype).length > 0;
    // After a full GC (the server runs with --expose-gc): what is still held, not what was used.
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, echoes: this.echoes, polluted };
  }
}

async function server(): Promise<void> {
  // The storm is logged per message (warn, error): keep that off the benchmark's pipe.
  setRootLogger(createLogger({ level: 'silent' }));
  const transport = await getRpcTransport({ transportUrl: opts.url, controlExchange: NAME });
  const srv = getRpcServer(transport, { topic: NAME, server: 'host-a' }, [new Endpoint()]);
  await srv.start();
  console.log('READY');
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  await srv.stop();
  await srv.wait();
  await transport.close();
}

// ---- the storm --------------------------------------------------------------------------------

/** The oslo envelope around `inner` (an object, or text used as is). */
const envelope = (inner: unknown, version = '2.0'): string =>
  JSON.stringify({
    'oslo.version': version,
    'oslo.message': typeof inner === 'string' ? inner : JSON.stringify(inner),
  });

interface Bad {
  readonly kind: string;
  /** The body, given the reply address to name (when the kind names one). */
  body(msgId: string, replyQ: string): string;
  /** The server can answer it (a reply is expected), and whether that reply is a failure. */
  readonly reply: 'failure' | 'result' | 'any' | 'none';
  /** Sent on the lean wire (AMQP properties name the reply). */
  readonly lean?: boolean;
}

const call = (msgId: string, replyQ: string, fields: Record<string, unknown>) =>
  envelope({
    _msg_id: msgId,
    _reply_q: replyQ,
    _unique_id: randomBytes(16).toString('hex'),
    ...fields,
  });

const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const KINDS: readonly Bad[] = [
  { kind: 'not JSON', body: () => '{"oslo.version": "2.0", ', reply: 'none' },
  { kind: 'JSON, not an object', body: () => '[1, 2, 3]', reply: 'none' },
  { kind: 'empty body', body: () => '', reply: 'none' },
  {
    kind: 'unsupported envelope version',
    body: (id, q) => envelope({ method: 'echo', _msg_id: id, _reply_q: q }, '9.0'),
    reply: 'failure',
  },
  {
    kind: 'oslo.message not a string',
    body: () => '{"oslo.version":"2.0","oslo.message":{"a":1}}',
    reply: 'none',
  },
  { kind: 'oslo.message not JSON', body: () => envelope('{"method": '), reply: 'none' },
  { kind: 'method missing', body: (id, q) => call(id, q, { args: {} }), reply: 'failure' },
  { kind: 'method not a string', body: (id, q) => call(id, q, { method: 42 }), reply: 'failure' },
  {
    kind: 'args not an object',
    body: (id, q) => call(id, q, { method: 'echo', args: [1] }),
    reply: 'failure',
  },
  {
    kind: 'unknown method',
    body: (id, q) => call(id, q, { method: 'drop_tables', args: {} }),
    reply: 'failure',
  },
  {
    kind: '_private method',
    body: (id, q) => call(id, q, { method: '_private', args: {} }),
    reply: 'failure',
  },
  ...['constructor', '__proto__', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf'].map(
    (m): Bad => ({
      kind: `prototype member ${m}`,
      body: (id, q) => call(id, q, { method: m, args: {} }),
      reply: 'failure',
    }),
  ),
  {
    kind: '__proto__ and constructor keys in args and context',
    body: (id, q) =>
      envelope(
        `{"method":"echo","args":{"value":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}},"__proto__":{"polluted":1}},"_msg_id":${JSON.stringify(id)},"_reply_q":${JSON.stringify(q)},"_context___proto__":{"polluted":1},"_context_constructor":{"prototype":{"polluted":1}}}`,
      ),
    reply: 'result',
  },
  {
    kind: 'deep nesting (10,000 levels) in args',
    body: (id, q) =>
      envelope(
        `{"method":"echo","args":{"value":${deep(10_000)}},"_msg_id":${JSON.stringify(id)},"_reply_q":${JSON.stringify(q)}}`,
      ),
    // Read fine; whether the echo can be written back depends on JSON.stringify's stack.
    reply: 'any',
  },
  {
    kind: '_msg_id not a string',
    body: (_id, q) => call('', q, { method: 'echo', _msg_id: 7 }),
    reply: 'none',
  },
  {
    kind: '_reply_q too long',
    body: (id) => call(id, 'q'.repeat(300), { method: 'echo' }),
    reply: 'none',
  },
  {
    kind: 'unknown namespace',
    body: (id, q) => call(id, q, { method: 'echo', namespace: 'nope' }),
    reply: 'failure',
  },
  {
    kind: 'unsupported version',
    body: (id, q) => call(id, q, { method: 'echo', version: '7.0' }),
    reply: 'failure',
  },
  {
    kind: 'version malformed',
    body: (id, q) => call(id, q, { method: 'echo', version: 'x.y' }),
    reply: 'failure',
  },
  { kind: 'lean: not JSON', body: () => '{"m":', reply: 'failure', lean: true },
  {
    kind: 'lean: context not an object',
    body: () => '{"m":"echo","a":{},"c":7}',
    reply: 'failure',
    lean: true,
  },
  {
    kind: 'lean: prototype member',
    body: () => '{"m":"constructor","a":{},"c":{}}',
    reply: 'failure',
    lean: true,
  },
];

async function main(): Promise<void> {
  const t0 = performance.now();
  const here = fileURLToPath(import.meta.url);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--expose-gc', here, '--role=server', `--url=${opts.url}`, `--name=${NAME}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
    void exited.then((code) => reject(new Error(`server exited early (${String(code)})`)));
  });
  const conn = await amqp.connect(opts['amqp-url']);
  const ch = await conn.createChannel();
  const replyQ = `${NAME}_storm_replies`;
  await ch.assertQueue(replyQ, { durable: false, autoDelete: false });
  let replies = 0;
  let failures = 0;
  const parse = (m: amqp.ConsumeMessage): Record<string, unknown> => {
    try {
      const outer = JSON.parse(m.content.toString('utf8')) as Record<string, unknown>;
      const inner = outer['oslo.message'];
      return typeof inner === 'string' ? (JSON.parse(inner) as Record<string, unknown>) : outer;
    } catch {
      return {};
    }
  };
  await ch.consume(
    replyQ,
    (m) => {
      if (!m) return;
      replies++;
      const r = parse(m);
      if (r['failure'] !== null && r['failure'] !== undefined) failures++;
    },
    { noAck: true },
  );
  const transport: Transport = await getRpcTransport({
    transportUrl: opts.url,
    controlExchange: NAME,
    logger: createLogger({ level: 'silent' }),
  });
  const client = new RpcClient(transport, { topic: NAME, version: '1.0' }, { timeout: 30 });
  const { getAdminContext } = await import('../../src/core/index.js');
  const ctx = getAdminContext();
  const stats = async () =>
    (await client.call(ctx, 'stats')) as {
      rss: number;
      heapUsed: number;
      echoes: number;
      polluted: boolean;
    };
  const before = await stats();

  // Valid calls, one after another, for the whole storm.
  let storming = true;
  const lat: number[] = [];
  let validOk = 0;
  let validFailed = 0;
  const validErrors = new Set<string>();
  const valid = (async () => {
    while (storming) {
      const t = performance.now();
      try {
        if ((await client.call(ctx, 'echo', { value: 'ok' })) === 'ok') validOk++;
        else validFailed++;
        lat.push(performance.now() - t);
      } catch (err) {
        validFailed++;
        validErrors.add(String(err).slice(0, 200));
      }
    }
  })();

  const sent = new Map<string, number>();
  let expectReplies = 0;
  let expectFailures = 0;
  const leanExchange = `conductor-lean.${NAME}`;
  /** The server's RSS after each round (the same storm again: flat means nothing is kept). */
  const rssAfterRound: number[] = [];
  const heapAfterRound: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < COUNT; i++) {
      const k = KINDS[i % KINDS.length] as Bad;
      const id = `storm-${round}-${i}`;
      const body = Buffer.from(k.body(id, replyQ), 'utf8');
      const ok = k.lean
        ? ch.publish(leanExchange, NAME, body, {
            type: 'conductor-lean/1',
            replyTo: replyQ,
            correlationId: id,
          })
        : ch.publish(NAME, NAME, body, { contentType: 'application/json' });
      sent.set(k.kind, (sent.get(k.kind) ?? 0) + 1);
      if (k.reply !== 'none') expectReplies++;
      if (k.reply === 'failure') expectFailures++;
      if (!ok) await new Promise((r) => ch.once('drain', r));
      if (i % 20_000 === 19_999) log(`  ${i + 1} sent`);
    }
    // Big valid calls: 10 MiB each, answered with the same 10 MiB.
    const big = 'x'.repeat(10 * 2 ** 20);
    for (let i = 0; i < BIG; i++) {
      ch.publish(
        NAME,
        NAME,
        Buffer.from(call(`big-${round}-${i}`, replyQ, { method: 'echo', args: { value: big } })),
      );
      expectReplies++;
    }
    const sentAt = performance.now();
    // Until the queue is empty and the replies stopped coming.
    for (let last = -1, idle = 0; idle < 10;) {
      await new Promise((r) => setTimeout(r, 200));
      const q = await ch.checkQueue(NAME);
      if (q.messageCount === 0 && replies === last) idle++;
      else idle = 0;
      last = replies;
      if (performance.now() - sentAt > 240_000) break;
    }
    const st = await stats();
    rssAfterRound.push(st.rss);
    heapAfterRound.push(st.heapUsed);
  }
  storming = false;
  await valid;
  const after = await stats();
  const [p50, p99] = percentiles(lat, [50, 99]) as [number, number];
  const result = {
    name: NAME,
    messages: (COUNT + BIG) * ROUNDS,
    rounds: ROUNDS,
    rssAfterRound,
    heapBefore: before.heapUsed,
    heapAfterRound,
    validErrors: [...validErrors].slice(0, 5),
    kinds: Object.fromEntries(sent),
    big: BIG,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    replies,
    expectedReplies: expectReplies,
    failureReplies: failures,
    expectedFailureReplies: expectFailures,
    valid: {
      ok: validOk,
      failed: validFailed,
      p50: Math.round(p50 * 100) / 100,
      p99: Math.round(p99 * 100) / 100,
    },
    server: {
      rssBefore: before.rss,
      rssAfter: after.rss,
      alive: child.exitCode === null,
      echoes: after.echoes - before.echoes,
      polluted: after.polluted,
    },
    clientPolluted: ({} as Record<string, unknown>)['polluted'] !== undefined,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
  await transport.close();
  child.kill('SIGTERM');
  await exited;
  for (const q of [replyQ, NAME, `${NAME}.host-a`]) await ch.deleteQueue(q).catch(() => undefined);
  const ch2 = await conn.createChannel();
  for (const x of [NAME, `${NAME}_fanout`, leanExchange])
    await ch2.deleteExchange(x).catch(() => undefined);
  await conn.close();
}

const run = opts.role === 'server' ? server : main;
run().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
