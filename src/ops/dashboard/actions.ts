import type { IncomingMessage } from 'node:http';
import { type Clock, getAdminContext, type Logger } from '../../core/index.js';
import type { Service } from '../../service/index.js';
import { describeError } from '../describe.js';

/** The header the page's requests carry; a cross-site form or image cannot set it. */
export const ACTION_HEADER = 'x-conductor-action';

/** Seconds a "run now" request waits for the run before answering 202 (it goes on). */
export const RUN_WAIT = 5;

/** Where the action routes live: `/actions/tasks/<name>/<verb>`. */
export const ACTION_PREFIX = '/actions/';

const ROUTE = /^\/actions\/tasks\/([^/]+)\/(run|disable|enable)$/;

/** The answer of an action: an HTTP status, a JSON body, extra headers. */
export interface ActionResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

/**
 * Whether a request comes from the dashboard page itself: it carries {@link ACTION_HEADER} `1`
 * (which a cross-origin page can only send after a CORS preflight the endpoint never grants), and
 * what the browser says of its origin — `Origin`, `Sec-Fetch-Site` — names this endpoint.
 */
function sameOrigin(req: IncomingMessage): string | undefined {
  if (req.headers[ACTION_HEADER] !== '1') return `the ${ACTION_HEADER}: 1 header is missing`;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `a ${site} request`;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const host = req.headers.host;
    if (host === undefined || (origin !== `http://${host}` && origin !== `https://${host}`))
      return `origin ${origin} is not this endpoint's`;
  }
  return undefined;
}

/**
 * One action of the dashboard (`[ops] allow_actions = true` only; the server does not route here
 * otherwise): `POST /actions/tasks/<name>/run` runs a periodic task now (`runPeriodicTaskNow`:
 * answered when the run ends, or 202 after {@link RUN_WAIT} seconds while it goes on),
 * `/disable` and `/enable` switch its scheduled runs off and on again
 * (`setPeriodicTaskEnabled`). 404 for another path or an unknown task, 405 for another method,
 * 403 for a request that is not the page's own, 409 for a run refused (running already,
 * once-per-cluster), 503 while the service does not run. Every action is logged.
 */
export async function runAction(
  req: IncomingMessage,
  path: string,
  service: Service | undefined,
  clock: Clock,
  log: Logger,
): Promise<ActionResult> {
  const m = ROUTE.exec(path);
  if (!m) return { status: 404, body: { error: 'not found' } };
  if (req.method !== 'POST')
    return { status: 405, body: { error: 'method not allowed' }, headers: { Allow: 'POST' } };
  const refused = sameOrigin(req);
  if (refused !== undefined) {
    log.warn({ path, remote: req.socket.remoteAddress, reason: refused }, 'Ops action refused');
    return { status: 403, body: { error: `forbidden: ${refused}` } };
  }
  let name: string;
  try {
    name = decodeURIComponent(m[1] as string);
  } catch {
    return { status: 400, body: { error: 'bad task name' } };
  }
  const verb = m[2] as 'run' | 'disable' | 'enable';
  if (!service || service.state !== 'running')
    return { status: 503, body: { error: 'the service is not running' } };
  const manager = service.manager;
  if (!manager.periodicTaskInfo().some((t) => t.name === name))
    return { status: 404, body: { error: 'no such task' } };
  log.info(
    { task: name, action: verb, remote: req.socket.remoteAddress },
    `Ops action: ${verb} periodic task ${name}`,
  );
  if (verb !== 'run') {
    manager.setPeriodicTaskEnabled(name, verb === 'enable');
    return { status: 200, body: { task: name, enabled: verb === 'enable' } };
  }
  if (service.runningTask() === name)
    return { status: 409, body: { error: `${name} is running already` } };
  const run = manager.runPeriodicTaskNow(getAdminContext(), name);
  const abort = new AbortController();
  const waited = clock.sleep(RUN_WAIT, abort.signal).then(
    () => 'running' as const,
    () => 'running' as const,
  );
  try {
    const outcome = await Promise.race([run.then(() => 'done' as const), waited]);
    return outcome === 'done'
      ? { status: 200, body: { task: name, run: 'done' } }
      : { status: 202, body: { task: name, run: 'running' } };
  } catch (err) {
    return { status: 409, body: { error: describeError(err) } };
  } finally {
    abort.abort();
    run.catch(() => undefined); // refused: answered above; a run's own error is logged by the tasks
  }
}
