import { maskUrlPassword } from '../../core/index.js';
import { InvalidVimError, InvalidVimStatusError } from '../errors.js';

/** The states of a VIM, as Tacker's NFVO plugin names them. */
export const VIM_STATUSES = [
  'PENDING',
  'REGISTERING',
  'REACHABLE',
  'UNREACHABLE',
  'ERROR',
] as const;

/** One of {@link VIM_STATUSES}. */
export type VimStatus = (typeof VIM_STATUSES)[number];

/** True when `value` is one of {@link VIM_STATUSES}. */
export function isVimStatus(value: unknown): value is VimStatus {
  return typeof value === 'string' && (VIM_STATUSES as readonly string[]).includes(value);
}

/** A registered Virtual Infrastructure Manager. */
export interface Vim {
  id: string;
  name: string;
  /** `openstack` unless given. */
  type: string;
  /** Where the VIM is reached: `http(s)://...` or `tcp://host:port`. */
  authUrl: string;
  description: string;
  tenantId: string | null;
  status: VimStatus;
  isDefault: boolean;
  createdAt: Date;
  /** `null` until the first status update. */
  updatedAt: Date | null;
}

/** What `registerVim` takes. */
export interface RegisterVimInput {
  /** At most 64 characters; a random UUID when absent. */
  id?: string;
  name: string;
  authUrl: string;
  type?: string;
  description?: string;
  tenantId?: string | null;
  /** `PENDING` when absent. */
  status?: VimStatus;
}

/** An `events` row: one status change of a resource. */
export interface VimEvent {
  id: number;
  resourceId: string;
  resourceType: string;
  resourceState: string;
  eventType: string;
  eventDetails: string;
  timestamp: Date;
}

/** Longest VIM id accepted (Tacker's ids are 36-character UUIDs). */
export const MAX_VIM_ID_LENGTH = 64;

const AUTH_PROTOCOLS = new Set(['http:', 'https:', 'tcp:']);

/** Checks an auth URL: `http(s)://host[...]` or `tcp://host:port`. Returns the problem, if any. */
function authUrlProblem(authUrl: unknown): string | undefined {
  if (typeof authUrl !== 'string' || authUrl.trim() === '')
    return 'authUrl must be a non-empty URL';
  let url: URL;
  try {
    url = new URL(authUrl);
  } catch {
    return `authUrl '${maskUrlPassword(authUrl)}' is not a URL`;
  }
  const shown = maskUrlPassword(authUrl);
  if (!AUTH_PROTOCOLS.has(url.protocol))
    return `authUrl '${shown}' must use http://, https:// or tcp://`;
  if (url.hostname === '') return `authUrl '${shown}' has no host`;
  if (url.protocol === 'tcp:' && url.port === '')
    return `authUrl '${shown}' needs a port (tcp://host:port)`;
  return undefined;
}

/** The checked fields of a registration, with defaults applied (everything but id and times). */
export type CheckedVimInput = Omit<Vim, 'id' | 'isDefault' | 'createdAt' | 'updatedAt'> & {
  id: string | undefined;
};

/** Validates a registration before anything is written. */
export function checkVimInput(input: RegisterVimInput): CheckedVimInput {
  const { id, name } = input;
  if (id !== undefined && (typeof id !== 'string' || id === '' || id.length > MAX_VIM_ID_LENGTH))
    throw new InvalidVimError(
      `VIM id must be a non-empty string of at most ${MAX_VIM_ID_LENGTH} characters`,
    );
  if (typeof name !== 'string' || name.trim() === '')
    throw new InvalidVimError('VIM name must be a non-empty string');
  const problem = authUrlProblem(input.authUrl);
  if (problem !== undefined) throw new InvalidVimError(`VIM '${name}': ${problem}`);
  const status = input.status ?? 'PENDING';
  if (!isVimStatus(status)) throw new InvalidVimStatusError(status, VIM_STATUSES);
  return {
    id,
    name,
    type: input.type ?? 'openstack',
    authUrl: input.authUrl,
    description: input.description ?? '',
    tenantId: input.tenantId ?? null,
    status,
  };
}
