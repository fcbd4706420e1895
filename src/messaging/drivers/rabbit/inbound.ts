import { InvalidRpcMessage, MessagingError } from '../../../core/index.js';
import { decodeEnvelope, splitRequest } from '../../envelope.js';
import { isJsonObject, parseWireJson } from '../../json.js';

/** Where a reply goes: the request's `_msg_id` and `_reply_q`. */
export interface ReplyAddress {
  readonly msgId: string;
  readonly replyQ: string;
}

/**
 * A request read off a topic or fanout queue. `message` and `ctxt` are split off `wire` on first
 * use: a server with the stock serializer reads the request straight from `wire` and never asks.
 */
export class InboundRequest {
  readonly ok = true as const;
  #split: { message: Record<string, unknown>; ctxt: Record<string, unknown> } | undefined;

  constructor(
    /** The decoded request: its fields, the driver keys and the `_context_*` keys. */
    readonly wire: Record<string, unknown>,
    /** Set for a call. */
    readonly reply: ReplyAddress | undefined,
    /** `_timeout`: the caller's call-monitor timeout, when a finite number. */
    readonly callMonitorTimeout: number | undefined,
    /** `_unique_id`, when a string (duplicate suppression). */
    readonly uniqueId: string | undefined,
  ) {}

  /** Request fields (`method`, `args`, ...), without the `_` keys, not yet checked. */
  get message(): Record<string, unknown> {
    return this.#parts().message;
  }

  /** The `_context_*` entries without the prefix. */
  get ctxt(): Record<string, unknown> {
    return this.#parts().ctxt;
  }

  #parts(): { message: Record<string, unknown>; ctxt: Record<string, unknown> } {
    return (this.#split ??= splitRequest(this.wire, DRIVER_KEYS));
  }
}

/** A body that cannot be a request; `reply` is set when a failure reply can still be addressed. */
export interface InboundRejection {
  readonly ok: false;
  readonly error: MessagingError;
  readonly reply: ReplyAddress | undefined;
}

/** The request keys a driver strips (besides `_context_*`). */
const DRIVER_KEYS = ['_msg_id', '_reply_q', '_timeout', '_unique_id'] as const;

/** A `_reply_q` the driver can publish to: a non-empty AMQP short string. */
function isQueueName(v: unknown): v is string {
  return typeof v === 'string' && v !== '' && Buffer.byteLength(v) <= 255;
}

/** The reply address of a decoded request, when both parts are usable. */
export function replyAddressOf(m: Record<string, unknown>): ReplyAddress | undefined {
  const msgId = m['_msg_id'];
  const replyQ = m['_reply_q'];
  if (typeof msgId === 'string' && msgId !== '' && isQueueName(replyQ)) return { msgId, replyQ };
  return undefined;
}

/** Best effort for a body that failed to decode: the address inside a readable envelope. */
function salvageAddress(text: string): ReplyAddress | undefined {
  try {
    const outer = parseWireJson(text);
    if (!isJsonObject(outer)) return undefined;
    const inner = outer['oslo.message'];
    const m = typeof inner === 'string' ? parseWireJson(inner) : outer;
    return isJsonObject(m) ? replyAddressOf(m) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads a request body as oslo.messaging's AMQP listener does: size bound, envelope, then the
 * driver keys. A call (`_msg_id` present and not null) needs a string `_msg_id` and a usable
 * `_reply_q`; a malformed `_timeout` or `_unique_id` is ignored. Never throws.
 */
export function readInbound(content: Buffer, maxSize: number): InboundRequest | InboundRejection {
  if (content.length > maxSize) {
    return {
      ok: false,
      error: new InvalidRpcMessage(
        `Message of ${content.length} bytes exceeds rabbit_max_message_size (${maxSize})`,
      ),
      reply: undefined,
    };
  }
  const text = content.toString('utf8');
  let m: Record<string, unknown>;
  try {
    m = decodeEnvelope(text);
  } catch (err) {
    const error =
      err instanceof MessagingError
        ? err
        : new InvalidRpcMessage(`Cannot decode message: ${String(err)}`);
    return { ok: false, error, reply: salvageAddress(text) };
  }
  const rawMsgId = m['_msg_id'];
  let reply: ReplyAddress | undefined;
  if (rawMsgId !== undefined && rawMsgId !== null) {
    if (typeof rawMsgId !== 'string' || rawMsgId === '') {
      return {
        ok: false,
        error: new InvalidRpcMessage('_msg_id must be a non-empty string'),
        reply: undefined,
      };
    }
    if (!isQueueName(m['_reply_q'])) {
      return {
        ok: false,
        error: new InvalidRpcMessage('_reply_q must be a queue name (a string of 1-255 bytes)'),
        reply: undefined,
      };
    }
    reply = { msgId: rawMsgId, replyQ: m['_reply_q'] as string };
  }
  const timeout = m['_timeout'];
  const uniqueId = m['_unique_id'];
  return new InboundRequest(
    m,
    reply,
    typeof timeout === 'number' && Number.isFinite(timeout) ? timeout : undefined,
    typeof uniqueId === 'string' ? uniqueId : undefined,
  );
}

/** A decoded reply (`result`, `failure`, `ending`, `_msg_id`). */
export interface InboundReply {
  readonly msgId: string;
  /** False for a call-monitor heartbeat. */
  readonly ending: boolean;
  readonly result: unknown;
  /** The failure text, or null. */
  readonly failure: string | null;
}

/** Reads a reply body; throws {@link InvalidRpcMessage} (or an envelope error) when unusable. */
export function readReply(content: Buffer, maxSize: number): InboundReply {
  if (content.length > maxSize) {
    throw new InvalidRpcMessage(
      `Reply of ${content.length} bytes exceeds rabbit_max_message_size (${maxSize})`,
    );
  }
  const m = decodeEnvelope(content.toString('utf8'));
  const msgId = m['_msg_id'];
  if (typeof msgId !== 'string' || msgId === '') {
    throw new InvalidRpcMessage('Reply without a _msg_id');
  }
  const f = m['failure'];
  let failure: string | null = null;
  if (typeof f === 'string' && f !== '') failure = f;
  else if (isJsonObject(f)) failure = JSON.stringify(f);
  else if (f !== null && f !== undefined && f !== false && f !== '') {
    throw new InvalidRpcMessage('Reply failure must be a JSON string or null');
  }
  return {
    msgId,
    ending: m['ending'] !== false,
    result: m['result'] === undefined ? null : m['result'],
    failure,
  };
}
