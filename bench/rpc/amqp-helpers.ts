/**
 * What the raw amqplib peers of the RPC benchmark share: the echo handler, the pending-calls map,
 * and the two tricks a hand-tuned amqplib program uses (a socket corked per event-loop turn, acks
 * coalesced into one `multiple` ack).
 */
import type { Socket } from 'node:net';
import type { Channel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';

/** A request body as the raw peers read it (the oslo peer reads the same keys from its message). */
export interface Request {
  method: string;
  args: { value?: unknown };
  id?: string;
  replyQ?: string;
}

/** The server's methods: `echo` (counted) and `stats` (the count). */
export function echoHandler(): (req: Request) => unknown {
  let echoes = 0;
  return (req) => {
    if (req.method === 'echo') {
      echoes++;
      return req.args.value;
    }
    return req.method === 'stats' ? { echo: echoes } : null;
  };
}

/** Calls waiting for their reply, by correlation id (a counter unless `makeId` is given). */
export function pendingCalls(makeId?: () => string) {
  const pending = new Map<string, (result: unknown) => void>();
  let next = 0;
  return {
    /** A new id whose reply resolves `resolve`. */
    add(resolve: (result: unknown) => void): string {
      const id = makeId ? makeId() : String(next++);
      pending.set(id, resolve);
      return id;
    },
    settle(id: string, result: unknown): void {
      const done = pending.get(id);
      if (!done) return;
      pending.delete(id);
      done(result);
    },
  };
}

/** Corks the connection's socket for an event-loop turn from its first write on. */
export function corkPerTurn(conn: unknown): void {
  const sock = (conn as { connection: { stream: Socket } }).connection.stream;
  const write = sock.write.bind(sock) as (...a: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    sock.uncork();
  };
  sock.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as typeof sock.write;
}

/** Acks every delivery handed to it, as one `multiple` ack per `when` (a turn, a timer). */
export function batchedAcks(ch: Channel, when: (f: () => void) => void) {
  let last: ConsumeMessage | undefined;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const msg = last;
    last = undefined;
    try {
      if (msg) ch.ack(msg, true);
    } catch {
      // The connection is closing at the end of the run: nothing left to acknowledge.
    }
  };
  return (msg: ConsumeMessage): void => {
    last = msg;
    if (!scheduled) {
      scheduled = true;
      when(flush);
    }
  };
}

/** Publishes on a confirm channel; resolves on the broker's ack, rejects on its nack. */
export function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    ch.publish(exchange, routingKey, body, options, (err) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
    );
  });
}
