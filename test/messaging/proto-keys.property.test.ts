/**
 * Property-based (fast-check): random JSON values whose keys are drawn from `__proto__`,
 * `constructor`, `prototype`, other Object.prototype names and ordinary strings round-trip equal —
 * same own keys, in order, same values, plain objects — through every codec of the wire: the
 * envelope, the oslo request and reply bodies (encodeReply still byte-identical to encodeEnvelope),
 * the lean wire, the request split, the context, the dispatcher's and client's copies, and failure
 * kwargs. Object.prototype is untouched after every run.
 */
import type { ConsumeMessage } from 'amqplib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestContext } from '../../src/core/index.js';
import { RpcDispatcher } from '../../src/messaging/dispatcher.js';
import {
  encodeReply,
  encodeRequest,
  encodeRequestBody,
} from '../../src/messaging/drivers/rabbit/encode.js';
import { readInbound, readReply } from '../../src/messaging/drivers/rabbit/inbound.js';
import {
  encodeLeanReply,
  encodeLeanRequest,
  readLeanReply,
  readLeanRequest,
} from '../../src/messaging/drivers/rabbit/lean.js';
import { splitRequest } from '../../src/messaging/envelope.js';
import { remoteKwargsOf } from '../../src/messaging/failure.js';
import {
  decodeEnvelope,
  deserializeRemoteException,
  encodeEnvelope,
  parseRemoteFailure,
  parseWireJson,
  RequestContextSerializer,
  serializeRemoteException,
} from '../../src/messaging/index.js';

import { expectSame, expectUnpolluted } from '../helpers/proto-keys.js';
type Dict = Record<string, unknown>;

const NUM_RUNS = 200;
const MAX = 1 << 30;

/** Keys: the dangerous names often, ordinary strings otherwise. */
const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype') },
  fc.constantFrom('toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'),
  { weight: 2, arbitrary: fc.string({ maxLength: 6, unit: 'binary' }) },
);

/** An object from entries, every key defined (never assigned): `__proto__` stays an own key. */
function objectOf(entries: readonly (readonly [string, unknown])[]): Dict {
  const o: Dict = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

/** Values JSON carries unchanged (no -0, NaN or infinities). */
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.string({ maxLength: 8, unit: 'binary' }),
);

const { value: jsonValue, object: jsonObject } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc
    .uniqueArray(fc.tuple(key, tie('value')), { selector: ([k]) => k, maxLength: 5 })
    .map(objectOf),
}));
const dict = jsonObject as fc.Arbitrary<Dict>;

afterEach(expectUnpolluted);

/** {@link expectSame}, and deep-equal. */
function expectSameEqual(got: unknown, want: unknown): void {
  expectSame(got, want);
  expect(got).toEqual(want);
}

const run = <T>(arb: fc.Arbitrary<T>, check: (v: T) => void): void =>
  fc.assert(
    fc.property(arb, (v) => {
      check(v);
      expect(({} as Dict)['polluted']).toBeUndefined();
    }),
    { numRuns: NUM_RUNS },
  );

class KwargsError extends Error {
  override name = 'ValueError';
  constructor(readonly kwargs: Dict) {
    super('boom');
  }
}

function delivery(body: string, properties: Dict): ConsumeMessage {
  return {
    content: Buffer.from(body),
    fields: {} as ConsumeMessage['fields'],
    properties: properties as unknown as ConsumeMessage['properties'],
  };
}

describe('__proto__ keys round-trip through every codec (property-based)', () => {
  it('parseWireJson of JSON.stringify is the identity', () => {
    run(jsonValue, (v) => expectSameEqual(parseWireJson(JSON.stringify(v)), v));
  });

  it('the envelope: decodeEnvelope(encodeEnvelope(m))', () => {
    run(fc.tuple(dict, jsonValue), ([args, v]) => {
      const m = objectOf([
        ['method', 'm'],
        ['args', args],
        ['__proto__', v],
      ]);
      expectSameEqual(decodeEnvelope(encodeEnvelope(m)), m);
    });
  });

  it('oslo request bodies: encodeRequest, then readInbound and the split', () => {
    run(fc.tuple(dict, dict), ([args, ctxt]) => {
      const body = encodeRequest({ method: 'echo', args }, ctxt, {
        msgId: 'm',
        replyQ: 'q',
        callMonitorTimeout: undefined,
      });
      const r = readInbound(Buffer.from(body), MAX);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expectSameEqual(r.message, { method: 'echo', args });
      expectSameEqual(r.ctxt, ctxt);
      // The context straight from the prefixed wire keys, as the stock server reads it.
      const fromWire = RequestContext.fromPrefixed(r.wire).extra;
      const fromDict = RequestContext.fromDict(ctxt).extra;
      expectSameEqual(objectOf(Object.entries(fromWire)), objectOf(Object.entries(fromDict)));
    });
  });

  it('encodeRequestBody is byte-identical to encodeEnvelope, for any context', () => {
    run(fc.tuple(dict, dict), ([args, ctxt]) => {
      const head = { method: 'm', args, _unique_id: 'u' };
      const whole: Dict = { ...head };
      for (const [k, v] of Object.entries(ctxt))
        Object.defineProperty(whole, `_context_${k}`, { value: v, enumerable: true });
      expect(encodeRequestBody(head, ctxt)).toBe(encodeEnvelope(whole));
    });
  });

  it('replies: encodeReply is byte-identical to encodeEnvelope, and readReply reads it back', () => {
    run(jsonValue, (result) => {
      const body = encodeReply(result, null, true, 'm');
      const uid = (JSON.parse(JSON.parse(body)['oslo.message'] as string) as Dict)['_unique_id'];
      expect(body).toBe(
        encodeEnvelope({ result, failure: null, ending: true, _msg_id: 'm', _unique_id: uid }),
      );
      expectSameEqual(readReply(Buffer.from(body), MAX).result, result);
    });
  });

  it('the lean wire: requests and replies', () => {
    run(fc.tuple(dict, dict, jsonValue), ([args, ctxt, result]) => {
      const req = readLeanRequest(
        delivery(encodeLeanRequest({ method: 'echo', args }, ctxt), {
          replyTo: 'amq.rabbitmq.reply-to.x',
          correlationId: 'c',
        }),
        MAX,
      );
      expectSameEqual(req.message['args'], args);
      expectSameEqual(req.ctxt, ctxt);
      const reply = readLeanReply(
        delivery(encodeLeanReply(result, null), { correlationId: 'c' }),
        MAX,
      );
      expectSameEqual(reply.result, result);
    });
  });

  it('splitRequest keeps every field and context key', () => {
    run(fc.tuple(dict, dict), ([fields, ctxt]) => {
      const m: Dict = { ...fields };
      for (const [k, v] of Object.entries(ctxt))
        Object.defineProperty(m, `_context_${k}`, { value: v, enumerable: true });
      const split = splitRequest(m);
      expectSameEqual(split.message, fields);
      expectSameEqual(split.ctxt, ctxt);
    });
  });

  it('the context: extra keys through toDict, the serializer and fromDict', () => {
    run(dict, (extra) => {
      const ctx = new RequestContext({ userId: 'u', extra });
      const unknown = objectOf(Object.entries(ctx.extra));
      const dictForm = new RequestContextSerializer().serializeContext(ctx);
      const back = RequestContext.fromDict(parseWireJson(JSON.stringify(dictForm)) as Dict);
      expectSameEqual(objectOf(Object.entries(back.extra)), unknown);
      expect(Object.getPrototypeOf(back.extra)).toBeNull();
      expect(back.isAdmin).toBe(false);
    });
  });

  it("the dispatcher's and the client's copies (a serializer with a base)", async () => {
    const serializer = new RequestContextSerializer({
      serializeEntity: (_c, e) => e,
      deserializeEntity: (_c, e) => e,
    });
    class Echo {
      echo(_ctx: unknown, args: Dict): Dict {
        return args;
      }
    }
    const dispatcher = new RpcDispatcher([new Echo()], { serializer });
    await fc.assert(
      fc.asyncProperty(dict, async (args) => {
        const got = await dispatcher.dispatch(
          {},
          { method: 'echo', args, namespace: null, version: '1.0' },
        );
        expectSameEqual(got, args);
        expect(got).not.toBe(args); // copied, key by key
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('failure kwargs: serializeRemoteException, then parse and deserialize', () => {
    run(dict, (kwargs) => {
      const err = new KwargsError(kwargs);
      const text = serializeRemoteException(err);
      expectSameEqual(parseRemoteFailure(text).kwargs, kwargs);
      expectSameEqual(remoteKwargsOf(deserializeRemoteException(text)), kwargs);
    });
  });
});
