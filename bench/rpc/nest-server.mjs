/**
 * NestJS server of the RPC benchmark (plain ESM: the project's TypeScript uses TC39 decorators,
 * Nest needs the legacy ones, so they are applied here by hand).
 *
 *   node bench/rpc/nest-server.mjs --name QUEUE [--amqp-url amqp://guest:guest@127.0.0.1:5672]
 *
 * NestFactory.createMicroservice with Transport.RMQ at its defaults (queue `QUEUE`); handlers
 * `echo` (MessagePattern), `echo_cast` (EventPattern) and `stats` (MessagePattern). Prints READY;
 * SIGTERM or SIGINT closes it.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Transport } from '@nestjs/microservices';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'rpcbench' },
    'amqp-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
  },
  strict: false,
});

let echoes = 0;

class BenchController {
  echo(data) {
    echoes++;
    return data.value;
  }

  echoCast() {
    echoes++;
  }

  stats() {
    return { echo: echoes };
  }
}

const decorate = (decorator, name) =>
  decorator(
    BenchController.prototype,
    name,
    Object.getOwnPropertyDescriptor(BenchController.prototype, name),
  );
decorate(MessagePattern('echo'), 'echo');
decorate(EventPattern('echo_cast'), 'echoCast');
decorate(MessagePattern('stats'), 'stats');
Controller()(BenchController);

class AppModule {}
Module({ controllers: [BenchController] })(AppModule);

const app = await NestFactory.createMicroservice(AppModule, {
  transport: Transport.RMQ,
  options: { urls: [String(values['amqp-url'])], queue: String(values.name) },
  logger: ['error', 'warn'],
});
await app.listen();
console.log(`READY nestjs queue=${String(values.name)}`);
await new Promise((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
await app.close();
process.exit(0);
