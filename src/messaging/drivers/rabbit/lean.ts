import type { ConsumeMessage } from 'amqplib';
import { InvalidRpcMessage } from '../../../core/index.js';
import { isJsonObject, parseWireJson } from '../../json.js';
import { MessagingError } from '../../../core/index.js';
import type { InboundRejection, InboundReply, ReplyAddress } from './inbound.js';

/**
 * conductor-ts's lean wire (`rpc_reply_mode = direct`), spoken only between conductor-ts peers,
 * beside oslo's on the same queues:
 *
 * - A call is published to the direct exchange `conductor-lean.<exchange>` (bound by every conductor-ts
 *   server to its queues `<topic>` and `<topic>.<server>`), `mandatory`, with the AMQP properties
 *   `type` = {@link LEAN_TYPE}, `reply_to` = `amq.rabbitmq.reply-to` (RabbitMQ's direct reply-to:
 *   no reply queue to declare), `correlation_id` (unique per call: it is also the duplicate-check
 *   id), `expiration` (the call's timeout in ms) and `content_type` `application/json`.
 * - Its body is JSON, encoded once: `{"m": method, "a": args, "ns": namespace, "v": version,
 *   "c": context dict}` (`ns` and `v` left out when unset). The keys are deliberately not oslo's:
 *   a Python server handed such a body by mistake cannot dispatch it.
 * - The reply goes to the default exchange with the request's `reply_to` as routing key and its
 *   `correlation_id`, `type` = {@link LEAN_TYPE}: `{"result": value}` or `{"failure": "<oslo's
 *   failure JSON>"}`. No call-monitor heartbeats: a call with a call monitor goes on oslo's wire.
 * - When no queue is bound for the routing key (the topic's servers are not conductor-ts, or none
 *   ever ran), the broker returns the call and it fails at once with `LeanWireUnsupported`.
 */
export const LEAN_TYPE = 'conductor-lean/1';

/** RabbitMQ's pseudo-queue for direct reply-to. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * The direct exchange lean calls to a topic exchange `exchange` are published to. Prefixed, so it
 * cannot meet an oslo name (`<exchange>`, `<topic>_fanout`, `reply_<uuid>`).
 */
export function leanExchangeOf(exchange: string): string {
  return `conductor-lean.${exchange}`;
}

/** A reply address read off a lean call: the broker's `amq.rabbitmq.reply-to.*` name. */
export interface LeanReplyAddress extends ReplyAddress {
  readonly lean: true;
}

/** A lean call as a server reads it (the shape of an {@link InboundRequest}, without `wire`). */
export interface LeanRequest {
  readonly ok: true;
  readonly wire: undefined;
  readonly message: Record<string, unknown>;
  readonly ctxt: Record<string, unknown>;
  readonly reply: LeanReplyAddress;
  readonly callMonitorTimeout: undefined;
  readonly uniqueId: string;
}

const contextJson = new WeakMap<object, string>();

/** The context dict as JSON, cached when it is frozen (the stock serializer's dicts are). */
function contextOf(ctxt: Record<string, unknown>): string {
  let json = contextJson.get(ctxt);
  if (json === undefined) {
    json = JSON.stringify(ctxt);
    if (Object.isFrozen(ctxt)) contextJson.set(ctxt, json);
  }
  return json;
}

/** The body of a lean call (see {@link LEAN_TYPE}). */
export function encodeLeanRequest(
  message: Record<string, unknown>,
  ctxt: Record<string, unknown>,
): string {
  const head: Record<string, unknown> = { m: message['method'], a: message['args'] ?? {} };
  if (message['namespace'] !== undefined) head['ns'] = message['namespace'];
  if (message['version'] !== undefined) head['v'] = message['version'];
  return `${JSON.stringify(head).slice(0, -1)},"c":${contextOf(ctxt)}}`;
}

const isName = (v: unknown): v is string =>
  typeof v === 'string' && v !== '' && Buffer.byteLength(v) <= 255;

/**
 * Reads a lean call; throws {@link InvalidRpcMessage} when it is not one (the reply address is
 * still returned by {@link leanReplyAddress} for a failure reply).
 */
export function readLeanRequest(msg: ConsumeMessage, maxSize: number): LeanRequest {
  const reply = leanReplyAddress(msg);
  if (!reply) {
    throw new InvalidRpcMessage('A lean call needs a reply_to and a correlation_id');
  }
  if (msg.content.length > maxSize) {
    throw new InvalidRpcMessage(
      `Message of ${msg.content.length} bytes exceeds rabbit_max_message_size (${maxSize})`,
    );
  }
  const m = parseWireJson(msg.content.toString('utf8'));
  if (!isJsonObject(m)) throw new InvalidRpcMessage('Message body is not a JSON object');
  const c = m['c'] ?? {};
  if (!isJsonObject(c)) throw new InvalidRpcMessage('The context of a lean call must be an object');
  const message: Record<string, unknown> = { method: m['m'], args: m['a'] ?? {} };
  if (m['ns'] !== undefined) message['namespace'] = m['ns'];
  if (m['v'] !== undefined) message['version'] = m['v'];
  return {
    ok: true,
    wire: undefined,
    message,
    ctxt: c,
    reply,
    callMonitorTimeout: undefined,
    uniqueId: reply.msgId,
  };
}

/** {@link readLeanRequest} as the listener wants it: a request, or why not (never throws). */
export function readLeanInbound(
  msg: ConsumeMessage,
  maxSize: number,
): LeanRequest | InboundRejection {
  try {
    return readLeanRequest(msg, maxSize);
  } catch (err) {
    const error =
      err instanceof MessagingError
        ? err
        : new InvalidRpcMessage(`Cannot decode message: ${String(err)}`);
    return { ok: false, error, reply: leanReplyAddress(msg) };
  }
}

/** The reply address of a lean call, when its properties hold one. */
export function leanReplyAddress(msg: ConsumeMessage): LeanReplyAddress | undefined {
  const { replyTo, correlationId } = msg.properties as {
    replyTo?: unknown;
    correlationId?: unknown;
  };
  if (!isName(replyTo) || !isName(correlationId)) return undefined;
  return { msgId: correlationId, replyQ: replyTo, lean: true };
}

/** True for a delivery sent on the lean wire. */
export function isLean(msg: ConsumeMessage): boolean {
  return (msg.properties as { type?: unknown }).type === LEAN_TYPE;
}

/** True for a lean reply address. */
export function isLeanAddress(to: ReplyAddress): to is LeanReplyAddress {
  return (to as Partial<LeanReplyAddress>).lean === true;
}

/** The AMQP properties of a lean reply to `to`. */
export function leanReplyProperties(to: LeanReplyAddress): Readonly<Record<string, unknown>> {
  return { type: LEAN_TYPE, correlationId: to.msgId, contentType: 'application/json' };
}

/** The body of a lean reply; throws what JSON.stringify throws for a result that is not JSON. */
export function encodeLeanReply(result: unknown, failure: string | null): string {
  if (failure !== null) return `{"failure":${JSON.stringify(failure)}}`;
  return `{"result":${JSON.stringify(result === undefined ? null : result) ?? 'null'}}`;
}

/** Reads a lean reply; throws {@link InvalidRpcMessage} when unusable. */
export function readLeanReply(msg: ConsumeMessage, maxSize: number): InboundReply {
  const id = (msg.properties as { correlationId?: unknown }).correlationId;
  if (typeof id !== 'string' || id === '')
    throw new InvalidRpcMessage('Reply without a correlation_id');
  if (msg.content.length > maxSize) {
    throw new InvalidRpcMessage(
      `Reply of ${msg.content.length} bytes exceeds rabbit_max_message_size (${maxSize})`,
    );
  }
  const m = parseWireJson(msg.content.toString('utf8'));
  if (!isJsonObject(m)) throw new InvalidRpcMessage('Reply body is not a JSON object');
  const f = m['failure'];
  if (f !== undefined && f !== null && typeof f !== 'string')
    throw new InvalidRpcMessage('Reply failure must be a JSON string or null');
  return {
    msgId: id,
    ending: true,
    result: m['result'] === undefined ? null : m['result'],
    failure: typeof f === 'string' && f !== '' ? f : null,
  };
}
