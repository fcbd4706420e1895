import { defineOptions, opt } from '../config/index.js';

/** `[ops]`: the operations HTTP endpoint. */
export const opsOptions = defineOptions({
  group: 'ops',
  label: 'ops option',
  options: {
    listen: opt.string({
      default: '127.0.0.1:9410',
      help: "host:port of the operations HTTP endpoint (/healthz, /metrics, /tasks); '0' or empty disables it. Without a host it listens on 127.0.0.1.",
    }),
  },
});
