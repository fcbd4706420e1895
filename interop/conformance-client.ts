/**
 * The TypeScript conformance client: the case list of `rpc_client.py`, with the same names, expected
 * outcomes and `PASS`/`FAIL` output, run by conductor-ts against any oslo.messaging server that
 * implements the interop contract. Usage:
 *
 *   node dist/interop/conformance-client.js [--url URL] [--exchange tacker] [--topic conductor]
 *     [--server host-a] [--timeout 10] [--only c1,c2] [--skip c] [--list]
 *
 * Exit status 0 only if every case passed.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { createLogger, pythonTimestamp, realClock } from 'conductor-ts/core';
import {
  DictContextSerializer,
  getRpcTransport,
  RemoteError,
  RpcClient,
} from 'conductor-ts/messaging';

type Ctx = Record<string, unknown>;

/** What the conformance run needs. */
export interface ConformanceOptions {
  url: string;
  exchange: string;
  topic: string;
  server: string;
  /** Default call timeout, seconds. */
  timeout: number;
  only?: readonly string[];
  skip?: readonly string[];
}

export const CASE_ORDER = [
  'call_echo',
  'call_update_vim',
  'call_version_1_0',
  'context_roundtrip',
  'cast',
  'call_server_targeted',
  'cast_server_targeted',
  'call_unknown_server_times_out',
  'fanout_cast',
  'unsupported_version',
  'unsupported_major_version',
  'no_such_method',
  'private_method_rejected',
  'namespace_call',
  'namespace_method_without_namespace',
  'unknown_namespace',
  'remote_exception',
  'call_timeout',
  'call_after_timeout',
  'call_monitor_heartbeat',
  'concurrent_calls',
] as const;

class CaseFailed extends Error {}

function expect(cond: boolean, msg: string): void {
  if (!cond) throw new CaseFailed(msg);
}

/** Remote exception class name, whether rebuilt locally or a RemoteError. */
function excName(e: unknown): string {
  if (e instanceof RemoteError) return e.excType;
  return e instanceof Error ? e.name : typeof e;
}

const firstLine = (e: unknown): string =>
  (e instanceof RemoteError ? e.value : String((e as Error).message)).split('\n')[0] ?? '';

async function expectRaises(
  fn: () => Promise<unknown>,
  names: string[],
  what: string,
): Promise<[unknown, number]> {
  const t0 = realClock.now();
  let result: unknown;
  try {
    result = await fn();
  } catch (e) {
    if (names.includes(excName(e))) return [e, realClock.now() - t0];
    throw new CaseFailed(`expected ${names.join('/')}, got ${excName(e)}: ${firstLine(e)}`);
  }
  throw new CaseFailed(
    `expected ${names.join('/')} for ${what}, got result ${JSON.stringify(result)}`,
  );
}

async function poll(fn: () => Promise<unknown>, want: unknown, timeout = 5): Promise<void> {
  const deadline = realClock.now() + timeout;
  let last: unknown;
  while (realClock.now() < deadline) {
    last = await fn();
    if (isDeepStrictEqual(last, want)) return;
    await realClock.sleep(0.05);
  }
  throw new CaseFailed(
    `waited ${timeout}s for ${JSON.stringify(want)}, last value ${JSON.stringify(last)}`,
  );
}

/** A context like Tacker's: oslo.context's dict plus Tacker's keys. */
function tackerLikeContext(): Ctx {
  const requestId = `req-${randomUUID()}`;
  return {
    user: 'user-1',
    tenant: 'project-1',
    system_scope: null,
    project: 'project-1',
    domain: null,
    user_domain: null,
    project_domain: null,
    is_admin: true,
    read_only: false,
    show_deleted: false,
    auth_token: null,
    request_id: requestId,
    global_request_id: null,
    resource_uuid: null,
    roles: ['admin', 'member'],
    user_identity: 'user-1 project-1 - - -',
    is_admin_project: true,
    user_id: 'user-1',
    tenant_id: 'project-1',
    project_id: 'project-1',
    timestamp: pythonTimestamp(),
    tenant_name: 'demo',
    project_name: 'demo',
    user_name: 'admin',
  };
}

type Case = () => Promise<string>;

function cases(
  c: RpcClient<Ctx>,
  o: ConformanceOptions,
): Record<(typeof CASE_ORDER)[number], Case> {
  const ctx = tackerLikeContext();
  return {
    async call_echo() {
      const value = {
        s: 'h\u00e9llo \u2713',
        i: 42,
        f: 1.5,
        b: true,
        n: null,
        l: [1, 'two', { three: 3 }],
        d: { k: 'v' },
      };
      const r = await c.call(ctx, 'echo', { value });
      expect(isDeepStrictEqual(r, value), `echo returned ${JSON.stringify(r)}`);
      return 'nested JSON value round-tripped';
    },
    async call_update_vim() {
      const r = await c.call(ctx, 'update_vim', { vim_id: randomUUID(), status: 'REACHABLE' });
      expect(r === 'REACHABLE', `update_vim returned ${JSON.stringify(r)}`);
      return `returned '${String(r)}'`;
    },
    async call_version_1_0() {
      const r = await c.prepare({ version: '1.0' }).call(ctx, 'echo', { value: 'v10' });
      expect(r === 'v10', `returned ${JSON.stringify(r)}`);
      return 'explicit version 1.0 accepted';
    },
    async context_roundtrip() {
      const r = await c.call(ctx, 'echo_context');
      expect(typeof r === 'object' && r !== null, `echo_context returned ${JSON.stringify(r)}`);
      const got = r as Ctx;
      const missing = Object.keys(ctx).filter((k) => !isDeepStrictEqual(got[k], ctx[k]));
      expect(missing.length === 0, `context keys lost/changed: ${missing.join(', ')}`);
      return `${Object.keys(ctx).length} context keys round-tripped`;
    },
    async cast() {
      const vimId = `cast-${randomUUID()}`;
      const r = await c.cast(ctx, 'update_vim', { vim_id: vimId, status: 'CAST-OK' });
      expect(r === undefined, `cast returned ${JSON.stringify(r)}`);
      await poll(() => c.call(ctx, 'get_vim_status', { vim_id: vimId }), 'CAST-OK');
      return 'cast update_vim observed via get_vim_status';
    },
    async call_server_targeted() {
      const r = await c
        .prepare({ server: o.server })
        .call(ctx, 'echo', { value: `to-${o.server}` });
      expect(r === `to-${o.server}`, `returned ${JSON.stringify(r)}`);
      return `routing key ${o.topic}.${o.server}`;
    },
    async cast_server_targeted() {
      const vimId = `scast-${randomUUID()}`;
      await c
        .prepare({ server: o.server })
        .cast(ctx, 'update_vim', { vim_id: vimId, status: 'SCAST-OK' });
      await poll(() => c.call(ctx, 'get_vim_status', { vim_id: vimId }), 'SCAST-OK');
      return 'server-targeted cast observed';
    },
    async call_unknown_server_times_out() {
      const cc = c.prepare({ server: `no-such-host-${randomUUID().slice(0, 6)}`, timeout: 1 });
      const [, dt] = await expectRaises(
        () => cc.call(ctx, 'echo', { value: 1 }),
        ['MessagingTimeout'],
        'unknown server',
      );
      expect(dt >= 0.9 && dt < 3, `timeout after ${dt.toFixed(2)}s`);
      return `MessagingTimeout after ${dt.toFixed(2)}s (message unroutable, dropped)`;
    },
    async fanout_cast() {
      const vimId = `fanout-${randomUUID()}`;
      await c
        .prepare({ fanout: true })
        .cast(ctx, 'update_vim', { vim_id: vimId, status: 'FANOUT-OK' });
      await poll(() => c.call(ctx, 'get_vim_status', { vim_id: vimId }), 'FANOUT-OK');
      return 'fanout cast observed via get_vim_status';
    },
    async unsupported_version() {
      const [e] = await expectRaises(
        () => c.prepare({ version: '1.1' }).call(ctx, 'echo', { value: 1 }),
        ['UnsupportedVersion'],
        'version 1.1',
      );
      return `${excName(e)}: ${firstLine(e)}`;
    },
    async unsupported_major_version() {
      const [e] = await expectRaises(
        () => c.prepare({ version: '2.0' }).call(ctx, 'echo', { value: 1 }),
        ['UnsupportedVersion'],
        'version 2.0',
      );
      return `${excName(e)}: ${firstLine(e)}`;
    },
    async no_such_method() {
      const [e] = await expectRaises(
        () => c.call(ctx, 'no_such_method_xyz'),
        ['NoSuchMethod'],
        'unknown method',
      );
      return `${excName(e)}: ${firstLine(e)}`;
    },
    async private_method_rejected() {
      const [e] = await expectRaises(
        () => c.call(ctx, '_count', { name: 'x' }),
        ['NoSuchMethod'],
        'private method',
      );
      return `${excName(e)}: ${firstLine(e)}`;
    },
    async namespace_call() {
      const r = await c.prepare({ namespace: 'ns1' }).call(ctx, 'ns1_ping', { value: 'p' });
      expect(
        isDeepStrictEqual(r, { namespace: 'ns1', value: 'p' }),
        `returned ${JSON.stringify(r)}`,
      );
      return 'namespace ns1 dispatched';
    },
    async namespace_method_without_namespace() {
      const [e] = await expectRaises(
        () => c.call(ctx, 'ns1_ping', { value: 'p' }),
        ['NoSuchMethod'],
        'ns1 method without namespace',
      );
      return `${excName(e)}: ${firstLine(e)}`;
    },
    async unknown_namespace() {
      const [e] = await expectRaises(
        () => c.prepare({ namespace: 'ns-unknown' }).call(ctx, 'echo', { value: 1 }),
        ['UnsupportedVersion'],
        'unknown namespace',
      );
      return `${excName(e)}: ${firstLine(e)}`;
    },
    async remote_exception() {
      const [e] = await expectRaises(
        () => c.call(ctx, 'fail', { message: 'boom 42' }),
        ['ValueError'],
        'fail()',
      );
      expect(firstLine(e) === 'boom 42', `message ${firstLine(e)}`);
      const tb = e instanceof RemoteError ? e.traceback.length : 0;
      return `ValueError('boom 42') + ${tb} remote traceback lines`;
    },
    async call_timeout() {
      const [, dt] = await expectRaises(
        () => c.prepare({ timeout: 1 }).call(ctx, 'sleep', { seconds: 2.5 }),
        ['MessagingTimeout'],
        'sleep 2.5 / timeout 1',
      );
      expect(dt >= 0.9 && dt < 2, `timeout after ${dt.toFixed(2)}s`);
      return `MessagingTimeout after ${dt.toFixed(2)}s`;
    },
    async call_after_timeout() {
      await realClock.sleep(2);
      const r = await c.call(ctx, 'echo', { value: 'after-timeout' });
      expect(r === 'after-timeout', `returned ${JSON.stringify(r)}`);
      return 'late reply ignored, next call OK';
    },
    async call_monitor_heartbeat() {
      const t0 = realClock.now();
      const r = await c
        .prepare({ timeout: 10, callMonitorTimeout: 2 })
        .call(ctx, 'sleep', { seconds: 3.5 });
      expect(r === 3.5, `returned ${JSON.stringify(r)}`);
      return `3.5 s call survived call_monitor_timeout=2 (${(realClock.now() - t0).toFixed(2)}s)`;
    },
    async concurrent_calls() {
      const settled = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => c.call(ctx, 'echo', { value: i })),
      );
      const errors = settled.filter((s) => s.status === 'rejected');
      expect(
        errors.length === 0,
        `errors: ${errors
          .slice(0, 3)
          .map((e) => String((e as PromiseRejectedResult).reason))
          .join('; ')}`,
      );
      expect(
        settled.every((s, i) => s.status === 'fulfilled' && s.value === i),
        'mismatched replies',
      );
      return '16 parallel calls, replies matched by msg_id';
    },
  };
}

/** Runs the cases in order, printing one line each and the final tally; resolves with the counts. */
export async function runConformance(
  o: ConformanceOptions,
  print: (line: string) => void = console.log,
): Promise<{ passed: number; failed: number }> {
  const transport = await getRpcTransport({
    transportUrl: o.url,
    controlExchange: o.exchange,
    logger: createLogger({ level: 'silent' }),
  });
  const client = new RpcClient<Ctx>(
    transport,
    { topic: o.topic, version: '1.0' },
    { timeout: o.timeout, serializer: new DictContextSerializer() },
  );
  const all = cases(client, o);
  let passed = 0;
  let failed = 0;
  try {
    for (const name of CASE_ORDER) {
      if ((o.only?.length && !o.only.includes(name)) || o.skip?.includes(name)) continue;
      try {
        print(`PASS ${name} (${await all[name]()})`);
        passed++;
      } catch (e) {
        print(
          e instanceof CaseFailed
            ? `FAIL ${name}: ${e.message}`
            : `FAIL ${name}: unexpected ${excName(e)}: ${firstLine(e).slice(0, 300)}`,
        );
        failed++;
      }
    }
    print(`${passed} passed, ${failed} failed`);
  } finally {
    await transport.close();
  }
  return { passed, failed };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
      exchange: { type: 'string', default: 'tacker' },
      topic: { type: 'string', default: 'conductor' },
      server: { type: 'string', default: 'host-a' },
      timeout: { type: 'string', default: '10' },
      only: { type: 'string', default: '' },
      skip: { type: 'string', default: '' },
      list: { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    console.log(CASE_ORDER.join('\n'));
    return 0;
  }
  const only = values.only.split(',').filter(Boolean);
  const skip = values.skip.split(',').filter(Boolean);
  for (const c of [...only, ...skip]) {
    if (!(CASE_ORDER as readonly string[]).includes(c)) {
      console.error(`unknown case ${c} (see --list)`);
      return 2;
    }
  }
  const { failed } = await runConformance({
    url: values.url,
    exchange: values.exchange,
    topic: values.topic,
    server: values.server,
    timeout: Number(values.timeout),
    only,
    skip,
  });
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}
