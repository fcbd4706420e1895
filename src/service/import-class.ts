import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ImportClassError } from '../core/index.js';

/** A class constructor of any shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any class
export type AnyClass = abstract new (...args: any[]) => unknown;

function splitPath(path: string): [string, string] {
  // "module#Class" (preferred) or "module:Class"; a Windows drive letter is not a separator.
  const hash = path.lastIndexOf('#');
  if (hash >= 0) return [path.slice(0, hash), path.slice(hash + 1)];
  const colon = path.lastIndexOf(':');
  if (colon > 1) return [path.slice(0, colon), path.slice(colon + 1)];
  return [path, 'default'];
}

function moduleUrl(spec: string, cwd: string): string {
  if (spec.startsWith('.') || isAbsolute(spec)) return pathToFileURL(resolve(cwd, spec)).href;
  if (/^[a-z]+:/i.test(spec)) return spec; // file:, node:, data:
  // A package name: resolved from the working directory (the user's project), not from here.
  try {
    return pathToFileURL(createRequire(resolve(cwd, 'noop.js')).resolve(spec)).href;
  } catch {
    return spec; // let import() resolve it from this package (e.g. conductor-ts's own subpaths)
  }
}

/** `class` syntax, or a constructor function whose prototype has methods (EventEmitter-style). */
function isClass(value: unknown): value is AnyClass {
  if (typeof value !== 'function') return false;
  if (/^class[\s{]/.test(Function.prototype.toString.call(value))) return true;
  const proto = (value as { prototype?: object }).prototype;
  return proto !== undefined && Object.getOwnPropertyNames(proto).some((k) => k !== 'constructor');
}

/**
 * Loads a class named like `module#Class` (also `module:Class`; no class part = the default
 * export), as oslo's `importutils.import_class` does for dotted paths. `module` is a package
 * specifier (`conductor-ts/conductor`, `my-pkg/managers`) or a file path relative to `cwd`
 * (`./dist/managers.js`). Throws {@link ImportClassError} naming what is missing.
 */
export async function importClass(path: string, cwd: string = process.cwd()): Promise<AnyClass> {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new ImportClassError('importClass needs a "module#Class" string');
  }
  const [spec, name] = splitPath(path.trim());
  if (!spec) throw new ImportClassError(`No module in '${path}': expected "module#Class"`);
  if (!name) throw new ImportClassError(`No class name in '${path}': expected "module#Class"`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleUrl(spec, cwd))) as Record<string, unknown>;
  } catch (err) {
    throw new ImportClassError(
      `Cannot import module '${spec}' (from '${path}'): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!Object.hasOwn(mod, name)) {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new ImportClassError(
      `Module '${spec}' has no export '${name}'${names.length ? `; its classes and functions: ${names.join(', ')}` : ''}`,
    );
  }
  const value = mod[name];
  if (!isClass(value)) {
    throw new ImportClassError(
      `'${path}' is not a class (it is ${typeof value === 'function' ? 'a plain function' : typeof value})`,
    );
  }
  return value as AnyClass;
}
