import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { errorMessage, type Logger } from '../../../core/index.js';
import { type ConnectionConfig, ManagedConnection } from './connection.js';
import { Publisher } from './publisher.js';

/** What the shared connection asks of each listener on it. */
export interface ConnectionMember {
  /** Opens the listener's channel on `conn`: declares, binds, consumes. */
  attach(conn: ChannelModel): Promise<void>;
  /** Its {@link attach} failed on a new connection (the others go on). */
  attachFailed(conn: ChannelModel, err: unknown): void;
}

/**
 * The one AMQP connection a driver's RPC servers share (oslo.messaging opens one per server): each
 * listener consumes on a channel of its own, and all their replies leave on one more channel, so
 * that a request's ack and its reply still leave in one write. Opened with the first listener;
 * after every reconnection each listener is set up again. A listener that cannot set up fails
 * alone: the connection and the other listeners go on.
 */
export class ListenerConnection {
  readonly mc: ManagedConnection;
  /** The listeners' replies (a plain channel on this connection). */
  readonly replies: Publisher;
  readonly #members = new Set<ConnectionMember>();
  readonly #log: Logger;

  constructor(config: ConnectionConfig, onReturn: (msg: ConsumeMessage) => void) {
    this.#log = config.logger;
    this.mc = new ManagedConnection('listeners', config, (conn) => this.#setup(conn));
    this.replies = new Publisher(config, {
      name: 'listener replies',
      confirms: false,
      onReturn,
      connection: this.mc,
    });
  }

  /** Listeners on the connection. */
  get size(): number {
    return this.#members.size;
  }

  add(member: ConnectionMember): void {
    this.#members.add(member);
    void this.mc.start();
  }

  remove(member: ConnectionMember): void {
    this.#members.delete(member);
  }

  async close(): Promise<void> {
    this.#members.clear();
    await this.replies.close();
    await this.mc.close();
  }

  async #setup(conn: ChannelModel): Promise<void> {
    await this.replies.attach(conn);
    for (const m of [...this.#members]) {
      try {
        await m.attach(conn);
      } catch (err) {
        this.#log.debug({ err: errorMessage(err) }, 'A listener could not set up');
        m.attachFailed(conn, err);
      }
    }
  }
}
