/**
 * `conductor-ts`: everything from the subpaths `core`, `periodic`, `looping`, `messaging`, `coordination`, `service` and `config`.
 * @packageDocumentation
 */
export * from './core/index.js';
export * from './periodic/index.js';
export * from './looping/index.js';
export * from './messaging/index.js';
export * from './coordination/index.js';
export * from './service/index.js';
export * from './config/index.js';
