/**
 * What the `__proto__`-keys tests share (issue 18): the payload table, the pollution check, "the
 * same data, plain objects all the way down", and the echo endpoint the callers talk to.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { RequestContext } from '../../src/core/index.js';
import { Target } from '../../src/messaging/index.js';

export type Dict = Record<string, unknown>;

/** The payload table (test/interop/fixtures/proto-keys-payloads.json), shared with the Python side. */
export interface ProtoKeysTable {
  args: { name: string; args: Dict }[];
  context: Dict;
  kwargs: Dict;
}

/** The table as JSON text read it: JSON.parse makes every `__proto__` key an own data property. */
export const PROTO_KEYS_TABLE = JSON.parse(
  readFileSync(new URL('../interop/fixtures/proto-keys-payloads.json', import.meta.url), 'utf8'),
) as ProtoKeysTable;

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

/** No prototype polluted: `({}).polluted` and friends undefined, Object.prototype unchanged. */
export function expectUnpolluted(): void {
  const probe = {} as Dict;
  for (const k of ['polluted', 'is_admin', 'x']) expect(probe[k], k).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
  expect(Object.getPrototypeOf(Object.prototype)).toBeNull();
  expect(Object.getPrototypeOf([])).toBe(Array.prototype);
}

/** Every object in `v` is a plain (or null-prototype) object or a plain array. */
export function expectPlain(v: unknown, path = '$'): void {
  if (typeof v !== 'object' || v === null) return;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (Array.isArray(v)) {
    expect(proto, path).toBe(Array.prototype);
    v.forEach((x, i) => expectPlain(x, `${path}[${i}]`));
    return;
  }
  expect(proto === Object.prototype || proto === null, `${path} has a foreign prototype`).toBe(
    true,
  );
  for (const k of Object.keys(v)) expectPlain((v as Dict)[k], `${path}.${k}`);
}

/** `got` is `want`: same keys (own, in order), same values, plain objects all the way down. */
export function expectSame(got: unknown, want: unknown): void {
  expect(JSON.stringify(got)).toBe(JSON.stringify(want));
  expectPlain(got);
}

/** The entries of `dict` whose keys `want` has, in `dict`'s order, as own data. */
export function pick(dict: Dict, want: Dict): Dict {
  const out: Dict = {};
  for (const k of Object.keys(dict)) {
    if (Object.hasOwn(want, k))
      Object.defineProperty(out, k, { value: dict[k], enumerable: true, writable: true });
  }
  return out;
}

/** An endpoint's error with oslo keyword arguments (Python rebuilds it from `proto_keys_exc`). */
export class ProtoKeysError extends Error {
  static readonly remoteModule = 'proto_keys_exc';
  override name = 'ProtoKeysError';
  constructor(readonly kwargs: Dict) {
    super('proto keys');
  }
}

/** Echoes arguments and the context, raises with kwargs; keeps what it was given, in order. */
export class ProtoEndpoint {
  readonly target = new Target({ version: '1.0' });
  /** Every `echo_args` argument object and `echo_context` context, in arrival order. */
  readonly seen: unknown[] = [];

  echo_args(_ctx: unknown, args: Dict): Dict {
    this.seen.push(args);
    return args;
  }

  echo_context(ctx: unknown): unknown {
    this.seen.push(ctx);
    return ctx instanceof RequestContext ? ctx.toDict() : ctx;
  }

  fail_kwargs(_ctx: unknown, args: { kwargs: Dict }): never {
    throw new ProtoKeysError(args.kwargs);
  }
}
