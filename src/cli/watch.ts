/**
 * The live terminal view of `conductor tasks --watch` and `conductor members --watch`: a frame is
 * fetched every `interval` seconds (on the injected clock) and drawn in place, with what changed
 * since the previous refresh marked.
 */
import { InvalidArgumentError } from 'commander';
import { realClock, toError } from '../core/index.js';
import { colorsEnabled, CURSOR, type Painter, painter, type Style } from './ansi.js';
import { oneLine } from './format.js';
import type { CliIo, InputStream } from './io.js';

/** One row of a live table. */
export interface WatchRow {
  /** What identifies the row from one refresh to the next (a task's name, a member's id). */
  readonly key: string;
  /** The printed cells. */
  readonly cells: readonly string[];
  /**
   * What a cell's change is judged on, when not its text (an age such as `3 s ago` changes on every
   * refresh; the time it is computed from does not). Default the cells.
   */
  readonly compare?: readonly string[];
  /** A style per cell when nothing changed (a status word's colour), or undefined. */
  readonly styles?: readonly (Style | undefined)[];
}

/** What one refresh shows. */
export interface WatchFrame {
  /** A line under the header: counts, the group, ... */
  readonly summary?: string;
  readonly headers: readonly string[];
  readonly rows: readonly WatchRow[];
  /** Printed instead of the table when there is no row. */
  readonly empty?: string;
  /** The refresh as data: one JSON line per refresh with `--format json`. */
  readonly json: unknown;
}

/** Options of {@link watch}. */
export interface WatchOptions {
  readonly io: CliIo;
  /** The view's name in the header line (`conductor tasks`). */
  readonly title: string;
  /** Where the frames come from (a URL, a backend), in the header line. */
  readonly source: string;
  /** Seconds between two refreshes (end of one to start of the next). */
  readonly interval: number;
  readonly format: 'table' | 'json';
  /** Makes one frame; a rejection is shown in the frame (the view keeps refreshing). */
  readonly fetch: () => Promise<WatchFrame>;
  /** How a row that disappeared is shown for one refresh (default: its last cells). */
  readonly gone?: (row: WatchRow) => WatchRow;
}

/** What {@link diffRows} found about one row. */
export type RowChange = 'same' | 'new' | 'changed' | 'gone';

/** One row of a frame with its change since the previous refresh. */
export interface DiffedRow {
  readonly row: WatchRow;
  readonly change: RowChange;
  /** Indexes of the cells that changed (`changed` only). */
  readonly cells: ReadonlySet<number>;
}

const compared = (row: WatchRow): readonly string[] => row.compare ?? row.cells;

/**
 * The rows of `next` with their change against `previous` (undefined: the first refresh, nothing
 * is marked), followed by the rows of `previous` that are not in `next` (`gone`).
 */
export function diffRows(
  previous: readonly WatchRow[] | undefined,
  next: readonly WatchRow[],
): DiffedRow[] {
  const none: ReadonlySet<number> = new Set();
  if (previous === undefined) return next.map((row) => ({ row, change: 'same', cells: none }));
  const before = new Map(previous.map((r) => [r.key, r]));
  const out: DiffedRow[] = next.map((row) => {
    const old = before.get(row.key);
    if (old === undefined) return { row, change: 'new', cells: none };
    const a = compared(old);
    const b = compared(row);
    const cells = new Set<number>();
    for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) cells.add(i);
    return { row, change: cells.size > 0 ? 'changed' : 'same', cells };
  });
  const keys = new Set(next.map((r) => r.key));
  for (const r of previous) if (!keys.has(r.key)) out.push({ row: r, change: 'gone', cells: none });
  return out;
}

/** The marker column: `*` changed, `+` new, `-` gone (so a change never shows by colour alone). */
const MARK: Readonly<Record<RowChange, string>> = { same: ' ', new: '+', changed: '*', gone: '-' };

/**
 * The table of one refresh: a marker column, then the frame's columns padded to their width; a
 * changed cell is bold yellow, a new row green, a row that is gone red and dim (when `p` paints).
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly DiffedRow[],
  p: Painter,
): string[] {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r.row.cells[i] ?? '').length)),
  );
  const pad = (text: string, i: number): string =>
    i === headers.length - 1 ? text : text.padEnd(widths[i] ?? 0);
  const head = `  ${headers.map((h, i) => pad(h.toUpperCase(), i)).join('  ')}`.trimEnd();
  const lines = [p.paint(head, 'bold')];
  for (const { row, change, cells } of rows) {
    const parts = headers.map((_, i) => {
      const text = pad(row.cells[i] ?? '', i);
      if (change === 'gone') return p.paint(text, 'red', 'dim');
      if (change === 'new') return p.paint(text, 'green');
      if (cells.has(i)) return p.paint(text, 'bold', 'yellow');
      return p.paint(text, row.styles?.[i]);
    });
    const mark = change === 'same' ? ' ' : p.paint(MARK[change], 'bold');
    lines.push(`${mark} ${parts.join('  ')}`.trimEnd());
  }
  return lines;
}

/** `2026-01-02 03:04:05Z`: the header's time, UTC to the second. */
function stamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/**
 * Runs a live view until SIGINT or SIGTERM (on `io.signalTarget`, default the process), or `q` /
 * Ctrl-C typed on a terminal `io.stdin`; resolves then (the command exits 0).
 *
 * - stdout a terminal: the cursor is hidden, each refresh is drawn from the top-left corner over the
 *   previous one (every line cleared to its end, then the rest of the screen), and the cursor is
 *   shown again at the end. Colours when {@link colorsEnabled} (NO_COLOR, FORCE_COLOR).
 * - stdout not a terminal: each refresh is appended (header line, table, blank line), without any
 *   escape sequence unless FORCE_COLOR asks for colours.
 * - `format: 'json'`: one JSON object per line and refresh (`time`, `source`, and the frame's data,
 *   or `error`).
 */
export async function watch(options: WatchOptions): Promise<void> {
  const { io, interval, format } = options;
  const out = io.stdout;
  const clock = io.clock ?? realClock;
  const now = io.now ?? (() => new Date());
  const live = format === 'table' && out.isTTY === true;
  const p = painter(format === 'table' && colorsEnabled(out, io.env));
  const stop = new AbortController();
  const stopped = new Promise<void>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  const onSignal = (): void => stop.abort();
  const signals = io.signalTarget ?? process;
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  const keys = live ? readKeys(io.stdin ?? process.stdin, () => stop.abort()) : undefined;

  let previous: readonly WatchRow[] | undefined;
  let lastGood: WatchFrame | undefined;
  if (live) out.write(CURSOR.hide);
  try {
    while (!stop.signal.aborted) {
      let frame: WatchFrame | undefined;
      let error: string | undefined;
      try {
        frame = await Promise.race([options.fetch(), stopped.then(() => undefined)]);
      } catch (err) {
        error = oneLine(toError(err).message);
      }
      if (stop.signal.aborted) break;
      const time = now();
      if (format === 'json') {
        const data = frame ? frame.json : { error };
        const head = { time: time.toISOString(), source: options.source };
        out.write(
          `${JSON.stringify(typeof data === 'object' && data ? { ...head, ...data } : { ...head, data })}\n`,
        );
      } else {
        const shown = frame ?? lastGood;
        const lines = [
          `${p.paint(options.title, 'bold', 'cyan')}  ${options.source}  ${stamp(time)}`,
        ];
        const sub = [
          `every ${interval} s`,
          ...(live ? ['q or Ctrl-C to quit'] : []),
          ...(shown?.summary ? [shown.summary] : []),
        ];
        lines.push(p.paint(sub.join(' · '), 'dim'));
        if (error !== undefined) {
          lines.push(
            p.paint(
              `error: ${error}${lastGood ? ' (the table is from the last good refresh)' : ''}`,
              'red',
              'bold',
            ),
          );
        }
        lines.push('');
        if (shown) {
          let rows = diffRows(frame ? previous : lastGood?.rows, shown.rows);
          if (options.gone) {
            const gone = options.gone;
            rows = rows.map((r) => (r.change === 'gone' ? { ...r, row: gone(r.row) } : r));
          }
          if (shown.rows.length === 0 && rows.length === 0) lines.push(shown.empty ?? 'nothing');
          else lines.push(...renderTable(shown.headers, rows, p));
        }
        if (live) {
          out.write(
            `${CURSOR.home}${lines.map((l) => `${l}${CURSOR.clearLine}`).join('\n')}\n${CURSOR.clearDown}`,
          );
        } else {
          out.write(`${lines.join('\n')}\n\n`);
        }
      }
      if (frame) {
        previous = frame.rows;
        lastGood = frame;
      }
      try {
        await clock.sleep(interval, stop.signal);
      } catch {
        break; // stopped while waiting
      }
    }
  } finally {
    signals.removeListener('SIGINT', onSignal);
    signals.removeListener('SIGTERM', onSignal);
    keys?.();
    if (live) out.write(CURSOR.show);
  }
}

/** The byte a terminal in raw mode sends for Ctrl-C. */
const CTRL_C = String.fromCharCode(3);

/**
 * Reads single keys from a terminal `stdin` (raw mode): `q`, `Q` or Ctrl-C call `onQuit`. Returns
 * the function that restores the terminal; nothing is read from a `stdin` that is not a terminal.
 */
function readKeys(stdin: InputStream, onQuit: () => void): (() => void) | undefined {
  if (stdin.isTTY !== true) return undefined;
  const onData = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('q') || text.includes('Q') || text.includes(CTRL_C)) onQuit();
  };
  stdin.setRawMode?.(true);
  stdin.on('data', onData);
  stdin.resume?.();
  return () => {
    stdin.removeListener('data', onData);
    stdin.setRawMode?.(false);
    stdin.pause?.();
  };
}

/** A commander parser of `--interval <seconds>`: a number from 0.1 to 3600. */
export function intervalSeconds(text: string): number {
  const n = Number(text);
  if (!/^\s*\d*\.?\d+\s*$/.test(text) || !(n >= 0.1 && n <= 3600)) {
    throw new InvalidArgumentError('must be a number of seconds from 0.1 to 3600');
  }
  return n;
}
