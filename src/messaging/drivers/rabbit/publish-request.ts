/** An exchange as oslo.messaging declares it. */
export interface ExchangeSpec {
  readonly name: string;
  readonly type: 'topic' | 'fanout' | 'direct';
  readonly durable: boolean;
  readonly autoDelete: boolean;
}

/** One message to publish. */
export interface PublishRequest {
  readonly exchange: string;
  /** Declared (once per channel) before the publish. */
  readonly declare?: ExchangeSpec | undefined;
  readonly routingKey: string;
  /** The AMQP body (JSON text). */
  readonly body: string;
  /** Per-message TTL in ms as a string (calls only). */
  readonly expiration?: string | undefined;
  /**
   * Ask the broker to return the message when no queue takes it (replies). A Basic.Return goes to
   * the publisher's `onReturn`.
   */
  readonly mandatory?: boolean | undefined;
  /**
   * Wait for the broker's confirm (the default: casts). False (calls, replies): done once written
   * to the socket; the reply, or a Basic.Return, is the only news of it.
   */
  readonly confirm?: boolean | undefined;
  /** Give up (MessageDeliveryFailure) at this clock time. */
  readonly deadline: number;
  /** AMQP properties to send instead of oslo's (lean replies); `mandatory` as given here. */
  readonly properties?: Readonly<Record<string, unknown>> | undefined;
}

/** Called once with how a publish ended (`undefined`: confirmed, or written when unconfirmed). */
export type PublishCallback = (err: Error | undefined) => void;

function makeProperties(
  expiration: string | undefined,
  mandatory: boolean,
): Readonly<Record<string, unknown>> {
  return Object.freeze({
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: Object.freeze({}),
    deliveryMode: 2,
    priority: 0,
    ...(expiration !== undefined ? { expiration } : {}),
    mandatory,
  });
}

const PLAIN_PROPERTIES = makeProperties(undefined, false);
const MANDATORY_PROPERTIES = makeProperties(undefined, true);
/** Properties by `expiration` (calls: one entry per call timeout in use). */
const expiringProperties = new Map<string, Readonly<Record<string, unknown>>>();

/**
 * Every publish carries exactly these properties (plus `expiration` on calls), as oslo does. The
 * objects are shared (amqplib only reads them).
 */
export function properties(r: PublishRequest): Readonly<Record<string, unknown>> {
  if (r.properties !== undefined) return r.properties;
  const mandatory = r.mandatory === true;
  if (r.expiration === undefined) return mandatory ? MANDATORY_PROPERTIES : PLAIN_PROPERTIES;
  if (mandatory) return makeProperties(r.expiration, true);
  let props = expiringProperties.get(r.expiration);
  if (!props) {
    props = makeProperties(r.expiration, false);
    if (expiringProperties.size < 64) expiringProperties.set(r.expiration, props);
  }
  return props;
}

/** Exchange names and routing keys are AMQP short strings (at most 255 bytes). */
export function tooLong(s: string): boolean {
  return s.length > 85 && Buffer.byteLength(s) > 255;
}
