/**
 * NestJS client of the RPC benchmark: `ClientProxyFactory.create({transport: Transport.RMQ})` at
 * its defaults against the server of nest-server.mjs (same queue, `--name`). Calls are
 * `firstValueFrom(client.send('echo', {ctx, value}))`; casts are `emit('echo_cast', ...)`, whose
 * observable completes after the broker's publisher confirm (amqp-connection-manager channels are
 * confirm channels by default).
 */
import 'reflect-metadata';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { main, peerArgs, runModes, tackerContextDict } from './common.js';

main(async () => {
  const a = peerArgs();
  const client = ClientProxyFactory.create({
    transport: Transport.RMQ,
    options: { urls: [a.amqpUrl], queue: a.name },
  });
  await client.connect();
  const ctx = tackerContextDict();
  try {
    await runModes(a, 'NestJS RMQ', {
      call: () => firstValueFrom(client.send('echo', { ctx, value: 'x' })),
      cast: () =>
        lastValueFrom(client.emit('echo_cast', { ctx, value: 'x' }), { defaultValue: undefined }),
      handled: async () => (await firstValueFrom(client.send<{ echo: number }>('stats', {}))).echo,
    });
  } finally {
    await client.close();
  }
});
