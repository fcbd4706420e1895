/**
 * `conductor-ts/coordination`: what makes replicas agree, on an existing backend (memory, Redis,
 * PostgreSQL) as tooz does — leases with fencing tokens and abort signals, group membership with
 * heartbeats, and a consistent hash ring to share keys. Imports only `config` and `core`.
 * @packageDocumentation
 */
export {
  getCoordinator,
  Coordinator,
  type CoordinatorOptions,
  type CoordinatorStats,
  type Candidacy,
} from './coordinator.js';
export type { Lease } from './lease.js';
export { Partition, type MembershipEvent, type PartitionMembership } from './partition.js';
export { HashRing, type HashRingOptions } from './hash-ring.js';
export type { CoordinationBackend, LeaseRecord, BackendOptions } from './backend.js';
export { MemoryBackend, MemorySpace, memorySpace, forgetMemorySpace } from './memory.js';
export { coordinationOptions } from './options.js';
export { parseCoordinationUrl, type CoordinationUrl, type CoordinationScheme } from './url.js';
export {
  CoordinationUnavailable,
  InvalidCoordinationOption,
  InvalidCoordinationUrl,
  LeaseLostError,
  UnsupportedCoordinationBackend,
} from '../core/errors.js';
