/**
 * Several processes opening one new SQLite database at once (`conductor run --workers N` on the
 * default database, or the CLI beside a starting conductor) must all succeed: the migrations run
 * once, under SQLite's write lock. Separate processes, because better-sqlite3 is synchronous: two
 * connections in one process would wait on each other's lock and never let it go.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_TABLE } from '../../../src/conductor/index.js';
import { ensureBuilt, ROOT } from '../../cli/build.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist/src/cli/main.js');
const PROCESSES = 4;
const ROUNDS = 3;

let dir = '';

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conductor-migrate-race-'));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SQLite migrations under concurrent opens', () => {
  it(`${PROCESSES} processes opening a new database file at once all succeed`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const db = join(dir, `round-${round}`, 'conductor.sqlite');
      const conf = join(dir, `round-${round}.conf`);
      writeFileSync(conf, `[database]\nconnection = sqlite:///${db}\n`);
      const results = await Promise.allSettled(
        Array.from({ length: PROCESSES }, () =>
          run(process.execPath, [CLI, 'vim', 'list', '--config-file', conf], { timeout: 30_000 }),
        ),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      // Each migration recorded once.
      const sqlite = new Database(db, { readonly: true });
      try {
        const rows = sqlite.prepare(`SELECT name FROM ${MIGRATION_TABLE} ORDER BY name`).all() as {
          name: string;
        }[];
        expect(rows.length).toBeGreaterThan(0);
        expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
      } finally {
        sqlite.close();
      }
    }
  }, 120_000);
});
