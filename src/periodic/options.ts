import { defineOptions, opt } from '../config/index.js';

/** `[DEFAULT]` options of oslo.service's `periodic_task` module. */
export const periodicOptions = defineOptions({
  group: 'DEFAULT',
  label: 'periodic option',
  options: {
    run_external_periodic_tasks: opt.bool({
      default: true,
      help: 'Some periodic tasks can be run in a separate process. Should we run them here?',
    }),
  },
});
