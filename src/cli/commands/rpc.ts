import { type Command, InvalidArgumentError, Option } from 'commander';
import { getAdminContext } from '../../core/index.js';
import {
  getRpcTransport,
  MessagingError,
  RemoteError,
  RpcClient,
  rpcTransportOptions,
  type TargetFields,
} from '../../messaging/index.js';
import { json } from '../format.js';
import { DEFAULT_TOPIC } from '../manager.js';
import { addGlobalOptions, type CliContext, prepare } from '../globals.js';
import { EXIT, UsageError } from '../io.js';

/** Options of `rpc call` and `rpc cast`. */
interface RpcOptions {
  topic: string;
  server?: string;
  fanout?: boolean;
  exchange?: string;
  timeout?: number;
  namespace?: string;
  version?: string;
  transportUrl?: string;
  args?: Record<string, unknown>;
}

/**
 * A `key=value` value: JSON when it parses as JSON (numbers, true, false, null, "strings",
 * objects, arrays), else the text itself. Numbers JSON cannot carry exactly (`1e999`, integers
 * beyond 2^53) stay strings.
 */
export function parseValue(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return text;
    if (!Number.isSafeInteger(value) && /^\s*-?\d+\s*$/.test(text)) return text;
  }
  return value;
}

/** `key=value ...` → `{ key: value }` (later keys win). */
export function parseParams(params: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(
        `argument '${p}' is not key=value (values are JSON when they parse, e.g. count=3 enabled=true name=vim-1, or use --args '{"key": ...}')`,
      );
    }
    Object.defineProperty(out, p.slice(0, eq), {
      value: parseValue(p.slice(eq + 1)),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function parseArgsOption(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(
      'must be a JSON object of named arguments, e.g. {"vim_id": "x"}',
    );
  }
  return value as Record<string, unknown>;
}

function parseTimeout(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('must be a positive number of seconds');
  }
  return n;
}

function parseVersionOption(text: string): string {
  if (!/^\d+\.\d+(\.\d+)?$/.test(text)) {
    throw new InvalidArgumentError('must be major.minor (e.g. 1.0)');
  }
  return text;
}

/** The one-line form of an RPC failure, for stderr. */
export function describeRpcError(err: unknown): string | undefined {
  if (err instanceof RemoteError) return `RemoteError: ${err.excType}: ${err.value}`;
  if (err instanceof MessagingError) return `${err.name}: ${err.message}`;
  return undefined;
}

function addRpcOptions(cmd: Command): Command {
  return addGlobalOptions(cmd)
    .option('--topic <topic>', 'the topic the server listens on', DEFAULT_TOPIC)
    .option('--server <server>', 'send to this server only (its host name: queue topic.server)')
    .option(
      '--exchange <exchange>',
      'the exchange of the target (default the control exchange: [DEFAULT] control_exchange)',
    )
    .option('--namespace <namespace>', 'the namespace of the endpoint')
    .option(
      '--version <version>',
      'the API version the message asks for, major.minor',
      parseVersionOption,
    )
    .option(
      '--transport-url <url>',
      'the messaging backend (default [DEFAULT] transport_url), e.g. rabbit://user:pass@host:5672/',
    )
    .option(
      '--args <json>',
      'named arguments as a JSON object, merged under the key=value ones',
      parseArgsOption,
    )
    .argument('<method>', 'the remote method')
    .argument('[params...]', 'named arguments key=value; values are JSON when they parse');
}

async function send(
  mode: 'call' | 'cast',
  method: string,
  params: readonly string[],
  opts: RpcOptions,
  cmd: Command,
  ctx: CliContext,
): Promise<void> {
  if (mode === 'call' && opts.fanout) {
    throw new UsageError(
      "--fanout cannot be used with 'rpc call' (every server would get it, none could answer); use 'rpc cast --fanout'",
    );
  }
  const args = { ...opts.args, ...parseParams(params) };
  const { conf } = await prepare(cmd, ctx, {
    logFd: 2,
    defaultLevel: 'warn',
    cli: opts.transportUrl !== undefined ? { transport_url: opts.transportUrl } : {},
  });
  const transport = await getRpcTransport(rpcTransportOptions(conf));
  try {
    const target: TargetFields = {
      topic: opts.topic,
      server: opts.server,
      exchange: opts.exchange,
      namespace: opts.namespace,
      version: opts.version,
      fanout: mode === 'cast' && opts.fanout ? true : undefined,
    };
    const client = new RpcClient(transport, target, {
      ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    });
    const context = getAdminContext();
    try {
      if (mode === 'call') {
        const result = await client.call(context, method, args);
        ctx.io.stdout.write(json(result));
      } else {
        await client.cast(context, method, args);
      }
    } catch (err) {
      const line = describeRpcError(err);
      if (line === undefined) throw err;
      ctx.io.stderr.write(`${line}\n`);
      const e = err as { traceback?: readonly string[]; remoteTraceback?: readonly string[] };
      const tb = e.traceback ?? e.remoteTraceback;
      if (ctx.debug && tb?.length) ctx.io.stderr.write(tb.join(''));
      ctx.exitCode = EXIT.FAILURE;
    }
  } finally {
    await transport.close();
  }
}

/** `conductor rpc call|cast`: a client for any oslo.messaging-compatible service. */
export function addRpcCommand(program: Command, ctx: CliContext): Command {
  const rpc = program
    .command('rpc')
    .description('send an RPC call or cast to an oslo.messaging-compatible service')
    .addHelpText(
      'after',
      `
Examples:
  $ conductor rpc call --topic TACKER_CONDUCTOR update_vim vim_id=6261579e status=REACHABLE
  $ conductor rpc cast --topic TACKER_CONDUCTOR --fanout refresh`,
    );

  addRpcOptions(
    rpc
      .command('call')
      .description('call a remote method and print its JSON result (exit 1 on a remote error)'),
  )
    .option(
      '--timeout <seconds>',
      'seconds to wait for the reply (default [DEFAULT] rpc_response_timeout)',
      parseTimeout,
    )
    .addOption(hiddenFanout())
    .addHelpText(
      'after',
      `
Values of key=value are JSON when they parse (3, 1.5, true, null, {"a": 1}, "quoted"), else strings.
A remote error prints 'RemoteError: <class>: <message>' on stderr and exits 1.

Examples:
  $ conductor rpc call --topic TACKER_CONDUCTOR --server node-1 update_vim vim_id=6261579e status=PENDING
  $ conductor rpc call --topic TACKER_CONDUCTOR --version 1.0 --timeout 5 --args '{"vim_id": "6261579e", "status": "REACHABLE"}' update_vim
  $ conductor rpc call --transport-url rabbit://guest:guest@rabbit:5672/ --topic my_topic echo value='"42"'`,
    )
    .action(async (method: string, params: string[], opts: RpcOptions, cmd: Command) =>
      send('call', method, params, opts, cmd, ctx),
    );

  addRpcOptions(
    rpc.command('cast').description('send a remote method without waiting for it (prints nothing)'),
  )
    .option('--fanout', 'send to every server listening on the topic')
    .addHelpText(
      'after',
      `
Examples:
  $ conductor rpc cast --topic TACKER_CONDUCTOR update_vim vim_id=6261579e status=UNREACHABLE
  $ conductor rpc cast --topic TACKER_CONDUCTOR --fanout --exchange tacker reload_vims`,
    )
    .action(async (method: string, params: string[], opts: RpcOptions, cmd: Command) =>
      send('cast', method, params, opts, cmd, ctx),
    );

  return rpc;
}

/** `rpc call --fanout` is accepted by the parser so that it can be refused with a clear message. */
function hiddenFanout(): Option {
  return new Option('--fanout').hideHelp();
}
