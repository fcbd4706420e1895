import { errorMessage } from '../core/index.js';

/** Longest error text the endpoint shows or keeps per task. */
const MAX_LENGTH = 300;

/**
 * One line of text for an error: its message only (never a stack), newlines folded, cut to a bounded
 * length so a huge message cannot bloat a response or the per-task memory.
 */
export function describeError(err: unknown): string {
  let text: string;
  try {
    text = errorMessage(err);
  } catch {
    text = 'unprintable error'; // a thrown object whose toString throws
  }
  text = text.replace(/\s*[\r\n]+\s*/g, ' ').trim() || (err instanceof Error ? err.name : 'error');
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 1)}…` : text;
}
