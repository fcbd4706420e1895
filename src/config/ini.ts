import { ConfigFileError } from '../core/index.js';

/** One `key = value` of a file. */
export interface IniEntry {
  readonly value: string;
  /** 1-based line of the key. */
  readonly line: number;
}

/** A parsed file: section → key → entry, all in `Map`s (no prototype to pollute). */
export interface ParsedIni {
  readonly sections: Map<string, Map<string, IniEntry>>;
  /** Keys set more than once in one section (the last one wins). */
  readonly duplicates: readonly {
    section: string;
    key: string;
    firstLine: number;
    lastLine: number;
  }[];
}

/** `DEFAULT` stays as is; every other section name is lower-cased (oslo `_normalize_group_name`). */
export function normalizeSection(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

/**
 * Reads oslo.config's INI dialect (`oslo_config/iniparser.py`).
 *
 * Why not `ini@5` (`ini.parse`)? It is installed, but it changes values in ways an oslo file does
 * not expect, and some of them silently corrupt secrets (see `test/config/ini-quirks.test.ts`):
 * - an unescaped `;` or `#` anywhere ends the value (`password = a;b` → `a`); oslo has no inline
 *   comments;
 * - quoted values go through `JSON.parse` (`'123'` → the number 123, `"a\tb"` → a tab);
 * - `true`/`false`/`null` become booleans/null, and a bare `key` line becomes `true`;
 * - `[a.b]` becomes a nested object, `key[]` an array, an indented line a new key;
 * - no line numbers for messages.
 *
 * This parser follows oslo instead:
 * - `[section]` headers (must end with `]`, not empty); `DEFAULT` is case-sensitive, other
 *   sections are lower-cased; a section may appear several times (merged);
 * - `key = value` or `key: value` (whichever separator comes first), key and value trimmed;
 * - one pair of matching outer quotes (`"..."` or `'...'`) is removed, nothing else is unescaped;
 * - lines whose first non-blank character is `#` or `;` are comments (oslo only at column 0 — an
 *   indented comment there would continue the previous value); `#`/`;` after a value are kept as
 *   part of it, so `report_interval = 10 # s` is a type error rather than a silent truncation;
 * - a line starting with whitespace continues the previous value (joined with `\n`); a blank line
 *   ends it;
 * - a key set twice in a section: the last one wins (oslo), reported in `duplicates`;
 * - `$name` is literal (oslo's `$option` interpolation is not implemented);
 * - errors: a line without `=`/`:`, an empty key, an assignment before any section, a continuation
 *   with nothing to continue, a bad header. Messages name the file and line but never quote the
 *   line, which may hold a secret.
 */
export function parseIni(text: string, file: string): ParsedIni {
  const sections = new Map<string, Map<string, IniEntry>>();
  const duplicates: { section: string; key: string; firstLine: number; lastLine: number }[] = [];
  const fail = (line: number, msg: string): never => {
    throw new ConfigFileError(file, `${file}:${line}: ${msg}`, { line });
  };
  let section: string | undefined;
  let pending: { key: string; parts: string[]; line: number } | undefined;

  const flush = (): void => {
    if (pending === undefined) return;
    const { key, parts, line } = pending;
    pending = undefined;
    if (section === undefined)
      return fail(line, 'assignment before any [section] header (start with [DEFAULT])');
    let entries = sections.get(section);
    if (!entries) sections.set(section, (entries = new Map()));
    const prev = entries.get(key);
    if (prev) duplicates.push({ section, key, firstLine: prev.line, lastLine: line });
    entries.set(key, { value: parts.join('\n'), line });
  };

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((rawLine, index) => {
    const lineNo = index + 1;
    const line = rawLine.replace(/\s+$/, '');
    if (line === '') return flush();
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const text = line.trimStart();
      if (text.startsWith('#') || text.startsWith(';')) return;
      if (pending === undefined)
        return fail(lineNo, 'unexpected continuation line (it starts with whitespace)');
      pending.parts.push(text);
      return;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) return fail(lineNo, "invalid section header (must end with ']')");
      const name = line.slice(1, -1).trim();
      if (name === '') return fail(lineNo, 'empty section name');
      section = normalizeSection(name);
      return;
    }
    if (line.startsWith('#') || line.startsWith(';')) return;
    const colon = line.indexOf(':');
    const equal = line.indexOf('=');
    if (colon < 0 && equal < 0) return fail(lineNo, "no '=' or ':' in assignment");
    const sep = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
    const key = line.slice(0, sep).trim();
    if (key === '') return fail(lineNo, 'empty key');
    let value = line.slice(sep + 1).trim();
    if (value.length >= 2 && value[0] === value[value.length - 1] && /^["']/.test(value))
      value = value.slice(1, -1);
    pending = { key, parts: [value], line: lineNo };
  });
  flush();
  return { sections, duplicates };
}
