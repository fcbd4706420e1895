/**
 * The few ANSI escape sequences the live views use (no dependency): cursor control for redrawing in
 * place, and SGR colours that are only emitted when {@link colorsEnabled} says so.
 */
import type { OutputStream } from './io.js';

/** Escape sequences of cursor and screen control (ECMA-48 / VT100). */
export const CURSOR = Object.freeze({
  /** Hide the cursor (DECTCEM reset). */
  hide: '\x1b[?25l',
  /** Show the cursor again (DECTCEM set). */
  show: '\x1b[?25h',
  /** Move the cursor to the top-left corner. */
  home: '\x1b[H',
  /** Clear from the cursor to the end of the line. */
  clearLine: '\x1b[K',
  /** Clear from the cursor to the end of the screen. */
  clearDown: '\x1b[J',
});

/** The styles the live views use. */
export type Style = 'bold' | 'dim' | 'inverse' | 'red' | 'green' | 'yellow' | 'cyan';

const SGR: Readonly<Record<Style, readonly [number, number]>> = {
  bold: [1, 22],
  dim: [2, 22],
  inverse: [7, 27],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

/**
 * Whether colours go to `stream`: `FORCE_COLOR` set to anything but `0` or `false` forces them on;
 * otherwise `NO_COLOR` set to a non-empty value (https://no-color.org) turns them off, a stream that
 * is not a terminal gets none, and `TERM=dumb` none either.
 */
export function colorsEnabled(stream: OutputStream, env: NodeJS.ProcessEnv): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return stream.isTTY === true;
}

/** Applies styles to text, or leaves it as it is when colours are off. */
export interface Painter {
  /** Whether this painter emits escape sequences. */
  readonly enabled: boolean;
  /** `text` wrapped in the styles' SGR sequences (unchanged when disabled or no style given). */
  paint(text: string, ...styles: readonly (Style | undefined)[]): string;
}

/** A {@link Painter}: SGR sequences when `enabled`, plain text otherwise. */
export function painter(enabled: boolean): Painter {
  return {
    enabled,
    paint(text, ...styles) {
      if (!enabled || text === '') return text;
      let open = '';
      let close = '';
      for (const s of styles) {
        if (s === undefined) continue;
        const [on, off] = SGR[s];
        open += `\x1b[${on}m`;
        close = `\x1b[${off}m${close}`;
      }
      return `${open}${text}${close}`;
    },
  };
}

/** `text` without any ANSI escape sequence (SGR, cursor, private modes). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}
