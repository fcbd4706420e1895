import { InvalidMessageVersion, InvalidVersion } from '../core/index.js';

const parsed = new Map<string, readonly [number, number, number]>();

/** Parses `major.minor[.revision]`; non-integer parts are an error. */
export function parseVersion(version: string): readonly [number, number, number] {
  let v = parsed.get(version);
  if (v === undefined) {
    v = parse(version);
    if (parsed.size < 1024) parsed.set(version, v);
  }
  return v;
}

function parse(version: string): readonly [number, number, number] {
  const parts = version.split('.');
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidVersion(version);
  }
  const [major = 0, minor = 0, rev = 0] = parts.map(Number);
  return [major, minor, rev];
}

/**
 * oslo's `is_compatible(implemented, requested)`: the same major, and the requested minor (then
 * revision) not above the implemented one. No implemented version accepts everything; no requested
 * version is refused.
 */
export function isCompatible(
  implemented: string | null | undefined,
  requested: string | null | undefined,
): boolean {
  if (implemented === null || implemented === undefined) return true;
  if (requested === null || requested === undefined) return false;
  const [iMaj, iMin, iRev] = parseVersion(implemented);
  const [rMaj, rMin, rRev] = parseVersion(requested);
  if (iMaj !== rMaj) return false;
  if (rMin !== iMin) return rMin < iMin;
  return rRev <= iRev;
}

/** A call/cast version must have integer major and minor (`RPCClient.prepare` check). */
export function checkMessageVersion(version: string): void {
  if (!/^\d+\.\d+(\.\d+)?$/.test(version)) {
    throw new InvalidMessageVersion(version);
  }
}
