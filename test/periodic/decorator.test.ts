import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  rootLogger,
  setRootLogger,
  VirtualClock,
  type RequestContext,
} from '../../src/core/index.js';
import {
  DEFAULT_INTERVAL,
  InvalidPeriodicTaskArg,
  periodicTask,
  PeriodicTasks,
} from '../../src/periodic/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

describe('@periodicTask', () => {
  let logs: ReturnType<typeof captureLogs>;
  const saved = rootLogger();
  beforeEach(() => {
    logs = captureLogs();
    setRootLogger(logs.logger);
  });
  afterEach(() => setRootLogger(saved));

  it('works bare, empty and with options, registering in declaration order', () => {
    class M extends PeriodicTasks {
      @periodicTask
      bare(): void {}
      @periodicTask()
      empty(): void {}
      @periodicTask({ spacing: 5, name: 'renamed' })
      withOptions(): void {}
      notATask(): void {}
    }
    expect(M.periodicTaskNames()).toEqual(['bare', 'empty', 'renamed']);
    const info = new M().periodicTaskInfo();
    expect(info.map((t) => t.spacing)).toEqual([DEFAULT_INTERVAL, DEFAULT_INTERVAL, 5]);
    expect(info[0]).toMatchObject({ runImmediately: false, externalProcessOk: false });
  });

  it('spacing 0 or absent means DEFAULT_INTERVAL (60 s)', () => {
    class M extends PeriodicTasks {
      @periodicTask({ spacing: 0 })
      zero(): void {}
    }
    expect(DEFAULT_INTERVAL).toBe(60);
    expect(new M().periodicTaskInfo()[0]?.spacing).toBe(60);
  });

  it('skips negative and disabled tasks with an INFO log', () => {
    class M extends PeriodicTasks {
      @periodicTask({ spacing: -1 })
      negative(): void {}
      @periodicTask({ enabled: false })
      disabled(): void {}
      @periodicTask({ enabled: true, spacing: 1 })
      kept(): void {}
    }
    expect(M.periodicTaskNames()).toEqual(['kept']);
    expect(logs.messages(LEVEL.info)).toEqual([
      'Skipping periodic task negative because its interval is negative',
      'Skipping periodic task disabled because it is disabled',
    ]);
  });

  it('records runImmediately and externalProcessOk', () => {
    class M extends PeriodicTasks {
      @periodicTask({ runImmediately: true, externalProcessOk: true })
      t(): void {}
    }
    expect(new M().periodicTaskInfo()[0]).toMatchObject({
      runImmediately: true,
      externalProcessOk: true,
      lastRun: null,
    });
  });

  it('rejects ticksBetweenRuns, unknown options and bad types at decoration time', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ ticksBetweenRuns: 2 }, /Unexpected argument for periodic task creation: ticksBetweenRuns/],
      [{ ticks_between_runs: 2 }, /ticks_between_runs/],
      [{ run_immediately: true }, /did you mean runImmediately/],
      [{ spacingg: 1 }, /unknown option 'spacingg'/],
      [{ spacing: '10' }, /spacing must be a finite number/],
      [{ spacing: Number.NaN }, /spacing must be a finite number/],
      [{ spacing: Number.POSITIVE_INFINITY }, /spacing must be a finite number/],
      [{ enabled: 'no' }, /enabled must be a boolean/],
      [{ name: '' }, /name must be a non-empty string/],
      ['fast', /options must be an object/],
    ];
    for (const [opts, msg] of bad) {
      expect(() => periodicTask(opts as never)).toThrow(InvalidPeriodicTaskArg);
      expect(() => periodicTask(opts as never)).toThrow(msg);
    }
    try {
      periodicTask({ ticksBetweenRuns: 1 } as never);
    } catch (err) {
      expect((err as InvalidPeriodicTaskArg).code).toBe('CONDUCTOR_PERIODIC_INVALID_ARG');
    }
  });

  it('rejects static methods and symbol names without a name option', () => {
    expect(() => {
      class M {
        @periodicTask
        static s(): void {}
      }
      return M;
    }).toThrow(/only instance methods/);
    const sym = Symbol('task');
    expect(() => {
      class M {
        @periodicTask
        [sym](): void {}
      }
      return M;
    }).toThrow(/symbol-named method needs the name option/);
  });

  it('gives each subclass its own copy of the inherited list; parents never change', () => {
    class A extends PeriodicTasks {
      @periodicTask
      a(): void {}
    }
    class B extends A {
      @periodicTask
      b(): void {}
    }
    class C extends A {
      @periodicTask
      c(): void {}
    }
    class D extends B {}
    expect(A.periodicTaskNames()).toEqual(['a']);
    expect(B.periodicTaskNames()).toEqual(['a', 'b']);
    expect(C.periodicTaskNames()).toEqual(['a', 'c']);
    expect(D.periodicTaskNames()).toEqual(['a', 'b']);
    expect(PeriodicTasks.periodicTaskNames()).toEqual([]);
  });

  describe('overriding (as in the original: tasks are stored as functions, state keyed by name)', () => {
    it("an override without the decorator does not replace the task: the parent's function runs", async () => {
      const calls: string[] = [];
      class A extends PeriodicTasks {
        @periodicTask({ runImmediately: true })
        t(_ctx: RequestContext): void {
          calls.push('A');
        }
      }
      class B extends A {
        override t(): void {
          calls.push('B');
        }
      }
      expect(B.periodicTaskNames()).toEqual(['t']);
      await new B().runPeriodicTasks({} as RequestContext);
      expect(calls).toEqual(['A']);
    });

    it('an override with the decorator adds a second entry sharing spacing and last run', async () => {
      const calls: string[] = [];
      class A extends PeriodicTasks {
        @periodicTask({ runImmediately: true, spacing: 10 })
        t(): void {
          calls.push('A');
        }
      }
      class B extends A {
        @periodicTask({ runImmediately: true, spacing: 30 })
        override t(): void {
          calls.push('B');
        }
      }
      expect(B.periodicTaskNames()).toEqual(['t', 't']);
      const b = new B({ clock: new VirtualClock() });
      expect(b.periodicTaskInfo().map((t) => t.spacing)).toEqual([30, 30]);
      // The first entry runs and stamps the shared last run, so the second is never due in that pass.
      const idle = await b.runPeriodicTasks({} as RequestContext);
      expect(calls).toEqual(['A']);
      expect(idle).toBe(30);
    });
  });
});
