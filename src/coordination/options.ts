import { defineOptions, opt } from '../config/index.js';

/** `[coordination]`: the backend that makes replicas agree (leases, membership). */
export const coordinationOptions = defineOptions({
  group: 'coordination',
  label: 'coordination option',
  options: {
    backend_url: opt.string({
      default: 'memory://',
      secret: 'url',
      help: "The coordination backend: 'memory://' (one process), 'redis://[:password@]host:port[/db]' or 'postgresql://user[:password]@host:port/database'. Replicas that must not run a task twice share one backend.",
    }),
    lease_ttl: opt.float({
      default: 15,
      min: 0.05,
      help: 'Seconds a lease or a membership lasts without a heartbeat: a crashed replica loses its leases and leaves its groups within this time.',
    }),
    heartbeat_interval: opt.float({
      default: 5,
      min: 0.01,
      help: 'Seconds between heartbeats (lease renewals, membership refreshes, membership polls). Must be less than lease_ttl.',
    }),
    required_at_start: opt.bool({
      default: true,
      help: 'Fail the start when the backend cannot be reached; when false, start degraded (/healthz reports it, cluster tasks do not run) and keep trying.',
    }),
  },
  rules: [
    (v, say) =>
      v.heartbeat_interval < v.lease_ttl
        ? undefined
        : {
            message: `${say.ref('heartbeat_interval')} must be less than ${say.ref('lease_ttl')}`,
            options: ['heartbeat_interval', 'lease_ttl'],
          },
  ],
});
