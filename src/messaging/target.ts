/** The fields of a {@link Target}. */
export interface TargetFields {
  /** Exchange; default the transport's control exchange (`tacker` for the conductor). */
  exchange?: string | undefined;
  /** Topic: the shared work queue's name. */
  topic?: string | undefined;
  /** Namespace of the endpoint's methods; default none. */
  namespace?: string | undefined;
  /** `major.minor` API version an endpoint implements, or a message asks for. */
  version?: string | undefined;
  /** Server name: targets the per-host queue `topic.server`. */
  server?: string | undefined;
  /** Cast to every server listening on the topic. */
  fanout?: boolean | undefined;
}

/**
 * Where a message goes, or what a server listens on (oslo.messaging's `Target`). Immutable; `with()`
 * copies it with overrides.
 */
export class Target implements TargetFields {
  readonly exchange: string | undefined;
  readonly topic: string | undefined;
  readonly namespace: string | undefined;
  readonly version: string | undefined;
  readonly server: string | undefined;
  readonly fanout: boolean | undefined;

  constructor(fields: TargetFields = {}) {
    this.exchange = fields.exchange;
    this.topic = fields.topic;
    this.namespace = fields.namespace;
    this.version = fields.version;
    this.server = fields.server;
    this.fanout = fields.fanout;
    Object.freeze(this);
  }

  /** A copy with the given fields replaced (`undefined` values keep the current field). */
  with(overrides: TargetFields): Target {
    const pick = <K extends keyof TargetFields>(k: K): TargetFields[K] =>
      overrides[k] !== undefined ? overrides[k] : this[k];
    return new Target({
      exchange: pick('exchange'),
      topic: pick('topic'),
      namespace: pick('namespace'),
      version: pick('version'),
      server: pick('server'),
      fanout: pick('fanout'),
    });
  }

  /** True when every field is equal. */
  equals(other: Target): boolean {
    return (
      this.exchange === other.exchange &&
      this.topic === other.topic &&
      this.namespace === other.namespace &&
      this.version === other.version &&
      this.server === other.server &&
      this.fanout === other.fanout
    );
  }

  toJSON(): TargetFields {
    const out: TargetFields = {};
    for (const k of ['exchange', 'topic', 'namespace', 'version', 'server', 'fanout'] as const) {
      if (this[k] !== undefined) (out as Record<string, unknown>)[k] = this[k];
    }
    return out;
  }

  toString(): string {
    return `<Target ${Object.entries(this.toJSON())
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ')}>`;
  }
}
