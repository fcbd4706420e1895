/**
 * `conductor-ts/looping`: oslo.service's looping calls (fixed interval, with timeout, dynamic,
 * back-off) and the retry wrapper/decorator. Imports only core.
 * @packageDocumentation
 */
export {
  LoopingCallBase,
  type BaseStartOptions,
  type IdleFor,
  type LoopingCallOptions,
} from './base.js';
export {
  FixedIntervalLoopingCall,
  FixedIntervalWithTimeoutLoopingCall,
  type FixedIntervalStartOptions,
  type FixedIntervalWithTimeoutStartOptions,
} from './fixed.js';
export { DynamicLoopingCall, type DynamicStartOptions } from './dynamic.js';
export {
  BackOffLoopingCall,
  gauss,
  type BackOffLoopingCallOptions,
  type BackOffStartOptions,
} from './backoff.js';
export { retry, type ErrorClass, type RetryOptions, type RetryWrapper } from './retry.js';
export {
  LoopingCallDone,
  LoopingCallTimeOut,
  DynamicIntervalMissingError,
  InvalidLoopingOption,
  InvalidLoopingResult,
  UnknownLoopingOption,
} from '../core/index.js';
