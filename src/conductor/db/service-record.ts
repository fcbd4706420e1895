/** Who sends a heartbeat: oslo.service's (host, binary, topic). */
export interface ServiceReport {
  host: string;
  binary: string;
  topic: string;
}

/** A `services` row: the heartbeat state of one (host, binary). */
export interface ServiceRecord extends ServiceReport {
  id: number;
  /** Heartbeats received so far. */
  reportCount: number;
  disabled: boolean;
  createdAt: Date;
  /** Time of the last heartbeat after the first; `null` after only one. */
  updatedAt: Date | null;
}

/**
 * Whether a service counts as up: its last heartbeat (`updatedAt`, or `createdAt` before the second
 * one) is at most `serviceDownTime` seconds away from `now`. As in Nova's servicegroup DB driver the
 * distance is absolute: a heartbeat dated far in the future (a host whose clock is wrong) does not
 * make a service look up forever. Whether it is `disabled` is not considered.
 */
export function isServiceUp(record: ServiceRecord, now: Date, serviceDownTime: number): boolean {
  const last = record.updatedAt ?? record.createdAt;
  return Math.abs(now.getTime() - last.getTime()) <= serviceDownTime * 1000;
}
