/** `conductor rpc call|cast` against in-process RPC servers on a memory:// bus (per process). */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseParams, parseValue } from '../../../src/cli/index.js';
import { createLogger, type RequestContext } from '../../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  type RpcServer,
  Target,
  type Transport,
} from '../../../src/messaging/index.js';
import { cli } from '../helpers.js';

const BUS = `memory://cli-rpc-${randomUUID()}`;
const TOPIC = 'cli_topic';

class VimNotFoundException extends Error {
  override name = 'VimNotFoundException';
}

class Endpoint {
  readonly target = new Target({ version: '1.3' });
  readonly casts: { server: string; method: string; args: unknown }[] = [];
  constructor(readonly server: string) {}
  echo(_ctx: RequestContext, args: Record<string, unknown>): unknown {
    return args;
  }
  whoami(ctx: RequestContext): unknown {
    return { server: this.server, admin: ctx.isAdmin };
  }
  nothing(): void {}
  record(_ctx: RequestContext, args: Record<string, unknown>): void {
    this.casts.push({ server: this.server, method: 'record', args });
  }
  update_vim(_ctx: RequestContext, args: { vim_id: string }): never {
    throw new VimNotFoundException(`VIM ${args.vim_id} could not be found`);
  }
  async slow(): Promise<string> {
    await new Promise((r) => setTimeout(r, 1000));
    return 'late';
  }
}

class Namespaced {
  readonly target = new Target({ namespace: 'vnfm', version: '2.1' });
  hello(): string {
    return 'hello from vnfm 2.1';
  }
}

let transport: Transport;
const servers: RpcServer[] = [];
const a = new Endpoint('host-a');
const b = new Endpoint('host-b');
const other = new Endpoint('other-exchange');

beforeAll(async () => {
  const logger = createLogger({ level: 'silent' });
  transport = await getRpcTransport({ transportUrl: BUS, controlExchange: 'tacker', logger });
  const serve = async (target: Parameters<typeof getRpcServer>[1], eps: object[]) => {
    const s = getRpcServer(transport, target, eps, { logger });
    await s.start();
    servers.push(s);
  };
  await serve({ topic: TOPIC, server: 'host-a' }, [a, new Namespaced()]);
  await serve({ topic: TOPIC, server: 'host-b' }, [b]);
  await serve({ topic: 'elsewhere', server: 'host-c', exchange: 'other' }, [other]);
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const s of servers) await s.wait();
  await transport?.close();
});

const call = (...args: string[]) =>
  cli(['rpc', 'call', '--transport-url', BUS, '--topic', TOPIC, ...args]);
const cast = (...args: string[]) =>
  cli(['rpc', 'cast', '--transport-url', BUS, '--topic', TOPIC, ...args]);

describe('key=value parsing', () => {
  it('values are JSON when they parse, else strings', () => {
    expect(parseValue('3')).toBe(3);
    expect(parseValue('-1.5')).toBe(-1.5);
    expect(parseValue('true')).toBe(true);
    expect(parseValue('null')).toBeNull();
    expect(parseValue('"3"')).toBe('3');
    expect(parseValue('{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(parseValue('[1,"x"]')).toEqual([1, 'x']);
    expect(parseValue('REACHABLE')).toBe('REACHABLE');
    expect(parseValue('6261579e-d6f3-49ad-8bc3-a9cb974778fe')).toBe(
      '6261579e-d6f3-49ad-8bc3-a9cb974778fe',
    );
    expect(parseValue('')).toBe('');
    expect(parseValue('{oops')).toBe('{oops');
    // numbers JSON cannot carry exactly stay text
    expect(parseValue('1e999')).toBe('1e999');
    expect(parseValue('12345678901234567890')).toBe('12345678901234567890');
  });

  it('key=value pairs: split at the first =, later keys win', () => {
    expect(parseParams(['a=1', 'b=x=y', 'a=2', 'c='])).toEqual({ a: 2, b: 'x=y', c: '' });
    expect(Object.getPrototypeOf(parseParams(['__proto__={"x":1}']))).toBe(Object.prototype);
    expect(parseParams(['__proto__={"x":1}'])['__proto__']).toEqual({ x: 1 });
  });
});

describe('conductor rpc call', () => {
  it('prints the JSON result (2-space indent) and exits 0', async () => {
    const r = await call(
      'echo',
      'count=3',
      'enabled=true',
      'name=vim-1',
      'nothing=null',
      'obj={"k":[1,2]}',
      'quoted="42"',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.exits).toEqual([0]);
    const expected = {
      count: 3,
      enabled: true,
      name: 'vim-1',
      nothing: null,
      obj: { k: [1, 2] },
      quoted: '42',
    };
    expect(JSON.parse(r.stdout)).toEqual(expected);
    expect(r.stdout).toBe(`${JSON.stringify(expected, null, 2)}\n`);
  });

  it('--args is merged under the key=value pairs', async () => {
    const r = await call(
      'echo',
      '--args',
      '{"vim_id":"v1","status":"PENDING"}',
      'status=REACHABLE',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ vim_id: 'v1', status: 'REACHABLE' });
  });

  it('a method without a result prints null; the context is an admin context', async () => {
    const r = await call('nothing');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('null\n');
    const who = await call('whoami', '--server', 'host-b');
    expect(JSON.parse(who.stdout)).toEqual({ server: 'host-b', admin: true });
  });

  it('--server reaches that server only', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await call('whoami', '--server', 'host-a');
      expect(JSON.parse(r.stdout)).toMatchObject({ server: 'host-a' });
    }
  });

  it('--namespace and --version select the endpoint', async () => {
    const r = await call('hello', '--server', 'host-a', '--namespace', 'vnfm', '--version', '2.0');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toBe('hello from vnfm 2.1');
    const tooNew = await call(
      'hello',
      '--server',
      'host-a',
      '--namespace',
      'vnfm',
      '--version',
      '2.5',
    );
    expect(tooNew.code).toBe(1);
    expect(tooNew.stderr).toMatch(
      /^UnsupportedVersion: Endpoint does not support RPC version 2\.5/,
    );
  });

  it('--exchange targets another exchange', async () => {
    const r = await cli([
      'rpc',
      'call',
      '--transport-url',
      BUS,
      '--exchange',
      'other',
      '--topic',
      'elsewhere',
      'whoami',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ server: 'other-exchange' });
  });

  it('a remote error: "RemoteError: <class>: <message>" on stderr, exit 1', async () => {
    const r = await call('update_vim', 'vim_id=v-404');
    expect(r.code).toBe(1);
    expect(r.exits).toEqual([1]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('RemoteError: VimNotFoundException: VIM v-404 could not be found\n');
  });

  it('--debug adds the remote traceback', async () => {
    const r = await call('update_vim', 'vim_id=v-404', '--debug');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^RemoteError: VimNotFoundException: VIM v-404 could not be found\n/);
    expect(r.stderr).toMatch(/Traceback \(most recent call last\)/);
  });

  it('an unknown method: NoSuchMethod, exit 1', async () => {
    const r = await call('no_such_method');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('NoSuchMethod: Endpoint does not support RPC method no_such_method\n');
  });

  it('no reply in --timeout seconds: MessagingTimeout, exit 1', async () => {
    const t0 = Date.now();
    const r = await call('slow', '--timeout', '0.2');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^MessagingTimeout: Timed out waiting for a reply/);
    expect(Date.now() - t0).toBeLessThan(900);
  });

  it('the transport URL comes from the configuration unless --transport-url is given', async () => {
    const viaSet = await cli([
      'rpc',
      'call',
      '--set',
      `transport_url=${BUS}`,
      '--topic',
      TOPIC,
      'whoami',
      '--server',
      'host-a',
    ]);
    expect(viaSet.code).toBe(0);
    const viaEnv = await cli(['rpc', 'call', '--topic', TOPIC, '--server', 'host-b', 'whoami'], {
      env: { CONDUCTOR_DEFAULT__TRANSPORT_URL: BUS },
    });
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ server: 'host-b' });
  });
});

describe('conductor rpc cast', () => {
  it('sends without waiting, prints nothing, exits 0', async () => {
    const before = a.casts.length + b.casts.length;
    const r = await cast('record', 'n=1', '--server', 'host-a');
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    await expect.poll(() => a.casts.length + b.casts.length).toBe(before + 1);
    expect(a.casts.at(-1)).toEqual({ server: 'host-a', method: 'record', args: { n: 1 } });
  });

  it('--fanout reaches every server on the topic', async () => {
    const tag = randomUUID();
    const r = await cast('record', `tag=${tag}`, '--fanout');
    expect(r.code).toBe(0);
    const seen = () =>
      [...a.casts, ...b.casts]
        .filter((c) => (c.args as { tag?: string }).tag === tag)
        .map((c) => c.server)
        .sort();
    await expect.poll(seen).toEqual(['host-a', 'host-b']);
  });

  it('a cast to a method that fails still exits 0 (nobody waits for it)', async () => {
    const r = await cast('update_vim', 'vim_id=x');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
