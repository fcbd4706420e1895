/**
 * `conductor rpc call|cast` as a real process against a TypeScript RpcServer in this process, over
 * RabbitMQ (rabbit://guest:guest@127.0.0.1:5672/), with an exchange and topic of its own. Skipped
 * loudly when the broker is absent (required under CI=true).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type RequestContext } from '../../../src/core/index.js';
import {
  getRpcServer,
  getRpcTransport,
  type RpcServer,
  type Transport,
} from '../../../src/messaging/index.js';
import { RABBIT_URL, reachable, requireService } from '../../helpers/services.js';
import { cleanup, replyQueueOf } from '../../messaging/drivers/rabbit/helpers.js';
import { ensureBuilt, ROOT } from '../build.js';

const run = promisify(execFile);
const broker = new URL(RABBIT_URL.replace(/^rabbit:/, 'http:'));
const available = await requireService(
  `RabbitMQ at ${broker.hostname}:${broker.port || 5672}`,
  await reachable(Number(broker.port || 5672), broker.hostname),
);

class ValueError extends Error {
  override name = 'ValueError';
}

class Calc {
  readonly casts: unknown[] = [];
  add(_ctx: RequestContext, args: { a: number; b: number }): number {
    return args.a + args.b;
  }
  echo(_ctx: RequestContext, args: Record<string, unknown>): unknown {
    return args;
  }
  fail(_ctx: RequestContext, args: { message: string }): never {
    throw new ValueError(args.message);
  }
  note(_ctx: RequestContext, args: Record<string, unknown>): void {
    this.casts.push(args);
  }
}

describe.skipIf(!available)('conductor rpc over RabbitMQ (child process)', () => {
  const exchange = `cli-${process.pid}-${randomUUID().slice(0, 8)}`;
  const topic = `cli_topic_${randomUUID().slice(0, 8)}`;
  const calc = new Calc();
  let transport: Transport;
  let server: RpcServer;

  beforeAll(async () => {
    ensureBuilt();
    transport = await getRpcTransport({
      transportUrl: RABBIT_URL,
      controlExchange: exchange,
      logger: createLogger({ level: 'silent' }),
    });
    server = getRpcServer(transport, { topic, server: 'rabbit-host' }, [calc]);
    await server.start();
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await server?.wait();
    const reply = transport ? replyQueueOf(transport) : undefined;
    await transport?.close();
    await cleanup([exchange, `${topic}_fanout`], [topic, `${topic}.rabbit-host`, reply]);
  });

  /** Runs the built CLI; resolves with its status and output (never rejects on exit != 0). */
  const conductor = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(ROOT, 'dist/src/cli/main.js'), 'rpc', ...args],
        {
          cwd: ROOT,
          timeout: 15_000,
          env: {
            ...process.env,
            CONDUCTOR_DEFAULT__TRANSPORT_URL: RABBIT_URL,
            CONDUCTOR_DEFAULT__CONTROL_EXCHANGE: exchange,
          },
        },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout: string; stderr: string };
      return { code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('call: the JSON result on stdout, exit 0', async () => {
    const r = await conductor('call', '--topic', topic, 'add', 'a=40', 'b=2');
    expect(r).toEqual({ code: 0, stdout: '42\n', stderr: '' });
    const echo = await conductor(
      'call',
      '--topic',
      topic,
      '--server',
      'rabbit-host',
      '--timeout',
      '10',
      'echo',
      'vim={"id":"v1","auth":{"user":"admin"}}',
      'status=REACHABLE',
    );
    expect(echo.code).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual({
      vim: { id: 'v1', auth: { user: 'admin' } },
      status: 'REACHABLE',
    });
  });

  it('call: a remote error → "RemoteError: ValueError: ..." on stderr, exit 1', async () => {
    const r = await conductor('call', '--topic', topic, 'fail', 'message=bad vim');
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'RemoteError: ValueError: bad vim\n' });
  });

  it('cast: prints nothing, the server gets it', async () => {
    const tag = randomUUID();
    const r = await conductor('cast', '--topic', topic, '--fanout', 'note', `tag=${tag}`);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    await expect.poll(() => calc.casts, { timeout: 5000 }).toContainEqual({ tag });
  });
});
