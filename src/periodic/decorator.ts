import { getLogger, InvalidPeriodicTaskArg, type RequestContext } from '../core/index.js';
import { type PeriodicTaskOptions, validateTaskOptions } from './task-options.js';
import type { TaskRun } from './placement.js';
import { makeTaskSpec, type PeriodicTaskFn, type TaskSpec } from './task-spec.js';

// Standard decorator metadata (TC39) needs Symbol.metadata, which Node 20 lacks. TypeScript and
// esbuild both fall back to this well-known registry symbol, so define it before any class is built.
if (typeof (Symbol as { metadata?: symbol }).metadata !== 'symbol') {
  Object.defineProperty(Symbol, 'metadata', { value: Symbol.for('Symbol.metadata') });
}

const kTasks = Symbol('conductor.periodicTasks');

type Metadata = Record<PropertyKey, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any receiver class
type Method = (this: any, ctx: RequestContext, run: TaskRun) => unknown;

/**
 * The registry of one class: its own array once it declares a task (a copy of the inherited list
 * plus its own, in declaration order), so a subclass never changes its parent.
 */
function ownTaskList(metadata: Metadata): TaskSpec[] {
  if (!Object.hasOwn(metadata, kTasks)) {
    const inherited = (metadata[kTasks] as TaskSpec[] | undefined) ?? [];
    metadata[kTasks] = [...inherited];
  }
  return metadata[kTasks] as TaskSpec[];
}

/** The periodic tasks registered on a class (own and inherited), in registration order. */
export function classTasks(cls: object): readonly TaskSpec[] {
  const metadata = (cls as { [Symbol.metadata]?: Metadata | null })[Symbol.metadata];
  return (metadata?.[kTasks] as TaskSpec[] | undefined) ?? [];
}

function register(options: PeriodicTaskOptions | undefined) {
  return <F extends Method>(method: F, context: ClassMethodDecoratorContext<unknown, F>): F => {
    const where = `@periodicTask on ${String(context.name)}`;
    if (context.kind !== 'method' || context.static) {
      throw new InvalidPeriodicTaskArg(`${where}: only instance methods can be periodic tasks`);
    }
    const opts = validateTaskOptions(options, where);
    if (opts.name === undefined && typeof context.name === 'symbol') {
      throw new InvalidPeriodicTaskArg(`${where}: a symbol-named method needs the name option`);
    }
    if (context.metadata === undefined) {
      throw new InvalidPeriodicTaskArg(
        `${where}: decorator metadata is unavailable in this runtime`,
      );
    }
    const name = opts.name ?? String(context.name);
    const spec = makeTaskSpec(
      method as unknown as PeriodicTaskFn,
      name,
      opts,
      getLogger('periodic'),
    );
    if (spec) ownTaskList(context.metadata as Metadata).push(spec);
    return method;
  };
}

/**
 * Marks a method as a periodic task, registered on its class when the class is defined. Usable bare
 * (`@periodicTask`), empty (`@periodicTask()`) and with options (`@periodicTask({ spacing: 30 })`).
 * The method is called as `method(ctx)`, may be async, and is skipped (with an INFO log) when its
 * spacing is negative or it is disabled. Unknown options throw {@link InvalidPeriodicTaskArg}.
 */
export function periodicTask<F extends Method>(
  method: F,
  context: ClassMethodDecoratorContext<unknown, F>,
): F;
export function periodicTask(
  options?: PeriodicTaskOptions,
): <F extends Method>(method: F, context: ClassMethodDecoratorContext<unknown, F>) => F;
export function periodicTask(
  first?: PeriodicTaskOptions | Method,
  context?: ClassMethodDecoratorContext,
): unknown {
  if (typeof first === 'function') {
    if (context === undefined || typeof context !== 'object') {
      throw new InvalidPeriodicTaskArg(
        '@periodicTask: expected options object or to decorate a method',
      );
    }
    return register(undefined)(first, context as ClassMethodDecoratorContext<unknown, Method>);
  }
  // Validate now as well, so a bad option fails even if the decorator is never applied.
  validateTaskOptions(first, '@periodicTask');
  return register(first);
}
