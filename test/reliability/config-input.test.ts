/**
 * Reliability: configuration and input. Every bad config file, value, URL and command line gets a
 * clear one-line error naming what is at fault, a non-zero status, no stack trace (unless
 * `--debug`), no leaked password, and a prompt exit. The cases are in `config-input-cases.ts`.
 *
 * Each case runs the built CLI (`node dist/src/cli/main.js`, built by `ensureBuilt()` when stale)
 * as a real process in a temporary working directory, with a minimal environment (PATH, HOME and
 * the case's variables: no CONDUCTOR_* of the developer), at most {@link CONCURRENCY} at a time,
 * each killed after {@link KILL_AFTER_MS}. Only inputs that fail before any broker is needed are
 * used (config parsing and validation, URL parsing, argument parsing, manager import); the
 * `[coordination] backend_url` case with Redis db 99 talks to the Redis on 127.0.0.1:6379 (which
 * has the default 16 dbs).
 *
 * Per case, two tests:
 * - "fails ...": the exit status (1 configuration/runtime failure, 2 usage error), the error matches
 *   the case's regex, no line of stdout/stderr is a stack frame (`    at ...`), no "(run with
 *   --debug for the stack trace)" (i.e. the error is an expected one), the password `s3cret` is
 *   nowhere in stdout/stderr, stdout is empty (or only JSON log lines for `run`), and the process
 *   ended within {@link PROMPT_MS};
 * - "... in one line": stderr, trimmed, is exactly one line `conductor: ...` matching the regex.
 *
 * Every case passes both tests. In particular a ConfigValidationError (values out of range, not
 * one of the choices, cross-field rules: every problem found) is one line, its problems joined with
 * "; " (status 2 when they all come from the command line, else 1; `--debug` adds the multi-line
 * detail and the stack); a command without its sub-command (`conductor rpc`, bare `conductor`)
 * is one usage error line naming the sub-commands, not the whole help; a redis `backend_url` whose
 * db index is not a non-negative integer, or is refused by the server's SELECT, is a one-line
 * error with status 1.
 *
 * Unknown options and sections in files, unknown CONDUCTOR_ variables, keys set twice and
 * deprecated names are NOT errors in this project (oslo.config ignores them): they are logged as
 * one warning line (JSON, level 40) on stderr and the command exits 0; see WARNING_CASES. An
 * unknown option given with `--set` IS an error (status 2) and is in the main table.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../cli/build.js';
import {
  ERROR_CASES,
  type ErrorCase,
  SECRET,
  WARNING_CASES,
  type WarningCase,
} from './config-input-cases.js';

const MAIN = join(ROOT, 'dist/src/cli/main.js');
const FIXTURE = join(ROOT, 'test/fixtures/cli/manager.mjs');
/** Processes at once (the machine has 2 cores). */
const CONCURRENCY = 4;
/** A process still running after this is killed (and its case fails). */
const KILL_AFTER_MS = 15_000;
/** A case must end within this (most take well under 2 s). */
const PROMPT_MS = 10_000;
/** A stack frame, as Node and the CLI's --debug print them. */
const STACK_LINE = /^\s+at \S/m;

/** What one process did. */
interface Outcome {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly timedOut: boolean;
}

interface Input {
  readonly name: string;
  readonly args: readonly string[];
  readonly config?: string;
  readonly files?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
}

/** With --debug the error line comes first, then the stack trace: only on request. */
interface DebugCase extends Input {
  readonly status: number;
  readonly first: RegExp;
}

const DEBUG_CASES: readonly DebugCase[] = [
  {
    name: 'an INI syntax error',
    args: ['--debug', 'config', 'show', '--config-file', '{conf}'],
    config: '[DEFAULT\n',
    status: 1,
    first: /^conductor: \S+conductor\.conf:1: invalid section header/,
  },
  {
    name: 'a value out of range (the multi-line detail follows)',
    args: ['config', 'show', '--debug', '--config-file', '{conf}'],
    config: '[DEFAULT]\nreport_interval = -1\n',
    status: 1,
    first:
      /^conductor: Invalid configuration \(1 problem\): \S+conductor\.conf \[DEFAULT\] report_interval: /,
  },
  {
    name: 'an unsupported transport',
    args: ['rpc', 'cast', '--debug', '--transport-url', 'kafka://broker/', 'ping'],
    status: 1,
    first: /^conductor: Unsupported transport 'kafka'/,
  },
];

let base = '';

function fill(text: string, dir: string): string {
  return text
    .replaceAll('{conf}', join(dir, 'conductor.conf'))
    .replaceAll('{dir}', dir)
    .replaceAll('{fixture}', FIXTURE);
}

/** Runs one case in its own directory. */
function runCase(input: Input, index: number): Promise<Outcome> {
  const dir = join(base, `case-${String(index).padStart(3, '0')}`);
  mkdirSync(dir, { recursive: true });
  if (input.config !== undefined) writeFileSync(join(dir, 'conductor.conf'), input.config);
  for (const [path, text] of Object.entries(input.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir };
  for (const [k, v] of Object.entries(input.env ?? {})) env[k] = fill(v, dir);
  const args = input.args.map((a) => fill(a, dir));
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

/** Runs every input, {@link CONCURRENCY} at a time; outcomes by name. */
async function runAll(inputs: readonly Input[]): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const index = next++;
      const input = inputs[index] as Input;
      outcomes.set(input.name, await runCase(input, index));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return outcomes;
}

let outcomes = new Map<string, Outcome>();

beforeAll(async () => {
  ensureBuilt();
  base = mkdtempSync(join(tmpdir(), 'conductor-config-input-'));
  const all: Input[] = [
    ...ERROR_CASES,
    ...WARNING_CASES,
    ...DEBUG_CASES.map((c) => ({ ...c, name: `debug: ${c.name}` })),
  ];
  outcomes = await runAll(all);
}, 180_000);

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

function outcome(name: string): Outcome {
  const o = outcomes.get(name);
  if (!o) throw new Error(`no outcome for ${name}`);
  return o;
}

/** The context printed with a failing expectation. */
function shown(o: Outcome): string {
  return `status ${o.status} signal ${o.signal} in ${o.ms} ms\n--- stderr:\n${o.stderr}\n--- stdout:\n${o.stdout.slice(0, 2000)}`;
}

function checkFailure(c: ErrorCase): void {
  const o = outcome(c.name);
  const info = shown(o);
  expect(o.timedOut, `killed after ${KILL_AFTER_MS} ms\n${info}`).toBe(false);
  expect(o.ms, info).toBeLessThan(PROMPT_MS);
  expect(o.status, info).toBe(c.status);
  expect(o.stderr.trim(), info).toMatch(c.error);
  expect(o.stderr, `a stack trace on stderr\n${info}`).not.toMatch(STACK_LINE);
  expect(o.stdout, `a stack trace on stdout\n${info}`).not.toMatch(STACK_LINE);
  expect(o.stderr, `an unexpected error\n${info}`).not.toContain('run with --debug');
  expect(o.stdout + o.stderr, `the password leaked\n${info}`).not.toContain(SECRET);
  if ((c.stdout ?? 'empty') === 'empty') {
    expect(o.stdout, info).toBe('');
  } else {
    for (const line of o.stdout.split('\n').filter((l) => l.trim() !== '')) {
      expect(() => JSON.parse(line) as unknown, `not a log line: ${line}`).not.toThrow();
    }
  }
}

function checkOneLine(c: ErrorCase): void {
  const o = outcome(c.name);
  const lines = o.stderr.trim().split('\n');
  expect(lines, shown(o)).toHaveLength(1);
  expect(lines[0]).toMatch(/^conductor: \S/);
  expect(lines[0]).toMatch(c.error);
}

describe('config and input errors: one line, non-zero status, no stack, no secret', () => {
  it('has a table of at least 40 cases in every category, with unique names', () => {
    expect(ERROR_CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(ERROR_CASES.map((c) => c.name)).size).toBe(ERROR_CASES.length);
    expect(new Set(ERROR_CASES.map((c) => c.category))).toEqual(
      new Set([
        'ini syntax',
        'config files',
        'wrong type',
        'out of range',
        'rule',
        'url',
        'cli',
        'manager',
        'secret',
      ]),
    );
  });

  for (const c of ERROR_CASES) {
    describe(`[${c.category}] ${c.name}`, () => {
      it(`fails with status ${c.status}, the problem named, no stack, no secret, promptly`, () =>
        checkFailure(c));
      it('the error is one line', () => checkOneLine(c));
    });
  }
});

describe('warnings, not errors: unknown and deprecated names (status 0, one warning line)', () => {
  for (const c of WARNING_CASES) {
    it(c.name, () => checkWarning(c));
  }
});

function checkWarning(c: WarningCase): void {
  const o = outcome(c.name);
  const info = shown(o);
  expect(o.timedOut, info).toBe(false);
  expect(o.status, info).toBe(0);
  expect(o.stdout, info).toMatch(/^SECTION +OPTION +VALUE +SOURCE\n/);
  const lines = o.stderr.trim().split('\n');
  expect(lines, info).toHaveLength(1);
  const log = JSON.parse(lines[0] as string) as { level: number; msg: string };
  expect(log.level).toBe(40);
  expect(log.msg).toMatch(c.warning);
  expect(o.stdout + o.stderr, `the password leaked\n${info}`).not.toContain(SECRET);
}

describe('--debug adds the stack trace after the same error line', () => {
  for (const c of DEBUG_CASES) {
    it(c.name, () => {
      const o = outcome(`debug: ${c.name}`);
      const info = shown(o);
      expect(o.status, info).toBe(c.status);
      // Debug log lines (JSON) may come first; the error line is the first that is not one.
      const lines = o.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
      expect(lines[0], info).toMatch(c.first);
      expect(o.stderr, info).toMatch(STACK_LINE);
    });
  }
});
