/**
 * What each fault scenario script prints, so that `npm run bench:faults` (index.ts) and the fast
 * variants in `npm test` read the same figures: one line `RESULT <json>` on stdout.
 */

/** One figure of a scenario: what was measured and, where the issue promises something, whether it held. */
export interface FaultFigure {
  readonly figure: string;
  readonly measured: string;
  /** true / false where there is a promise to keep; absent for plain figures. */
  readonly ok?: boolean;
}

/** A scenario's figures, plus the raw numbers the tests assert on. */
export interface FaultResult<Data = Record<string, unknown>> {
  readonly scenario: string;
  readonly seconds: number;
  readonly figures: readonly FaultFigure[];
  /** Lines worth reading under the table (why calls failed, what was cut off). */
  readonly notes?: readonly string[];
  readonly data: Data;
}

export const RESULT_PREFIX = 'RESULT ';

/** Prints `result` as the one `RESULT` line. */
export function printResult(result: FaultResult<object>): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** Finds and parses the `RESULT` line in a script's stdout; throws with the output when there is none. */
export function parseResult<Data = Record<string, unknown>>(stdout: string): FaultResult<Data> {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) throw new Error(`no ${RESULT_PREFIX.trim()} line in:\n${stdout.slice(-4000)}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as FaultResult<Data>;
}
