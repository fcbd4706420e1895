import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as core from '../src/core/index.js';
import * as periodic from '../src/periodic/index.js';
import * as looping from '../src/looping/index.js';
import * as messaging from '../src/messaging/index.js';
import * as service from '../src/service/index.js';
import * as config from '../src/config/index.js';

describe('package faces', () => {
  it('the root re-exports every subpath', () => {
    for (const face of [core, periodic, looping, messaging, service, config]) {
      for (const [name, value] of Object.entries(face))
        expect((root as Record<string, unknown>)[name], name).toBe(value);
    }
  });
});
