import { type Clock, getAdminContext, type Logger } from '../core/index.js';
import { DynamicLoopingCall, FixedIntervalLoopingCall } from '../looping/index.js';
import { ExactScheduler } from '../periodic/index.js';
import type { Manager } from './manager.js';
import type { PeriodicMode } from './options.js';

/** The service's periodic timer, whichever drives it. */
export interface PeriodicTimer {
  stop(): void;
  wait(): Promise<unknown>;
  /** The exact scheduler, in the `exact` mode (for the tasks' next due times). */
  readonly scheduler: ExactScheduler | undefined;
}

/** What {@link startPeriodicTimer} needs of the service. */
export interface PeriodicTimerOptions {
  readonly manager: Manager;
  readonly mode: PeriodicMode;
  /** Tick of the `fixed` mode, seconds. */
  readonly interval: number;
  /** Longest sleep of the `dynamic` mode, seconds. */
  readonly intervalMax: number;
  /** Seconds before the first pass (the fuzzy delay drawn by the service). */
  readonly initialDelay: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Starts the periodic tasks of a service in one of three modes: `exact` (the exact scheduler,
 * after the initial delay), `fixed` (the original's tick on `runPeriodicTasks`) or `dynamic`
 * (oslo's DynamicLoopingCall on the idle time the tasks report). An error escaping a pass is
 * logged and never ends the timer.
 */
export function startPeriodicTimer(o: PeriodicTimerOptions): PeriodicTimer {
  const { clock, logger: log, manager, initialDelay } = o;
  if (o.mode === 'exact') {
    const scheduler = new ExactScheduler(manager, { clock, context: getAdminContext, logger: log });
    const abort = new AbortController();
    const started = clock.sleep(initialDelay, abort.signal).then(
      () => scheduler.start(),
      () => undefined, // stopped during the initial delay: the scheduler never starts
    );
    return {
      scheduler,
      stop: () => {
        abort.abort();
        scheduler.stop();
      },
      wait: async () => {
        await started;
        scheduler.stop(); // in case start() raced the stop
        await scheduler.wait();
      },
    };
  }
  if (o.mode === 'fixed') {
    // The original's tick. Unlike Tacker (stop_on_exception left True), an escaping error never
    // ends the timer.
    const tick = new FixedIntervalLoopingCall(() => manager.periodicTasks(getAdminContext()), {
      clock,
      logger: log,
      name: 'periodicTasks',
    });
    void tick.start({ interval: o.interval, initialDelay, stopOnException: false });
    return { scheduler: undefined, stop: () => tick.stop(), wait: () => tick.wait() };
  }
  const max = o.intervalMax;
  const loop = new DynamicLoopingCall(
    async () => {
      try {
        return await manager.runPeriodicTasks(getAdminContext());
      } catch (err) {
        log.error({ err }, 'Periodic tasks failed; trying again after the maximum interval');
        return max;
      }
    },
    { clock, logger: log, name: 'runPeriodicTasks' },
  );
  void loop.start({ initialDelay, periodicIntervalMax: max });
  return { scheduler: undefined, stop: () => loop.stop(), wait: () => loop.wait() };
}
