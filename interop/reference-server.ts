/**
 * The TypeScript reference server of the interop contract (../shared/interop/README.md): the same
 * endpoints as `rpc_server.py`, served by conductor-ts. Usage:
 *
 *   node dist/interop/reference-server.js [--url rabbit://guest:guest@127.0.0.1:5672/]
 *     [--exchange tacker] [--topic conductor] [--server host-a] [--debug]
 *
 * Prints `READY ...` once consuming; SIGTERM or SIGINT stops it cleanly.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { realClock, rootLogger } from 'conductor-ts/core';
import {
  DictContextSerializer,
  getRpcServer,
  getRpcTransport,
  Target,
} from 'conductor-ts/messaging';

type Ctx = Record<string, unknown>;

/** Python's ValueError, so a Python client rebuilds it from module `builtins`. */
class ValueError extends Error {
  override name = 'ValueError';
}

class ConductorEndpoint {
  readonly target = new Target({ version: '1.0' });
  readonly #vims = new Map<string, unknown>();
  readonly #calls = new Map<string, number>();

  _count(name: string): void {
    this.#calls.set(name, (this.#calls.get(name) ?? 0) + 1);
  }

  update_vim(_ctx: Ctx, args: { vim_id: string; status: unknown }): unknown {
    this._count('update_vim');
    this.#vims.set(args.vim_id, args.status);
    return args.status;
  }

  echo(_ctx: Ctx, args: { value: unknown }): unknown {
    this._count('echo');
    return args.value;
  }

  async sleep(_ctx: Ctx, args: { seconds: number }): Promise<number> {
    this._count('sleep');
    await realClock.sleep(Number(args.seconds));
    return args.seconds;
  }

  fail(_ctx: Ctx, args: { message: string }): never {
    this._count('fail');
    throw new ValueError(args.message);
  }

  get_vim_status(_ctx: Ctx, args: { vim_id: string }): unknown {
    this._count('get_vim_status');
    return this.#vims.get(args.vim_id) ?? null;
  }

  echo_context(ctx: Ctx): Ctx {
    this._count('echo_context');
    return ctx;
  }

  stats(): { calls: Record<string, number> } {
    return { calls: Object.fromEntries(this.#calls) };
  }
}

class Ns1Endpoint {
  readonly target = new Target({ namespace: 'ns1', version: '1.0' });

  ns1_ping(_ctx: Ctx, args: { value: unknown }): unknown {
    return { namespace: 'ns1', value: args.value };
  }
}

/** Where the reference server listens. */
export interface ReferenceServerOptions {
  url: string;
  exchange: string;
  topic: string;
  server: string;
  debug?: boolean;
}

/** Starts the reference server; resolves once it consumes. `stop()` drains and disconnects. */
export async function startReferenceServer(
  o: ReferenceServerOptions,
): Promise<{ stop(): Promise<void> }> {
  // A child of the root logger (run by hand: JSON lines on stdout), so that an embedder such as
  // test/interop decides where the lines go.
  const logger = rootLogger().child({}, { level: o.debug ? 'debug' : 'warn' });
  const transport = await getRpcTransport({
    transportUrl: o.url,
    controlExchange: o.exchange,
    logger,
  });
  const server = getRpcServer(
    transport,
    { topic: o.topic, server: o.server },
    [new ConductorEndpoint(), new Ns1Endpoint()],
    {
      serializer: new DictContextSerializer(),
      logger,
    },
  );
  await server.start();
  return {
    async stop() {
      await server.stop();
      await server.wait();
      await transport.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
      exchange: { type: 'string', default: 'tacker' },
      topic: { type: 'string', default: 'conductor' },
      server: { type: 'string', default: 'host-a' },
      executor: { type: 'string' }, // accepted for run-all.sh compatibility; ignored
      debug: { type: 'boolean', default: false },
    },
  });
  const handle = await startReferenceServer({
    url: values.url,
    exchange: values.exchange,
    topic: values.topic,
    server: values.server,
    debug: values.debug,
  });
  console.log(
    `READY exchange=${values.exchange} topic=${values.topic} server=${values.server} executor=node`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await handle.stop();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
