/** Private RabbitMQ nodes for fault tests; the code is shared with the benches (bench/lib). */
export * from '../../bench/lib/rabbit-node.js';
