import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigFileError } from '../core/index.js';
import { normalizeSection, parseIni, type ParsedIni } from './ini.js';

/** Prefix of configuration environment variables: `CONDUCTOR_<SECTION>__<OPTION>`. */
export const ENV_PREFIX = 'CONDUCTOR_';

/** One raw value and where it came from. */
export interface RawEntry {
  /** The section and key as written (a deprecated name, perhaps). */
  readonly section: string;
  readonly key: string;
  /** Trimmed raw text. */
  readonly raw: string;
  /** `file:/abs/path.conf`, `env:CONDUCTOR_X__Y` or `cli`. */
  readonly source: string;
  /** For messages: `/abs/path.conf`, `environment variable X`, `command-line option 'x'`. */
  readonly location: string;
  /** 1-based line in a file. */
  readonly line?: number;
}

/** One source, looked up by section and key. */
export interface Layer {
  readonly kind: 'file' | 'env' | 'cli';
  lookup(section: string, key: string): RawEntry | undefined;
}

/** A file read and parsed. */
export interface FileLayer extends Layer {
  readonly kind: 'file';
  readonly file: string;
  readonly parsed: ParsedIni;
}

/** `~/x` → home; relative → absolute. */
export function expandPath(path: string): string {
  const p = path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
  return resolve(p);
}

function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${e.code})`;
    case 'EISDIR':
      return 'is a directory';
    default:
      return e.code ?? e.message;
  }
}

/** Reads and parses one config file; errors name the file. */
export async function readConfigFile(path: string): Promise<FileLayer> {
  const file = expandPath(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(file, `Cannot read config file ${file}: ${describeIoError(err)}`, {
      cause: err,
    });
  }
  const parsed = parseIni(text, file);
  const source = `file:${file}`;
  return {
    kind: 'file',
    file,
    parsed,
    lookup(section, key) {
      const e = parsed.sections.get(section)?.get(key);
      return e && { section, key, raw: e.value, source, location: file, line: e.line };
    },
  };
}

/** The `*.conf` files of a config dir, sorted by name (code-point order, like Python's sorted()). */
export async function listConfigDir(path: string): Promise<string[]> {
  const dir = expandPath(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new ConfigFileError(dir, `Cannot read config dir ${dir}: ${describeIoError(err)}`, {
      cause: err,
    });
  }
  const files: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.conf') && !n.startsWith('.')).sort()) {
    const file = join(dir, name);
    // Gone or unreadable between readdir and stat: not a file to read, like a directory.
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile()) files.push(file);
  }
  return files;
}

/**
 * The environment source. A variable `CONDUCTOR_<SECTION>__<OPTION>` (section and option
 * upper-cased, joined by a double underscore) sets `[section] option`, e.g.
 * `CONDUCTOR_DEFAULT__TRANSPORT_URL`, `CONDUCTOR_OSLO_MESSAGING_RABBIT__RABBIT_RETRY_INTERVAL`.
 * Names are matched exactly in upper case; variables without `__` (such as `CONDUCTOR_LOG_LEVEL`)
 * are not configuration. Values are trimmed.
 */
export function envLayer(env: NodeJS.ProcessEnv): Layer & { names: string[] } {
  const vars = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith(ENV_PREFIX)) continue;
    const sep = name.indexOf('__', ENV_PREFIX.length);
    if (sep <= ENV_PREFIX.length || sep + 2 >= name.length) continue;
    vars.set(name, value.trim());
  }
  return {
    kind: 'env',
    names: [...vars.keys()],
    lookup(section, key) {
      const name = envVarName(section, key);
      const raw = vars.get(name);
      return raw === undefined
        ? undefined
        : { section, key, raw, source: `env:${name}`, location: `environment variable ${name}` };
    },
  };
}

/** `CONDUCTOR_<SECTION>__<OPTION>`. */
export function envVarName(section: string, name: string): string {
  return `${ENV_PREFIX}${section.toUpperCase()}__${name.toUpperCase()}`;
}

/** Splits a command-line key `section.option` or `option` (→ `DEFAULT`). */
export function splitCliKey(key: string): { section: string; name: string } {
  const dot = key.indexOf('.');
  if (dot < 0) return { section: 'DEFAULT', name: key.trim() };
  const section = key.slice(0, dot).trim();
  return {
    section: section.toUpperCase() === 'DEFAULT' ? 'DEFAULT' : normalizeSection(section),
    name: key.slice(dot + 1).trim(),
  };
}

/** The command-line source; `resolveKey` maps each given key to a registered option (or throws). */
export function cliLayer(
  cli: Readonly<Record<string, string>>,
  resolveKey: (key: string) => { section: string; name: string },
): Layer {
  const values = new Map<string, Map<string, RawEntry>>();
  for (const [key, raw] of Object.entries(cli)) {
    const { section, name } = resolveKey(key);
    let m = values.get(section);
    if (!m) values.set(section, (m = new Map()));
    m.set(name, {
      section,
      key: name,
      raw: String(raw).trim(),
      source: 'cli',
      location: `command-line option '${key}'`,
    });
  }
  return { kind: 'cli', lookup: (section, key) => values.get(section)?.get(key) };
}
