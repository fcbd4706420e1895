/**
 * The machinery of the error catalogue (fastify's `createError`): {@link defineError} turns one
 * table row — stable code, class name, base class, message template — into a class and records
 * the row, so that the whole catalogue can be listed ({@link errorCatalogue}), tested and
 * documented from one place.
 */

/** The constructor of any error class a catalogue entry may extend. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any error constructor
export type ErrorBase = abstract new (...args: any[]) => Error;

/** One row of the catalogue. */
export interface ErrorEntry {
  /** Stable machine-readable code, `CONDUCTOR_*`. */
  readonly code: string;
  /** The class name (and the `name` of its instances). */
  readonly name: string;
  /** The name of the class it extends (`ConductorError`, `InvalidOptionError`, `RangeError`, ...). */
  readonly base: string;
  /** The message, with one `%s` per constructor argument. */
  readonly message: string;
}

/** The template's `%s` placeholders as a tuple of constructor arguments. */
export type TemplateArgs<M extends string> = M extends `${string}%s${infer Rest}`
  ? [arg: unknown, ...TemplateArgs<Rest>]
  : [];

/** A class made by {@link defineError}. */
export interface CatalogueClass<B extends ErrorBase, M extends string> {
  new (...args: [...TemplateArgs<M>, options?: ErrorOptions]): InstanceType<B> & {
    readonly code: string;
  };
  /** The entry's code. */
  readonly code: string;
  /** The entry's message template. */
  readonly template: M;
  readonly prototype: InstanceType<B> & { readonly code: string };
}

const rows = new Map<string, ErrorEntry>();
/** Set on the prototype of every class of the catalogue, native-based ones included. */
const kCatalogued = Symbol.for('conductor-ts.catalogued');

/** Fills `%s` placeholders in order (`String(value)`; a missing argument is empty). */
export function formatMessage(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : ''));
}

function placeholders(template: string): number {
  return template.split('%s').length - 1;
}

function register(entry: ErrorEntry): void {
  const prior = rows.get(entry.code);
  // A module evaluated twice (two copies of the package) registers the same row again: harmless.
  if (
    prior &&
    (prior.name !== entry.name || prior.message !== entry.message || prior.base !== entry.base)
  )
    throw new CatalogueError(`error code ${entry.code} is already defined as ${prior.name}`);
  rows.set(entry.code, Object.freeze({ ...entry }));
}

/** The code of the most derived catalogue class of `target` (statics are inherited). */
function codeOf(target: unknown): string {
  const code = (target as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'CONDUCTOR_ERROR';
}

/**
 * Builds the message of an instance of entry `code`: formatted when the instance is of that entry
 * (or a subclass that adds no entry of its own), passed through unchanged when a more derived
 * entry already formatted it.
 */
function messageFor(
  newTarget: unknown,
  code: string,
  template: string,
  args: readonly unknown[],
): { message: string; options: ErrorOptions | undefined } {
  const n = placeholders(template);
  if (codeOf(newTarget) !== code) {
    return { message: String(args[0] ?? ''), options: args[1] as ErrorOptions | undefined };
  }
  return {
    message: formatMessage(template, args.slice(0, n)),
    options: args[n] as ErrorOptions | undefined,
  };
}

/**
 * The root of the catalogue: every error the framework throws is a `ConductorError` with a stable
 * `code` (`CONDUCTOR_*`), so callers can branch on codes rather than messages. Entries that extend
 * a native class (`RangeError`, `TypeError`) are `instanceof ConductorError` too.
 */
export class ConductorError extends Error {
  /** Stable machine-readable code. */
  declare readonly code: string;
  /** The code of errors made with this class itself. */
  static readonly code: string = 'CONDUCTOR_ERROR';
  /** The message template of this class. */
  static readonly template: string = '%s';

  constructor(...args: [message?: unknown, options?: ErrorOptions]) {
    const { message, options } = messageFor(new.target, 'CONDUCTOR_ERROR', '%s', args);
    super(message, options);
    this.code = codeOf(new.target);
    this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== ConductorError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[kCatalogued] === true
    );
  }
}
Object.defineProperty(ConductorError.prototype, kCatalogued, { value: true });
register({ code: 'CONDUCTOR_ERROR', name: 'ConductorError', base: 'Error', message: '%s' });

/** A mistake in the catalogue itself (a malformed code, a code defined twice): a bug, at load time. */
export class CatalogueError extends defineError(
  'CONDUCTOR_CATALOGUE',
  'CatalogueError',
  ConductorError,
  '%s',
) {}

/**
 * Defines one catalogue entry and returns its class; declare the public class as
 * `export class Name extends defineError('CODE', 'Name', Base, 'template %s') {}` (add fields and a
 * narrower constructor as needed; the constructor's arguments fill the template's `%s` in order,
 * optionally followed by `ErrorOptions`). `base` is a class of the catalogue or a native error
 * class; instances are `instanceof` both it and {@link ConductorError}.
 */
export function defineError<B extends ErrorBase, M extends string>(
  code: string,
  name: string,
  base: B,
  message: M,
): CatalogueClass<B, M> {
  if (!/^CONDUCTOR_[A-Z0-9_]+$/.test(code))
    throw new CatalogueError(`error codes look like CONDUCTOR_NAME, not ${code}`);
  register({ code, name, base: base.name, message });
  const fromCatalogue = (base.prototype as Record<symbol, unknown>)[kCatalogued] === true;
  let cls: ErrorBase;
  if (fromCatalogue) {
    const Base = base as unknown as new (...args: unknown[]) => Error;
    cls = class extends Base {
      constructor(...args: unknown[]) {
        const m = messageFor(new.target, code, message, args);
        super(m.message, m.options);
      }
    };
  } else {
    // A native base: the code and name are set here, the brand on the prototype.
    const Base = base as unknown as new (message?: string, options?: ErrorOptions) => Error;
    cls = class extends Base {
      declare readonly code: string;
      constructor(...args: unknown[]) {
        const m = messageFor(new.target, code, message, args);
        super(m.message, m.options);
        this.code = codeOf(new.target);
        this.name = new.target.name;
      }
    };
    Object.defineProperty(cls.prototype, kCatalogued, { value: true });
  }
  Object.defineProperty(cls, 'code', { value: code });
  Object.defineProperty(cls, 'template', { value: message });
  return cls as unknown as CatalogueClass<B, M>;
}

/** Every entry defined so far (the framework's and those of the layers loaded), sorted by code. */
export function errorCatalogue(): readonly ErrorEntry[] {
  return [...rows.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** True when `err` is an error of the catalogue with the given code. */
export function hasErrorCode(err: unknown, code: string): boolean {
  return err instanceof ConductorError && err.code === code;
}
