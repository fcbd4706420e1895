/**
 * Calls the conductor's `update_vim` over RabbitMQ from TypeScript, as Tacker's VIM monitor did
 * from Python:
 *
 *   npm run build && node dist/examples/call-update-vim.js <vim_id> <status> [transport_url]
 *
 * The conductor must run on the same broker (`conductor run --config-file ...` with
 * `transport_url = rabbit://...`). Prints the returned status, or the remote error's class and
 * message (e.g. `VimNotFoundException: VIM x could not be found`) with exit status 1.
 */
import { createLogger, getAdminContext, RemoteError, setRootLogger } from 'conductor-ts/core';
import { getRpcTransport, RpcClient } from 'conductor-ts/messaging';

const [vimId, status, url = 'rabbit://guest:guest@127.0.0.1:5672/'] = process.argv.slice(2);
if (!vimId || !status) {
  process.stderr.write('usage: call-update-vim <vim_id> <status> [transport_url]\n');
  process.exit(2);
}

setRootLogger(createLogger({ level: 'warn' })); // keep stdout for the result
const transport = await getRpcTransport({ transportUrl: url, controlExchange: 'tacker' });
// VIMUpdateRPC.target: exchange tacker, topic TACKER_CONDUCTOR, version 1.0.
const client = new RpcClient(
  transport,
  { topic: 'TACKER_CONDUCTOR', version: '1.0' },
  { timeout: 30 },
);
try {
  const result = await client.call(getAdminContext(), 'update_vim', { vim_id: vimId, status });
  process.stdout.write(`${String(result)}\n`);
} catch (err) {
  const e = err as Error;
  process.stderr.write(
    err instanceof RemoteError ? `${err.excType}: ${err.value}\n` : `${e.name}: ${e.message}\n`,
  );
  process.exitCode = 1;
} finally {
  await transport.close();
}
