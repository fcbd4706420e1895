import { fmt, markdownTable, shortCount } from './stats.js';

/** A full GC; the benches that measure memory need `node --expose-gc` (their npm scripts pass it). */
export function gc(): void {
  const f = globalThis.gc;
  if (!f) {
    console.error('Run with `node --expose-gc` (the npm bench scripts do).');
    process.exit(2);
  }
  f();
}

/** Heap and ArrayBuffer bytes in use. */
export interface Mem {
  heap: number;
  ab: number;
}

/** Bytes in use after two full GCs (the second collects what the first's finalizers freed). */
export function memNow(): Mem {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ab: m.arrayBuffers };
}

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
