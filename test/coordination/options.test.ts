/** `[coordination]`: defaults, ranges, the heartbeat-shorter-than-TTL rule, the masked URL. */
import { describe, expect, it } from 'vitest';
import { createConfig } from '../../src/config/index.js';
import { coordinationOptions } from '../../src/coordination/index.js';
import { ConfigValidationError, InvalidOptionError } from '../../src/core/index.js';
import { coordinationFromConfig } from '../../src/service/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const config = () => createConfig({ options: [coordinationOptions], logger: captureLogs().logger });

describe('[coordination] options', () => {
  it('defaults: memory://, a 15 s TTL, 5 s heartbeats, required at start', async () => {
    const conf = config();
    await conf.load({ env: {} });
    expect(coordinationFromConfig(conf)).toEqual({
      backendUrl: 'memory://',
      leaseTtl: 15,
      heartbeatInterval: 5,
      requiredAtStart: true,
    });
  });

  it('refuses a heartbeat that is not shorter than the TTL, naming both options', async () => {
    const conf = config();
    const err = await conf
      .load({
        env: {},
        cli: { 'coordination.lease_ttl': '2', 'coordination.heartbeat_interval': '2' },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(String((err as Error).message)).toMatch(
      /heartbeat_interval.*must be less than.*lease_ttl/,
    );
    expect(() => coordinationOptions.parse({ lease_ttl: 1, heartbeat_interval: 3 })).toThrow(
      InvalidOptionError,
    );
  });

  it('masks the backend password in logs and dumps', async () => {
    const conf = config();
    await conf.load({
      env: {},
      cli: { 'coordination.backend_url': 'redis://:s3cret@10.0.0.5:6379/0' },
    });
    expect(conf.toLog()['coordination']?.['backend_url']).toBe('redis://:***@10.0.0.5:6379/0');
    expect(JSON.stringify(conf.dump())).not.toContain('s3cret');
  });
});
