import type { Target } from '../../target.js';
import { leanExchangeOf } from './lean.js';
import type { RabbitOptions } from './options.js';
import type { ExchangeSpec } from './publish-request.js';

/** Where a request to a target is published. */
export interface Route {
  readonly exchange: string;
  readonly routingKey: string;
  readonly declare: ExchangeSpec;
  /** The direct exchange of lean calls to this route (conductor-ts's lean wire, see lean.ts). */
  readonly leanExchange: string;
}

/**
 * oslo.messaging's routing of requests: a fanout target goes to `<topic>_fanout` (fanout,
 * auto-delete) with an empty key; others to the target's exchange (or the control exchange, a
 * topic exchange) with key `<topic>` or `<topic>.<server>`. Kept per target (targets are
 * immutable; a client sends to the same one).
 */
export class Routes {
  readonly #controlExchange: string;
  readonly #options: RabbitOptions;
  readonly #routes = new WeakMap<Target, Route>();

  constructor(controlExchange: string, options: RabbitOptions) {
    this.#controlExchange = controlExchange;
    this.#options = options;
  }

  /** The route of `target`. */
  of(target: Target): Route {
    let r = this.#routes.get(target);
    if (r === undefined) {
      r = this.#route(target);
      this.#routes.set(target, r);
    }
    return r;
  }

  #route(target: Target): Route {
    const topic = target.topic as string;
    if (target.fanout) {
      const exchange = `${topic}_fanout`;
      return {
        exchange,
        leanExchange: leanExchangeOf(exchange),
        routingKey: '',
        declare: { name: exchange, type: 'fanout', durable: false, autoDelete: true },
      };
    }
    const exchange = target.exchange ?? this.#controlExchange;
    return {
      exchange,
      leanExchange: leanExchangeOf(exchange),
      routingKey: target.server ? `${topic}.${target.server}` : topic,
      declare: {
        name: exchange,
        type: 'topic',
        durable: this.#options.amqp_durable_queues,
        autoDelete: this.#options.amqp_auto_delete,
      },
    };
  }
}
