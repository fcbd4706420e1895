import { defineOptions, opt } from '../config/index.js';

/** `[ops]`: the operations HTTP endpoint, and its watch on the event loop. */
export const opsOptions = defineOptions({
  group: 'ops',
  label: 'ops option',
  options: {
    listen: opt.string({
      default: '127.0.0.1:9410',
      help: "host:port of the operations HTTP endpoint (/healthz, /metrics, /tasks, and the dashboard at /); '0' or empty disables it. Without a host it listens on 127.0.0.1.",
    }),
    allow_actions: opt.bool({
      default: false,
      help: 'Let the dashboard (GET /) run a periodic task now, or disable and enable it: POST /actions/tasks/<name>/run|disable|enable, from the page only (a custom header and a same-origin check). False: the routes do not exist (404) and the page shows no buttons. Anyone who can reach the endpoint can use them: keep it on a trusted address.',
    }),
    stall_threshold: opt.float({
      default: 0.5,
      min: 0,
      exclusiveMin: true,
      max: 3600,
      help: 'Seconds the event loop may be blocked before it counts as a stall: logged at WARNING with the periodic task that was running, counted in event_loop_stalls_total.',
    }),
    stall_degraded_after: opt.int({
      default: 3,
      min: 1,
      max: 10000,
      help: 'Stalls within stall_window after which /healthz reports the event_loop check failing (sustained stalls), until stall_window seconds pass without a stall.',
    }),
    stall_window: opt.float({
      default: 60,
      min: 0,
      exclusiveMin: true,
      max: 86400,
      help: 'Seconds in which stall_degraded_after stalls degrade /healthz, and the quiet period after which it recovers.',
    }),
  },
});
