/**
 * Small helpers shared by the benchmarks: percentiles, means, number formatting and markdown tables.
 */

/** The p-th percentile (0–100) of `values`, nearest-rank on a sorted copy. NaN when empty. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1] as number;
}

/** Several percentiles with one sort. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return ps.map(() => NaN);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => sorted[Math.min(n, Math.max(1, Math.ceil((p / 100) * n))) - 1] as number);
}

export function mean(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i] as number;
  return sum / n;
}

export function max(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) m = Math.max(m, values[i] as number);
  return values.length === 0 ? NaN : m;
}

/** Fixed-point with thousands separators, e.g. `fmt(1234567.8, 1)` → `1,234,567.8`; NaN → `—`. */
export function fmt(value: number, digits = 0): string {
  if (Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** `10000` → `10k`, `1000000` → `1M`. */
export function shortCount(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

/** Bytes with a binary unit, e.g. `12.3 MiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u] as string}`;
}

/** A GitHub-flavoured markdown table; columns whose header starts with a space are right-aligned. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const right = headers.map((h) => h.startsWith(' '));
  const head = headers.map((h) => h.trim());
  const widths = head.map((h, c) => Math.max(h.length, 3, ...rows.map((r) => (r[c] ?? '').length)));
  const cell = (s: string, c: number): string =>
    right[c] ? s.padStart(widths[c] as number) : s.padEnd(widths[c] as number);
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((s, c) => cell(s, c)).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (right[c] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(head), rule, ...rows.map((r) => line(head.map((_, c) => r[c] ?? '')))].join('\n');
}

export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}
