import { connect } from 'node:net';
import { existsSync } from 'node:fs';

/** True if something accepts TCP connections on host:port within `timeoutMs`. */
export function reachable(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

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
