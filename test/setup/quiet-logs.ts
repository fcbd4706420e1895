/**
 * Vitest setup file (`setupFiles` in vitest.config.ts): no log output in a test run unless a test
 * fails.
 *
 * Components that are not given a logger log through the root logger (`getLogger()` in
 * src/core/logging.ts), which by default writes JSON lines to stdout. Here the root logger writes
 * into memory instead: a fresh root logger (`createLogger()`, so the level is `CONDUCTOR_LOG_LEVEL`
 * or `info`, as a test would otherwise get) is installed before each test, and its lines are kept
 * with that test. When the test fails, they are written to stderr after it; when it passes, they
 * are dropped.
 *
 * Every root logger of a file writes into the same sink, which follows the running test, so a
 * logger taken from the root in `beforeAll` (or at collection time) logs with the test that runs.
 * Lines written outside any test (collection, `beforeAll`, `afterAll`) are kept for the file and
 * printed at its end if something in it failed.
 *
 * Unaffected: loggers a test builds itself with a destination of its own (test/helpers/log-capture.ts,
 * the CLI's `logStream` in test/cli/helpers.ts, which the CLI installs as the root logger for the
 * rest of that test), and child processes, whose output goes to the pipes their test reads.
 */
import type { DestinationStream } from 'pino';
import { afterAll, beforeEach, type RunnerTask, type RunnerTestFile } from 'vitest';
import { createLogger, setRootLogger } from '../../src/core/logging.js';

/** Lines written outside any test of this file. */
const fileLines: string[] = [];
/** Where the root loggers write now: the running test's lines, or {@link fileLines}. */
let current: string[] = fileLines;

const sink: DestinationStream = {
  write(line: string): void {
    current.push(line);
  },
};

/** `file > describe > test`, as the reporter names it. */
function fullName(task: RunnerTask): string {
  const names: string[] = [];
  for (let t: RunnerTask | undefined = task; t; t = t.suite) if (t.name) names.unshift(t.name);
  if (task.file && task.file !== task && names[0] !== task.file.name) names.unshift(task.file.name);
  return names.join(' > ');
}

function print(title: string, lines: readonly string[]): void {
  if (lines.length === 0) return;
  const body = lines.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');
  process.stderr.write(
    `\n--- log lines of ${title} (${lines.length}) ---\n${body}--- end of log lines of ${title} ---\n`,
  );
}

/** True if `task` or anything in it failed (a test, or a hook of a suite). */
function failed(task: RunnerTask): boolean {
  if (task.result?.state === 'fail' || (task.result?.errors?.length ?? 0) > 0) return true;
  return 'tasks' in task && task.tasks.some(failed);
}

setRootLogger(createLogger({}, sink));

beforeEach((context) => {
  const lines: string[] = [];
  current = lines;
  setRootLogger(createLogger({}, sink));
  context.onTestFinished(() => {
    if (current === lines) current = fileLines;
  });
  context.onTestFailed(() => print(`"${fullName(context.task)}"`, lines));
});

afterAll((file) => {
  const f = file as RunnerTestFile;
  if (failed(f)) print(`${f.name} outside its tests`, fileLines);
  fileLines.length = 0;
});
