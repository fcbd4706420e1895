/**
 * conductor-ts peer of the RPC benchmark, at its defaults (default serializer, default driver
 * options, default executor pool). Roles:
 *
 *   --role server   getRpcServer on rabbit:// with an `echo` endpoint (plus `stats`); prints READY
 *   --role client   RpcClient calls/casts against it; prints RESULT
 *   --role memory   server and client in this process on memory://
 *
 * `--name N` makes the names unique: control exchange `N`, topic `N`, server `host-a`.
 */
import type { RequestContext } from '../../src/core/index.js';
import { getRpcServer, getRpcTransport, RpcClient, Target } from '../../src/messaging/index.js';
import type { RabbitDriver } from '../../src/messaging/drivers/rabbit/index.js';
import { main, type PeerArgs, peerArgs, runModes, tackerContext, untilSignal } from './common.js';

class EchoEndpoint {
  readonly target = new Target({ version: '1.0' });
  echoes = 0;

  echo(_ctx: RequestContext, args: { value: unknown }): unknown {
    this.echoes++;
    return args.value;
  }

  stats(): { calls: { echo: number } } {
    return { calls: { echo: this.echoes } };
  }
}

async function server(a: PeerArgs): Promise<void> {
  const transport = await getRpcTransport({ transportUrl: a.url, controlExchange: a.name });
  const srv = getRpcServer(transport, { topic: a.name, server: 'host-a' }, [new EchoEndpoint()]);
  await srv.start();
  console.log(`READY conductor-ts exchange=${a.name} topic=${a.name}`);
  await untilSignal();
  await srv.stop();
  await srv.wait();
  await transport.close();
}

async function client(a: PeerArgs): Promise<void> {
  const transport = await getRpcTransport({ transportUrl: a.url, controlExchange: a.name });
  const rpc = new RpcClient(transport, { topic: a.name, version: '1.0' }, { timeout: 30 });
  const ctx = tackerContext();
  try {
    await runModes(
      a,
      'conductor-ts rabbit://',
      {
        call: () => rpc.call(ctx, 'echo', { value: 'x' }),
        cast: () => rpc.cast(ctx, 'echo', { value: 'x' }),
        handled: async () =>
          ((await rpc.call(ctx, 'stats')) as { calls: { echo: number } }).calls.echo,
      },
      { replyQueue: (transport.driver as RabbitDriver).replyQueue },
    );
  } finally {
    await transport.close();
  }
}

async function memory(a: PeerArgs): Promise<void> {
  const transport = await getRpcTransport({
    transportUrl: `memory://${a.name}`,
    controlExchange: a.name,
  });
  const srv = getRpcServer(transport, { topic: a.name, server: 'host-a' }, [new EchoEndpoint()]);
  await srv.start();
  const rpc = new RpcClient(transport, { topic: a.name, version: '1.0' }, { timeout: 30 });
  const ctx = tackerContext();
  try {
    await runModes(a, 'conductor-ts memory://', {
      call: () => rpc.call(ctx, 'echo', { value: 'x' }),
    });
  } finally {
    await srv.stop();
    await srv.wait();
    await transport.close();
  }
}

main(async () => {
  const a = peerArgs();
  if (a.role === 'server') return server(a);
  if (a.role === 'memory') return memory(a);
  return client(a);
});
