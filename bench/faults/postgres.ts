/**
 * PostgreSQL restarted under load (issue 16, scenario 3). A private PostgreSQL cluster
 * (bench/lib/pg-server.ts, so the machine's server is never touched) backs a conductor service in a
 * child process: the Tacker `Conductor` on `memory://`, opening its database from
 * `[database] connection` as `conductor run` does, heartbeats every second. In that child, `--callers`
 * callers call `update_vim` one call after another on a random VIM of `--vims`, each alternating
 * REACHABLE and UNREACHABLE, for `--seconds`. Meanwhile this process restarts PostgreSQL
 * `--restarts` times, cycling through `--modes`:
 * - `fast`: `pg_ctl stop -m fast` (SIGINT: sessions terminated, clean shutdown);
 * - `kill`: SIGKILL of the postmaster (its backends notice and exit; WAL recovery at start);
 * - `immediate`: `pg_ctl stop -m immediate` (SIGQUIT: every process quits at once; recovery),
 * each time down for `--down` seconds before it is started again. It reports:
 * - calls: ok, failed by error class, of which in doubt (the connection was lost while the COMMIT
 *   was under way), timed out (no answer within `--timeout`) and hung (not settled within the timeout
 *   + 2 s): timed out and hung must be 0, every failure a `DatabaseUnavailable` (nothing
 *   written) or `DatabaseOutcomeUnknown` (in doubt);
 * - crashes of the service process (must be 0; it is never restarted);
 * - for each restart: how long the server took to stop, and the reconnect time, from the moment the
 *   server accepts connections again to the first `update_vim` that started after it and succeeded;
 * - the check afterwards, by query: each VIM row equals its newest MONITOR event (status and time:
 *   the two halves of the last write are there together, and no VIM changed without an event); per
 *   VIM and status, the events number at least the successful calls and at most the successful plus
 *   the in-doubt calls (a failed call wrote neither half, a successful one both, exactly once); no
 *   event of an unknown VIM.
 *
 *   node dist/bench/faults/postgres.js [--seconds 20] [--restarts 3] [--modes fast,kill,immediate]
 *       [--down 1] [--callers 16] [--vims 64] [--timeout 5]
 *
 * Prints one `RESULT` line (bench/faults/result.ts); progress on stderr.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Conductor, conductorConfig, type VimStatus } from '../../src/conductor/index.js';
import { createLogger, RemoteError, RequestContext, setRootLogger } from '../../src/core/index.js';
import { getRpcTransport, MessagingTimeout, RpcClient } from '../../src/messaging/index.js';
import { Service } from '../../src/service/index.js';
import { type PgServer, type PgStopMode, startPgServer, stopPgServers } from '../lib/pg-server.js';
import { mulberry32 } from '../lib/random.js';
import { fmt, percentiles } from '../lib/stats.js';
import { printResult, type FaultFigure } from './result.js';

/** The failures that are clean: the caller is told whether anything was written. */
const CLEAN_FAILURES = new Set(['DatabaseUnavailable', 'DatabaseOutcomeUnknown']);

const { values: opts } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    url: { type: 'string' },
    seconds: { type: 'string', default: '20' },
    restarts: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'fast,kill,immediate' },
    down: { type: 'string', default: '1' },
    callers: { type: 'string', default: '16' },
    vims: { type: 'string', default: '64' },
    timeout: { type: 'string', default: '5' },
    seed: { type: 'string', default: '16' },
  },
  strict: true,
});

const SECONDS = Number(opts.seconds);
const RESTARTS = Number(opts.restarts);
const DOWN = Number(opts.down);
const CALLERS = Number(opts.callers);
const VIMS = Number(opts.vims);
const TIMEOUT = Number(opts.timeout);
const SEED = Number(opts.seed);
/** A caller waits this long after a failed call before the next one (no busy loop while down). */
const PAUSE_AFTER_FAILURE_MS = 10;
/** A call not settled this long after its timeout is hung. */
const HUNG_MARGIN_MS = 2000;
const STATUSES: readonly VimStatus[] = ['REACHABLE', 'UNREACHABLE'];

type Mode = 'fast' | 'kill' | 'immediate';
const MODES = opts.modes.split(',').map((m) => m.trim()) as Mode[];
for (const m of MODES)
  if (!['fast', 'kill', 'immediate'].includes(m)) throw new Error(`unknown --modes entry ${m}`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void =>
  void process.stderr.write(`[${((Date.now() / 1000) % 1000).toFixed(2)}] ${m}\n`);
/** Wall-clock milliseconds, sub-millisecond, the same in both processes. */
const wallNow = (): number => performance.timeOrigin + performance.now();

// ---- what the two processes tell each other ----------------------------------------------------

/** Counts of calls per `vimId status`. */
type Tally = Record<string, number>;

/** What the service child reports: its calls' outcomes. */
export interface ServiceResult {
  type: 'result';
  calls: number;
  ok: number;
  /** Failures by class (a RemoteError by its remote class). */
  failed: Record<string, number>;
  inDoubt: number;
  timedOut: number;
  hung: number;
  okBy: Tally;
  inDoubtBy: Tally;
  timedOutBy: Tally;
  /** Per restart: ms from the server back to the first success of a call started after it. */
  reconnectMs: (number | null)[];
  okLatency: { p50: number; p99: number; max: number };
  failLatency: { p50: number; p99: number; max: number };
  /** One message per failure class, to show what the callers read. */
  examples: Record<string, string>;
  /** Failures by what the database driver said (the message in parentheses, digits as N). */
  causes: Record<string, number>;
  /** Per restart: failures of calls started after the server was back, before the first success. */
  failedAfterBack: Record<string, number>[];
  /** Calls that succeeded after the last restart's server was back. */
  okAfterLastRestart: number;
}

type ToService = { type: 'back'; at: number } | { type: 'stop' };
type FromService = { type: 'ready'; vimIds: string[] } | ServiceResult;

// ---- the service (child process) ---------------------------------------------------------------

async function service(url: string): Promise<void> {
  // Lost connections are logged at warn by the pool: keep the log off the benchmark's pipes.
  setRootLogger(createLogger({ level: 'silent' }));
  const conf = conductorConfig();
  await conf.load({
    env: {},
    cli: { 'database.connection': url, 'vim_monitor.enabled': 'false' },
  });
  const transport = await getRpcTransport({
    transportUrl: `memory://pg-faults-${randomBytes(4).toString('hex')}`,
    controlExchange: 'tacker',
  });
  const svc = await Service.create({
    topic: 'TACKER_CONDUCTOR',
    manager: Conductor,
    host: 'pg-faults',
    binary: 'tacker-conductor',
    transport,
    reportInterval: 1,
    periodicFuzzyDelay: 0,
    managerOptions: { conf },
  });
  await svc.start();
  log(`service: started`);
  const conductor = svc.manager as Conductor;
  const vimIds: string[] = [];
  for (let i = 0; i < VIMS; i++) {
    const vim = await conductor.store.registerVim({
      name: `vim-${i}`,
      authUrl: `http://vim-${i}.invalid:5000/v3`,
    });
    vimIds.push(vim.id);
  }
  const client = new RpcClient(
    transport,
    { topic: 'TACKER_CONDUCTOR', version: '1.0' },
    { timeout: TIMEOUT },
  );

  const backs: number[] = [];
  const reconnectMs: (number | null)[] = [];
  let stopping = false;
  const r: ServiceResult = {
    type: 'result',
    calls: 0,
    ok: 0,
    failed: {},
    inDoubt: 0,
    timedOut: 0,
    hung: 0,
    okBy: {},
    inDoubtBy: {},
    timedOutBy: {},
    reconnectMs,
    okLatency: { p50: 0, p99: 0, max: 0 },
    failLatency: { p50: 0, p99: 0, max: 0 },
    examples: {},
    causes: {},
    failedAfterBack: [],
    okAfterLastRestart: 0,
  };
  const okMs: number[] = [];
  const failMs: number[] = [];
  const bump = (t: Tally, key: string): void => void (t[key] = (t[key] ?? 0) + 1);

  const caller = async (index: number): Promise<void> => {
    const random = mulberry32(SEED * 1000 + index);
    let n = index;
    while (!stopping) {
      const vimId = vimIds[Math.floor(random() * vimIds.length)] as string;
      const status = STATUSES[n++ % STATUSES.length] as VimStatus;
      const key = `${vimId} ${status}`;
      const started = wallNow();
      const ctx = new RequestContext({ userId: 'bench', projectId: 'bench' });
      let settled = false;
      const hung = setTimeout(
        () => {
          if (!settled) r.hung++;
        },
        TIMEOUT * 1000 + HUNG_MARGIN_MS,
      );
      r.calls++;
      let failed = false;
      try {
        await client.call(ctx, 'update_vim', { vim_id: vimId, status });
        const ended = wallNow();
        okMs.push(ended - started);
        r.ok++;
        bump(r.okBy, key);
        // Reconnect time: the first success of a call started after the server was back.
        for (let i = reconnectMs.length; i < backs.length; i++) {
          if (started >= (backs[i] as number)) reconnectMs[i] = ended - (backs[i] as number);
          else break;
        }
        if (backs.length > 0 && started >= (backs[backs.length - 1] as number))
          r.okAfterLastRestart++;
      } catch (err) {
        failed = true;
        failMs.push(wallNow() - started);
        let cls: string;
        if (err instanceof MessagingTimeout) {
          cls = 'MessagingTimeout (no answer)';
          r.timedOut++;
          bump(r.timedOutBy, key);
        } else if (err instanceof RemoteError) {
          cls = err.excType;
          if (cls === 'DatabaseOutcomeUnknown') {
            r.inDoubt++;
            bump(r.inDoubtBy, key);
          }
        } else {
          cls = `local ${err instanceof Error ? err.name : typeof err}`;
        }
        bump(r.failed, cls);
        r.examples[cls] ??= err instanceof RemoteError ? err.value : String(err);
        const cause = (err instanceof RemoteError && /\((.*)\)/.exec(err.value)?.[1]) || cls;
        bump(r.causes, cause.replace(/\d+/g, 'N'));
        // Failures of calls made after the server was back, before the first success.
        const pending = reconnectMs.length;
        if (pending < backs.length && started >= (backs[pending] as number)) {
          const after = (r.failedAfterBack[pending] ??= {});
          bump(after, cause.replace(/\d+/g, 'N'));
        }
      } finally {
        settled = true;
        clearTimeout(hung);
      }
      if (failed) await sleep(PAUSE_AFTER_FAILURE_MS);
    }
  };

  const send = (m: FromService): void => void process.send?.(m);
  const sendLast = (m: ServiceResult): void => void process.send?.(m, () => process.disconnect());
  const callers = Promise.all(Array.from({ length: CALLERS }, (_, i) => caller(i)));
  process.on('message', (m: ToService) => {
    if (m.type === 'back') backs.push(m.at);
    if (m.type === 'stop') {
      stopping = true;
      void (async () => {
        log(`service: stopping the callers`);
        // Every call is bounded by its timeout; a hung one is counted, not waited for forever.
        const bound = TIMEOUT * 1000 + HUNG_MARGIN_MS + 1000;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([callers, new Promise((r) => (timer = setTimeout(r, bound)))]);
        clearTimeout(timer);
        for (let i = reconnectMs.length; i < backs.length; i++) reconnectMs[i] = null;
        const [p50 = 0, p99 = 0] = percentiles(okMs, [50, 99]);
        const [f50 = 0, f99 = 0] = percentiles(failMs, [50, 99]);
        r.okLatency = { p50, p99, max: okMs.reduce((a, b) => Math.max(a, b), 0) };
        r.failLatency = { p50: f50, p99: f99, max: failMs.reduce((a, b) => Math.max(a, b), 0) };
        log(`service: callers done`);
        await svc.stop();
        await transport.close();
        log(`service: stopped`);
        // Then the process ends by itself, unless something was left open (the bench notes that).
        sendLast(r);
      })();
    }
  });
  send({ type: 'ready', vimIds });
}

// ---- the bench (this process) --------------------------------------------------------------------

export interface RestartRecord {
  mode: Mode;
  /** ms the server took to go (the stop signal until the postmaster exited). */
  stopMs: number;
  /** ms from the stop signal until the server accepted connections again. */
  outageMs: number;
}

export interface AfterCheck {
  vims: number;
  events: number;
  /** VIM rows that differ from their newest MONITOR event (status or time), or changed without one. */
  rowEventMismatches: number;
  /** (vim, status) pairs with fewer events than successful calls. */
  missingEvents: number;
  /** (vim, status) pairs with more events than successful + in-doubt calls. */
  extraEvents: number;
  /** Events beyond the successful calls: in-doubt (or timed-out) calls that were committed. */
  inDoubtCommitted: number;
  /** Events of no known VIM. */
  orphanEvents: number;
}

async function afterCheck(url: string, result: ServiceResult): Promise<AfterCheck> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query<{ mismatches: string; vims: string }>(`
      select count(*) as vims,
             count(*) filter (where e.id is null and v.updated_at is not null
                                 or e.id is not null and (e.resource_state <> v.status
                                                          or e.timestamp is distinct from v.updated_at))
               as mismatches
        from vims v
        left join lateral (select id, resource_state, timestamp from events
                            where resource_id = v.id and event_type = 'MONITOR'
                            order by id desc limit 1) e on true`);
    const counts = await client.query<{ resource_id: string; resource_state: string; n: string }>(`
      select resource_id, resource_state, count(*) as n from events
       where event_type = 'MONITOR' group by resource_id, resource_state`);
    const orphans = await client.query<{ n: string }>(`
      select count(*) as n from events e where not exists (select 1 from vims v where v.id = e.resource_id)`);
    const events: Tally = {};
    let total = 0;
    for (const c of counts.rows) {
      events[`${c.resource_id} ${c.resource_state}`] = Number(c.n);
      total += Number(c.n);
    }
    let missing = 0;
    let extra = 0;
    let committed = 0;
    for (const key of new Set([...Object.keys(events), ...Object.keys(result.okBy)])) {
      const n = events[key] ?? 0;
      const ok = result.okBy[key] ?? 0;
      const doubt = (result.inDoubtBy[key] ?? 0) + (result.timedOutBy[key] ?? 0);
      if (n < ok) missing++;
      if (n > ok + doubt) extra++;
      committed += Math.max(0, Math.min(n, ok + doubt) - ok);
    }
    return {
      vims: Number(rows.rows[0]?.vims ?? 0),
      events: total,
      rowEventMismatches: Number(rows.rows[0]?.mismatches ?? 0),
      missingEvents: missing,
      extraEvents: extra,
      inDoubtCommitted: committed,
      orphanEvents: Number(orphans.rows[0]?.n ?? 0),
    };
  } finally {
    await client.end();
  }
}

function waitFor<T extends FromService['type']>(
  child: ChildProcess,
  type: T,
  ms: number,
): Promise<Extract<FromService, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${type} from the service in ${ms} ms`)), ms);
    const onMessage = (m: FromService): void => {
      if (m.type === type) done(undefined, m as Extract<FromService, { type: T }>);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`the service exited (${signal ?? code}) before its ${type}`));
    const done = (err?: Error, m?: Extract<FromService, { type: T }>): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m as Extract<FromService, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function restart(server: PgServer, mode: Mode): Promise<RestartRecord> {
  const t0 = wallNow();
  if (mode === 'kill') await server.kill();
  else await server.stop(mode satisfies PgStopMode);
  const stopMs = wallNow() - t0;
  await sleep(DOWN * 1000);
  await server.start();
  return { mode, stopMs, outageMs: wallNow() - t0 };
}

async function bench(): Promise<void> {
  const started = performance.now();
  const server = await startPgServer();
  log(`PostgreSQL on ${server.url} (${server.dir})`);
  const self = fileURLToPath(import.meta.url);
  const child = fork(
    self,
    ['--role', 'service', '--url', server.url, ...process.argv.slice(2).filter((a) => a !== '--')],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
    process.stderr.write(d);
  });
  let exit: { code: number | null; signal: string | null } | undefined;
  child.once('exit', (code, signal) => void (exit = { code, signal }));
  const restarts: RestartRecord[] = [];
  try {
    const ready = await waitFor(child, 'ready', 60_000);
    log(`service ready, ${ready.vimIds.length} VIMs, ${CALLERS} callers`);
    const loadStart = wallNow();
    const spacing = (SECONDS * 1000) / (RESTARTS + 1);
    for (let i = 0; i < RESTARTS && exit === undefined; i++) {
      const at = loadStart + spacing * (i + 1);
      await sleep(Math.max(0, at - wallNow()));
      const mode = MODES[i % MODES.length] as Mode;
      const rec = await restart(server, mode);
      child.send({ type: 'back', at: wallNow() } satisfies ToService);
      restarts.push(rec);
      log(
        `restart ${i + 1} (${mode}): stopped in ${fmt(rec.stopMs)} ms, back after ${fmt(rec.outageMs)} ms`,
      );
    }
    await sleep(Math.max(0, loadStart + SECONDS * 1000 - wallNow()));
    if (exit === undefined) child.send({ type: 'stop' } satisfies ToService);
    const result = await waitFor(child, 'result', (TIMEOUT + 30) * 1000).catch((err: unknown) => {
      log(String(err));
      return undefined;
    });
    // The service ends by itself once stopped; one that does not has left something open.
    const exitedByItself = await new Promise<boolean>((resolve) => {
      if (exit) return resolve(true);
      const timer = setTimeout(() => resolve(false), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const crashes = result === undefined || (exitedByItself && exit?.code !== 0) ? 1 : 0;
    const check = result ? await afterCheck(server.url, result) : undefined;
    report(
      restarts,
      result,
      check,
      crashes,
      exitedByItself,
      stderr,
      (performance.now() - started) / 1000,
    );
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stopPgServers();
  }
}

function report(
  restarts: RestartRecord[],
  r: ServiceResult | undefined,
  check: AfterCheck | undefined,
  crashes: number,
  exitedByItself: boolean,
  stderr: string,
  seconds: number,
): void {
  const failed = r ? Object.values(r.failed).reduce((a, b) => a + b, 0) : 0;
  const unclean = r
    ? Object.entries(r.failed)
        .filter(([cls]) => !CLEAN_FAILURES.has(cls))
        .reduce((a, [, n]) => a + n, 0)
    : 0;
  const reconnect = r?.reconnectMs ?? [];
  const ms = (v: number | null | undefined): string => (v == null ? 'never' : fmt(v));
  const figures: FaultFigure[] = [
    {
      figure: `restarts (${restarts.map((x) => x.mode).join(', ')}): outage ms`,
      measured: restarts.map((x) => fmt(x.outageMs)).join(', '),
    },
    {
      figure: 'calls: ok / failed (of which in doubt)',
      measured: r ? `${fmt(r.ok)} / ${fmt(failed)} (${fmt(r.inDoubt)})` : 'no result',
    },
    {
      figure: 'failures by class',
      measured: r
        ? Object.entries(r.failed)
            .sort((a, b) => b[1] - a[1])
            .map(([cls, n]) => `${cls} ${fmt(n)}`)
            .join(', ') || 'none'
        : 'no result',
      ok: r !== undefined && unclean === 0,
    },
    {
      figure: 'calls timed out / hung',
      measured: r ? `${r.timedOut} / ${r.hung}` : 'no result',
      ok: r !== undefined && r.timedOut === 0 && r.hung === 0,
    },
    {
      figure: 'failed call ms: p50, p99, max',
      measured: r
        ? `${fmt(r.failLatency.p50, 1)}, ${fmt(r.failLatency.p99, 1)}, ${fmt(r.failLatency.max, 1)}`
        : 'no result',
    },
    {
      figure: 'ok call ms: p50, p99, max',
      measured: r
        ? `${fmt(r.okLatency.p50, 1)}, ${fmt(r.okLatency.p99, 1)}, ${fmt(r.okLatency.max, 1)}`
        : 'no result',
    },
    { figure: 'service crashes', measured: String(crashes), ok: crashes === 0 },
    {
      figure: 'service ended by itself after stop()',
      measured: exitedByItself ? 'yes' : 'no (killed after 10 s)',
      ok: exitedByItself,
    },
    {
      figure: 'reconnect ms after each restart (server back → first ok call)',
      measured: restarts.map((_, i) => ms(reconnect[i])).join(', ') || '—',
      ok: restarts.length === reconnect.length && reconnect.every((v) => v !== null),
    },
    {
      figure: 'calls failed after the server was back, before the first ok',
      measured: r
        ? String(
            r.failedAfterBack.reduce(
              (a, byCause) => a + Object.values(byCause ?? {}).reduce((x, y) => x + y, 0),
              0,
            ),
          )
        : 'no result',
    },
    {
      figure: 'after-check: VIM rows ≠ newest event',
      measured: check ? `${check.rowEventMismatches} of ${check.vims}` : 'not run',
      ok: check !== undefined && check.rowEventMismatches === 0,
    },
    {
      figure: 'after-check: events vs calls (missing, extra; in-doubt committed)',
      measured: check
        ? `${fmt(check.events)} events: ${check.missingEvents}, ${check.extraEvents}; ${check.inDoubtCommitted}`
        : 'not run',
      ok:
        check !== undefined &&
        check.missingEvents === 0 &&
        check.extraEvents === 0 &&
        check.orphanEvents === 0,
    },
  ];
  const notes: string[] = [];
  if (r) for (const [cls, m] of Object.entries(r.examples)) notes.push(`${cls}: ${m}`);
  if (r)
    notes.push(
      `what the driver said: ${Object.entries(r.causes)
        .sort((a, b) => b[1] - a[1])
        .map(([cause, n]) => `${cause} ${fmt(n)}`)
        .join('; ')}`,
    );
  if (crashes > 0) notes.push(`service stderr: ${stderr.slice(-2000)}`);
  printResult({
    scenario: 'PostgreSQL restarted',
    seconds: Math.round(seconds * 10) / 10,
    figures,
    notes,
    data: {
      restarts,
      result: r ?? null,
      check: check ?? null,
      crashes,
      exitedByItself,
      callers: CALLERS,
      vims: VIMS,
    },
  });
}

/** The `data` of this scenario's RESULT line (the fast variant in npm test asserts on it). */
export interface PostgresFaultData {
  restarts: RestartRecord[];
  result: ServiceResult | null;
  check: AfterCheck | null;
  crashes: number;
  exitedByItself: boolean;
  callers: number;
  vims: number;
}

if (opts.role === 'service') {
  if (!opts.url) throw new Error('--role service needs --url');
  await service(opts.url);
} else {
  await bench();
}
