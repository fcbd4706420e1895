/**
 * `conductor-ts/core`: clocks, the error catalogue, logging and the request context. Imports nothing
 * else of the framework.
 * @packageDocumentation
 */
export { type Clock, type RealClockOptions, RealClock, realClock } from './clock.js';
export { VirtualClock } from './virtual-clock.js';
export { IndexedHeap, type HeapNode } from './heap.js';
export { MASK, maskUrlPassword } from './mask.js';
export * from './errors.js';
export { FRAMEWORK_BASE, isFrameworkPrototype } from './rpc-hidden.js';
export {
  type Logger,
  createLogger,
  getLogger,
  rootLogger,
  setRootLogger,
  REDACTED_PATHS,
} from './logging.js';
export {
  RequestContext,
  type RequestContextDict,
  type RequestContextFields,
  getAdminContext,
  pythonTimestamp,
} from './context.js';
