/**
 * moleculer 0.14 peer of the RPC benchmark, AMQP transporter.
 *
 *   --role server   a broker with service `bench` (actions `echo`, `stats`); prints READY
 *   --role client   another broker doing broker.call('bench.echo', {value}, {meta: {ctx}})
 *
 * `--variant default` uses `transporter: 'amqp://guest:guest@127.0.0.1:5672'` as the moleculer docs
 * show it. The AMQP transporter's `prefetch` is then 1 (one request handled at a time per node), and
 * its amqplib socket keeps Nagle's algorithm on, which with the broker's delayed ACKs costs about
 * 40 ms per call here. `--variant tuned` sets two documented transporter options: `prefetch: 64`
 * and `socketOptions: {noDelay: true}`. Both brokers use a namespace of their own (`--name`) and
 * `logger: false`.
 */
import moleculer from 'moleculer';
import {
  main,
  type PeerArgs,
  peerArgs,
  runModes,
  tackerContextDict,
  untilSignal,
} from './common.js';

function transporter(a: PeerArgs): string | { type: string; options: Record<string, unknown> } {
  if (a.variant === 'default') return a.amqpUrl;
  if (a.variant !== 'tuned') throw new Error(`unknown moleculer variant ${a.variant}`);
  // Both are documented AMQP transporter options; socketOptions go to amqplib's connect().
  return {
    type: 'AMQP',
    options: { url: a.amqpUrl, prefetch: 64, socketOptions: { noDelay: true } },
  };
}

function broker(a: PeerArgs, nodeID: string): moleculer.ServiceBroker {
  return new moleculer.ServiceBroker({
    namespace: a.name,
    nodeID,
    transporter: transporter(a),
    logger: false,
  });
}

async function server(a: PeerArgs): Promise<void> {
  const b = broker(a, `${a.name}-server`);
  let echoes = 0;
  b.createService({
    name: 'bench',
    actions: {
      echo(ctx: moleculer.Context<{ value: unknown }>) {
        echoes++;
        return ctx.params.value;
      },
      stats() {
        return { echo: echoes };
      },
    },
  });
  await b.start();
  console.log(`READY moleculer namespace=${a.name}`);
  await untilSignal();
  await b.stop();
}

async function client(a: PeerArgs): Promise<void> {
  const b = broker(a, `${a.name}-client`);
  await b.start();
  await b.waitForServices(['bench'], 30_000);
  const meta = { ctx: tackerContextDict() };
  try {
    await runModes(a, 'moleculer AMQP', {
      call: () => b.call('bench.echo', { value: 'x' }, { meta }),
    });
  } finally {
    await b.stop();
  }
}

main(async () => {
  const a = peerArgs();
  if (a.role === 'server') return server(a);
  return client(a);
});
