import type { DbBoolean, DbSerial, DbTimestamp } from './schema.js';

/** The SQL dialects the store runs on. */
export type StoreDialect = 'sqlite' | 'postgres';

/**
 * The one place where the dialects differ in values: better-sqlite3 binds neither `Date` nor
 * `boolean`, so SQLite gets ISO-8601 text (sortable as text) and 0/1; PostgreSQL gets `timestamptz`
 * and `boolean`. Everything else (queries, transactions) is shared.
 */
export interface ValueCodec {
  timestamp(value: Date): DbTimestamp;
  readTimestamp(value: DbTimestamp): Date;
  boolean(value: boolean): DbBoolean;
  readBoolean(value: DbBoolean): boolean;
  /** `bigint` serials arrive from `pg` as strings. */
  readSerial(value: DbSerial): number;
  /** The column or constraint a unique-violation error names, `undefined` if `err` is not one. */
  uniqueViolation(err: unknown): string | undefined;
  /**
   * A JSON value as the text of a JSON column (`text` on both dialects); `undefined` is `null`.
   * Every key is written, `__proto__`, `constructor` and `prototype` included, when it is an own
   * property (as JSON.parse and {@link readJson} make it).
   */
  json(value: unknown): string;
  /**
   * The value of a JSON column: its text parsed (a value `pg` already parsed, from a `json` or
   * `jsonb` column, is returned as is; `jsonb` itself reorders keys). Keys are data: a `__proto__`
   * key comes back as an own data property of a plain object, in order, never as its prototype, so
   * a text column round-trips unchanged and nothing is polluted. Throws JSON.parse's `SyntaxError`
   * for text that is not JSON.
   */
  readJson(value: unknown): unknown;
}

// JSON.parse defines every key (CreateDataProperty): `__proto__` stays an own data property.
const json = (value: unknown): string => JSON.stringify(value) ?? 'null';
const readJson = (value: unknown): unknown =>
  typeof value === 'string' ? JSON.parse(value) : value;

const readSerial = (value: DbSerial): number => Number(value);

const sqliteCodec: ValueCodec = {
  timestamp: (value) => value.toISOString(),
  readTimestamp: (value) => new Date(value),
  boolean: (value) => (value ? 1 : 0),
  readBoolean: (value) => value === 1 || value === true,
  readSerial,
  json,
  readJson,
  uniqueViolation(err) {
    // better-sqlite3: code SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY, "UNIQUE constraint failed: t.col"
    const e = err as { code?: unknown; message?: unknown } | null;
    if (typeof e?.code !== 'string' || !/^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(e.code))
      return undefined;
    return typeof e.message === 'string' ? e.message : '';
  },
};

const postgresCodec: ValueCodec = {
  timestamp: (value) => value,
  readTimestamp: (value) => (value instanceof Date ? value : new Date(value)),
  boolean: (value) => value,
  readBoolean: (value) => value === true || value === 1,
  readSerial,
  json,
  readJson,
  uniqueViolation(err) {
    const e = err as { code?: unknown; constraint?: unknown } | null;
    if (e?.code !== '23505') return undefined; // unique_violation
    return typeof e.constraint === 'string' ? e.constraint : '';
  },
};

/** The value codec of a dialect. */
export function codecFor(dialect: StoreDialect): ValueCodec {
  return dialect === 'sqlite' ? sqliteCodec : postgresCodec;
}
