/**
 * The value codec's JSON columns (issue 18): keys named `__proto__`, `constructor` and `prototype`
 * are data. A value written with `codec.json` and read with `codec.readJson` — directly, through a
 * stored row of the conductor's SQLite store, and through PostgreSQL's `text` and `json` types —
 * comes back with every key an own data property, with its value, in order; nothing is polluted.
 * PostgreSQL is skipped loudly when absent (required under CI=true).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/index.js';
import { codecFor, type StoreDialect } from '../../../src/conductor/db/codec.js';
import { openStore } from '../../../src/conductor/db/index.js';
import {
  type Dict,
  expectSame,
  expectUnpolluted,
  PROTO_KEYS_TABLE,
} from '../../helpers/proto-keys.js';
import { pgAdmin, requirePostgres } from '../../helpers/services.js';

const pgAvailable = await requirePostgres();

const TABLE = PROTO_KEYS_TABLE;

/** Every payload of the shared table, by name. */
const PAYLOADS: [string, unknown][] = [
  ...TABLE.args.map((c): [string, unknown] => [c.name, c.args]),
  ['context dict', TABLE.context],
  ['failure kwargs', TABLE.kwargs],
];

afterEach(expectUnpolluted);

/** {@link expectSame}, and deep-equal. */
function expectSameEqual(got: unknown, want: unknown): void {
  expectSame(got, want);
  expect(got).toEqual(want);
}

const DIALECTS: StoreDialect[] = ['sqlite', 'postgres'];

describe('ValueCodec JSON columns', () => {
  for (const dialect of DIALECTS) {
    it(`${dialect}: json then readJson round-trips every payload`, () => {
      const c = codecFor(dialect);
      for (const [name, value] of PAYLOADS) {
        const text = c.json(value);
        expect(text, name).toBe(JSON.stringify(value));
        expect(text, name).toContain('"__proto__"');
        expectSameEqual(c.readJson(text), value);
      }
      expect(c.json(undefined)).toBe('null');
      expect(c.readJson({ already: 'parsed' })).toEqual({ already: 'parsed' });
    });
  }

  it('random JSON with prototype-named keys round-trips (property-based)', () => {
    const key = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype'),
      fc.string({ maxLength: 5 }),
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 5 })),
        fc.array(tie('value'), { maxLength: 3 }),
        fc
          .uniqueArray(fc.tuple(key, tie('value')), { selector: ([k]) => k, maxLength: 4 })
          .map((entries) => {
            const o: Dict = {};
            for (const [k, v] of entries)
              Object.defineProperty(o, k, { value: v, enumerable: true, writable: true });
            return o;
          }),
      ),
    }));
    const c = codecFor('sqlite');
    fc.assert(
      fc.property(value, (v) => expectSameEqual(c.readJson(c.json(v)), v)),
      { numRuns: 300 },
    );
  });

  it('a stored row of the SQLite store: written as JSON text, read back unchanged', async () => {
    const store = await openStore('sqlite://', { logger: createLogger({ level: 'silent' }) });
    const c = codecFor(store.dialect);
    try {
      for (const [name, value] of PAYLOADS) {
        await store.db
          .insertInto('events')
          .values({
            resource_id: name,
            resource_type: 'vim',
            resource_state: 'REACHABLE',
            event_type: 'MONITOR',
            event_details: c.json(value),
            timestamp: c.timestamp(new Date()),
          })
          .execute();
        const [event] = await store.listEvents(name);
        expectSameEqual(c.readJson(event?.eventDetails), value);
      }
    } finally {
      await store.close();
    }
  });

  it.skipIf(!pgAvailable)('PostgreSQL text and json values round-trip unchanged', async () => {
    const c = codecFor('postgres');
    await pgAdmin(async (client) => {
      for (const [, value] of PAYLOADS) {
        const text = c.json(value);
        const r = await client.query<{ t: string; j: unknown }>(
          'SELECT $1::text AS t, $1::json AS j',
          [text],
        );
        expectSameEqual(c.readJson(r.rows[0]?.t), value);
        expectSameEqual(c.readJson(r.rows[0]?.j), value); // `json` keeps the text: pg parses it
      }
    });
  });
});
