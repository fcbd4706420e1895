import pg from 'pg';
import { reachable } from '../../bench/lib/ports.js';
import { existsSync } from 'node:fs';

/**
 * Whether a test file that needs a real service may run. Under CI=true the service is required (the
 * file fails loudly); elsewhere it is skipped with a loud warning when absent.
 */
export async function requireService(name: string, available: boolean): Promise<boolean> {
  if (available) return true;
  if (process.env['CI'] === 'true')
    throw new Error(`${name} is required under CI=true but is not available`);
  console.warn(
    `\n!!! SKIPPING: ${name} is not available on this machine; these tests did not run !!!\n`,
  );
  return false;
}

export const RABBIT_URL =
  process.env['CONDUCTOR_TEST_RABBIT_URL'] ?? 'rabbit://guest:guest@127.0.0.1:5672/';
export const PYTHON = process.env['PYTHON'] ?? '/usr/bin/python3';
export const hasPython = (): boolean => existsSync(PYTHON);

export const REDIS_URL = process.env['CONDUCTOR_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const PG_URL =
  process.env['CONDUCTOR_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether the test PostgreSQL (`PG_URL`) may be used: {@link requireService} with its host and port
 * (under CI=true it must answer).
 */
export async function requirePostgres(): Promise<boolean> {
  const u = new URL(PG_URL);
  const port = Number(u.port || 5432);
  return requireService(`PostgreSQL on ${u.hostname}:${port}`, await reachable(port, u.hostname));
}

export { freePort, reachable } from '../../bench/lib/ports.js';

/** Runs `work` on a fresh client of the test PostgreSQL (`PG_URL`), closed afterwards. */
export async function pgAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops the coordination tables and sequence a PostgreSQL backend made under `prefix`. */
export async function dropCoordinationTables(client: pg.Client, prefix: string): Promise<void> {
  const t = `${prefix}_coordination`;
  await client.query(`DROP TABLE IF EXISTS ${t}_leases, ${t}_slots, ${t}_members`);
  await client.query(`DROP SEQUENCE IF EXISTS ${t}_fence`);
}
