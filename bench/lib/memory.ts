import { fmt, markdownTable, shortCount } from './stats.js';

/** One row of a "memory per task" table: heap and ArrayBuffer bytes per task after a full GC. */
export interface MemoryRow {
  readonly system: string;
  readonly n: number;
  readonly heapPerTask: number;
  readonly abPerTask: number;
  readonly buildMs: number;
  readonly note: string;
}

/** The markdown table of `rows`, as the scale and cron benches print it. */
export function memoryTable(rows: readonly MemoryRow[]): string {
  return markdownTable(
    [
      'system',
      ' tasks',
      ' JS heap B/task',
      ' ArrayBuffer B/task',
      ' total B/task',
      ' build ms',
      'note',
    ],
    rows.map((r) => [
      r.system,
      shortCount(r.n),
      fmt(r.heapPerTask, 1),
      fmt(r.abPerTask, 1),
      fmt(r.heapPerTask + r.abPerTask, 1),
      fmt(r.buildMs),
      r.note,
    ]),
  );
}
