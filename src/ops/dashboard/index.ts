/**
 * The ops endpoint's dashboard: the page (`GET /`, its script and stylesheet), the snapshot it polls
 * (`GET /dashboard.json`), the history behind its sparklines and rates, and the task actions that
 * `[ops] allow_actions = true` turns on.
 * @packageDocumentation
 */
export { DASHBOARD_CSP, DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS, REFRESH_MS } from './page.js';
export {
  buildSnapshot,
  SNAPSHOT_TIMEOUT,
  type DashboardCluster,
  type DashboardSnapshot,
  type DashboardTask,
  type SnapshotSources,
} from './snapshot.js';
export { DashboardHistory, LATENESS_SAMPLES, RPC_WINDOW, type RpcRate } from './history.js';
export { runAction, ACTION_HEADER, ACTION_PREFIX, RUN_WAIT, type ActionResult } from './actions.js';
