import type { Service } from './service.js';

/**
 * The key of a manager's optional ops view: `[opsView](service)` returns the sections the ops
 * dashboard shows for this manager (the conductor: its services and heartbeats, its VIMs and their
 * events). A symbol, so no RPC request can name it: an RPC method is a string, and the access
 * policy only ever looks methods up by string.
 *
 * ```ts
 * class MyManager extends Manager {
 *   async [opsView](service: Service): Promise<OpsViewSection[]> {
 *     return [{ title: 'Jobs', columns: ['Job', 'State'], rows: [['nightly', { badge: 'done', tone: 'ok' }]] }];
 *   }
 * }
 * ```
 */
export const opsView: unique symbol = Symbol.for('conductor-ts.opsView');

/** How a status badge reads: its colour, always beside its text (never colour alone). */
export type OpsBadgeTone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';

/** A status badge in a table cell: `text` shown in a pill coloured by `tone`. */
export interface OpsBadge {
  readonly badge: string;
  readonly tone: OpsBadgeTone;
}

/** A point in time in a table cell (ISO-8601): shown as an age ("12 s ago"), exact on hover. */
export interface OpsTime {
  readonly at: string;
}

/** One cell of an ops view table: text, a number, a badge, a time, or null (shown as a dash). */
export type OpsCell = string | number | null | OpsBadge | OpsTime;

/** One section of a manager's ops view: a table. Every value is shown as text, never as markup. */
export interface OpsViewSection {
  /** The section's heading, e.g. `Services`. */
  readonly title: string;
  /** A line under the heading (what the table shows, which thresholds apply). */
  readonly note?: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly OpsCell[])[];
  /** What to show when `rows` is empty. Default `none`. */
  readonly empty?: string;
  /** Spans the whole width of the page rather than one column. */
  readonly wide?: boolean;
}

/** A manager that contributes sections to the ops dashboard (see {@link opsView}). */
export interface OpsViewProvider {
  [opsView](service: Service): readonly OpsViewSection[] | Promise<readonly OpsViewSection[]>;
}

/** True when `manager` has an {@link opsView} method. */
export function hasOpsView(manager: unknown): manager is OpsViewProvider {
  return (
    typeof manager === 'object' &&
    manager !== null &&
    typeof (manager as Partial<OpsViewProvider>)[opsView] === 'function'
  );
}
