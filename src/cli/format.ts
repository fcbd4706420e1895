/** Text output helpers of the CLI. */

/** A printable cell: lists joined by commas, `undefined` → `<unset>`, objects as JSON. */
export function cell(value: unknown): string {
  if (value === undefined) return '<unset>';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.map((v) => cell(v)).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A plain-text table: an upper-case header line, then one line per row, columns separated by two
 * spaces, no trailing blanks.
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/** JSON, pretty (2 spaces), with a final newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value === undefined ? null : value, null, 2)}\n`;
}

/** One line: newlines and runs of blanks folded into single spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
