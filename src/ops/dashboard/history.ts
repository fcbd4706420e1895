import { type Clock, realClock } from '../../core/index.js';
import type { RpcDispatchEvent } from '../../messaging/index.js';
import type { TaskRunEvent } from '../../periodic/index.js';

/** Latenesses kept per task (the dashboard's sparkline). */
export const LATENESS_SAMPLES = 30;

/** Seconds of RPC requests the rates are computed over. */
export const RPC_WINDOW = 60;

/** One RPC method's requests over the last {@link RPC_WINDOW} seconds. */
export interface RpcRate {
  readonly method: string;
  /** Requests handled in the window. */
  readonly perMinute: number;
  /** `perMinute / 60`. */
  readonly perSecond: number;
  /** Of those, the ones whose method threw. */
  readonly errors: number;
  /** Of those, the ones refused (malformed, no such method, unsupported version). */
  readonly refused: number;
  /** Mean handling time in the window, seconds; null without a request. */
  readonly meanDuration: number | null;
  /** Requests per second, oldest first, one value per second of the window. */
  readonly history: readonly number[];
}

/** A ring of the last latenesses of one task. */
interface LatenessRing {
  readonly values: Float64Array;
  next: number;
  size: number;
}

/** Per-second buckets of one method: the second each bucket holds, and what fell in it. */
interface RpcBuckets {
  readonly second: Float64Array;
  readonly count: Uint32Array;
  readonly errors: Uint32Array;
  readonly refused: Uint32Array;
  readonly duration: Float64Array;
}

/**
 * What the dashboard remembers between polls, fed by the events the metrics see: the last
 * {@link LATENESS_SAMPLES} latenesses of each task (start minus due time) and, per RPC method, the
 * requests of each of the last {@link RPC_WINDOW} seconds. Memory is bounded by the number of tasks
 * and of served methods (both the manager's).
 */
export class DashboardHistory {
  readonly #clock: Clock;
  readonly #lateness = new Map<string, LatenessRing>();
  readonly #rpc = new Map<string, RpcBuckets>();

  /** `clock`: the time of the RPC buckets; default the real clock. */
  constructor(clock: Clock = realClock) {
    this.#clock = clock;
  }

  /** Records a task run's lateness. */
  onTaskRun(e: TaskRunEvent): void {
    const lateness = e.startedAt - e.scheduledAt;
    if (!Number.isFinite(lateness)) return;
    let ring = this.#lateness.get(e.name);
    if (!ring) {
      ring = { values: new Float64Array(LATENESS_SAMPLES), next: 0, size: 0 };
      this.#lateness.set(e.name, ring);
    }
    ring.values[ring.next] = Math.max(0, lateness);
    ring.next = (ring.next + 1) % LATENESS_SAMPLES;
    ring.size = Math.min(LATENESS_SAMPLES, ring.size + 1);
  }

  /** Records an RPC request in the bucket of the current second. */
  onRpc(e: RpcDispatchEvent): void {
    const second = Math.floor(this.#clock.now());
    let b = this.#rpc.get(e.method);
    if (!b) {
      b = {
        second: new Float64Array(RPC_WINDOW).fill(-Infinity),
        count: new Uint32Array(RPC_WINDOW),
        errors: new Uint32Array(RPC_WINDOW),
        refused: new Uint32Array(RPC_WINDOW),
        duration: new Float64Array(RPC_WINDOW),
      };
      this.#rpc.set(e.method, b);
    }
    const i = ((second % RPC_WINDOW) + RPC_WINDOW) % RPC_WINDOW;
    if (b.second[i] !== second) {
      b.second[i] = second;
      b.count[i] = 0;
      b.errors[i] = 0;
      b.refused[i] = 0;
      b.duration[i] = 0;
    }
    (b.count[i] as number)++;
    if (e.outcome === 'error') (b.errors[i] as number)++;
    if (e.outcome === 'refused') (b.refused[i] as number)++;
    b.duration[i] = (b.duration[i] as number) + (Number.isFinite(e.duration) ? e.duration : 0);
  }

  /** A task's last latenesses in seconds, oldest first (empty before its first observed run). */
  lateness(name: string): number[] {
    const ring = this.#lateness.get(name);
    if (!ring) return [];
    const out: number[] = [];
    const start = ring.size < LATENESS_SAMPLES ? 0 : ring.next;
    for (let k = 0; k < ring.size; k++)
      out.push(round(ring.values[(start + k) % LATENESS_SAMPLES] as number));
    return out;
  }

  /** Every method seen in the window, busiest first (then by name). */
  rpcRates(): RpcRate[] {
    const now = Math.floor(this.#clock.now());
    const rates: RpcRate[] = [];
    for (const [method, b] of this.#rpc) {
      const history: number[] = [];
      let count = 0;
      let errors = 0;
      let refused = 0;
      let duration = 0;
      for (let s = now - RPC_WINDOW + 1; s <= now; s++) {
        const i = ((s % RPC_WINDOW) + RPC_WINDOW) % RPC_WINDOW;
        if (b.second[i] !== s) {
          history.push(0);
          continue;
        }
        const n = b.count[i] as number;
        history.push(n);
        count += n;
        errors += b.errors[i] as number;
        refused += b.refused[i] as number;
        duration += b.duration[i] as number;
      }
      if (count === 0) continue;
      rates.push({
        method,
        perMinute: count,
        perSecond: round(count / RPC_WINDOW),
        errors,
        refused,
        meanDuration: round(duration / count),
        history,
      });
    }
    return rates.sort((a, b) => b.perMinute - a.perMinute || (a.method < b.method ? -1 : 1));
  }
}

/** To the microsecond (no float noise in JSON). */
const round = (s: number): number => Math.round(s * 1e6) / 1e6;
