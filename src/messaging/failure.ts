import { InvalidRpcMessage, NoSuchMethod, RemoteError, UnsupportedVersion } from '../core/index.js';
import { isJsonObject, parseWireJson } from './json.js';

/** The failure of a reply, as oslo.messaging encodes it (a JSON string inside the reply). */
export interface RemoteFailure {
  class: string;
  module: string;
  message: string;
  tb: string[];
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** Module oslo.messaging puts its dispatcher errors in. */
export const DISPATCHER_MODULE = 'oslo_messaging.rpc.dispatcher';
/** Module of errors that have no `static remoteModule` and are not Python builtins by name. */
export const DEFAULT_REMOTE_MODULE = 'conductor_ts.exceptions';

// Names a Python peer can rebuild from module `builtins`.
const PY_BUILTINS = new Set([
  'Exception',
  'ValueError',
  'TypeError',
  'KeyError',
  'IndexError',
  'RuntimeError',
  'AttributeError',
  'NotImplementedError',
  'LookupError',
  'ArithmeticError',
  'ZeroDivisionError',
  'OSError',
  'IOError',
  'TimeoutError',
  'PermissionError',
  'FileNotFoundError',
  'AssertionError',
]);

function moduleOf(err: unknown, name: string): string {
  if (err instanceof NoSuchMethod || err instanceof UnsupportedVersion) return DISPATCHER_MODULE;
  const declared = (err as { constructor?: { remoteModule?: unknown } } | null)?.constructor
    ?.remoteModule;
  if (typeof declared === 'string' && declared) return declared;
  return PY_BUILTINS.has(name) ? 'builtins' : DEFAULT_REMOTE_MODULE;
}

/** A JS stack as Python traceback lines, which is what peers print. */
function traceback(err: unknown, name: string, message: string): string[] {
  const lines = ['Traceback (most recent call last):\n'];
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  const frames = stack.split('\n').filter((l) => l.trimStart().startsWith('at '));
  for (const frame of frames.reverse()) {
    const m = /at (?:(.+?) \()?(.+?):(\d+):\d+\)?$/.exec(frame.trim());
    if (m) lines.push(`  File "${m[2] ?? '?'}", line ${m[3] ?? '?'}, in ${m[1] ?? '<module>'}\n`);
  }
  lines.push(`${name}: ${message}\n`);
  return lines;
}

/** Encodes what an endpoint threw as the `failure` text of a reply. */
export function serializeRemoteException(err: unknown): string {
  const isErr = err instanceof Error;
  const name = isErr ? err.name || err.constructor.name : 'Exception';
  const message = isErr ? err.message : String(err);
  const kwargs = isErr ? (err as { kwargs?: unknown }).kwargs : undefined;
  const failure: RemoteFailure = {
    class: name,
    module: moduleOf(err, name),
    message,
    tb: traceback(err, name, message),
    args: [message],
    kwargs: isJsonObject(kwargs) ? kwargs : {},
  };
  return JSON.stringify(failure);
}

/** Parses and checks a failure text; missing fields get neutral values, a wrong shape is an error. */
export function parseRemoteFailure(text: string): RemoteFailure {
  const data = parseWireJson(text);
  if (!isJsonObject(data)) throw new InvalidRpcMessage('failure is not a JSON object');
  const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);
  let cls = str(data['class'], 'Exception');
  let mod = str(data['module'], 'builtins');
  if (cls.endsWith('_Remote') && mod.endsWith('_Remote')) {
    cls = cls.slice(0, -7);
    mod = mod.slice(0, -7);
  }
  const tb = Array.isArray(data['tb'])
    ? data['tb'].filter((l): l is string => typeof l === 'string')
    : [];
  return {
    class: cls,
    module: mod,
    message: str(data['message'], ''),
    tb,
    args: Array.isArray(data['args']) ? data['args'] : [],
    kwargs: isJsonObject(data['kwargs']) ? data['kwargs'] : {},
  };
}

/**
 * The local error for a failure reply: the dispatcher's `NoSuchMethod` and `UnsupportedVersion` as
 * those classes (with the remote traceback attached), anything else as {@link RemoteError} naming the
 * remote class. The failure's `kwargs` (every key kept, `__proto__` included, as own data) are
 * attached as the non-enumerable `remoteKwargs`, where a Python peer would rebuild its exception
 * with them.
 */
export function deserializeRemoteException(text: string): Error {
  const f = parseRemoteFailure(text);
  let err: Error & { remoteTraceback?: readonly string[] };
  if (f.module === DISPATCHER_MODULE && f.class === 'NoSuchMethod') {
    const m = /RPC method (.*)$/s.exec(f.message);
    err = new NoSuchMethod(m?.[1] ?? f.message);
    err.remoteTraceback = f.tb;
  } else if (f.module === DISPATCHER_MODULE && f.class === 'UnsupportedVersion') {
    const m = /RPC version (\S+?)\.?(?: Attempted method: (.*))?$/s.exec(f.message);
    err = new UnsupportedVersion(m?.[1] ?? f.message, m?.[2]);
    err.remoteTraceback = f.tb;
  } else {
    err = new RemoteError(f.class, f.message, f.tb);
  }
  Object.defineProperty(err, 'remoteKwargs', { value: f.kwargs, enumerable: false });
  return err;
}

/**
 * The `kwargs` of the failure an error was rebuilt from by {@link deserializeRemoteException}
 * (oslo's exception keyword arguments, such as Tacker's `{"vim_id": …}`), or undefined for an error
 * that did not come from a failure reply.
 */
export function remoteKwargsOf(err: unknown): Readonly<Record<string, unknown>> | undefined {
  const k = (err as { remoteKwargs?: unknown } | null)?.remoteKwargs;
  return isJsonObject(k) ? k : undefined;
}
