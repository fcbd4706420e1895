import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../build.js';
import { cli } from '../helpers.js';

describe('conductor config sample', () => {
  it('is what etc/conductor.conf.sample holds (regenerate: conductor config sample > etc/conductor.conf.sample)', async () => {
    const r = await cli(['config', 'sample'], { env: {} });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'etc/conductor.conf.sample'), 'utf8'));
  });

  it('documents every section, each option with its default, secrets marked', async () => {
    const { stdout } = await cli(['config', 'sample'], { env: {} });
    for (const section of ['DEFAULT', 'database', 'ops', 'oslo_messaging_rabbit', 'vim_monitor'])
      expect(stdout).toContain(`[${section}]\n`);
    expect(stdout).toContain('#interval = 30\n');
    expect(stdout).toContain('#listen = 127.0.0.1:9410\n');
    expect(stdout).toContain('#service_down_time = 60\n');
    expect(stdout).toContain('#connection = sqlite:///data/conductor.db\n');
    expect(stdout).toMatch(
      /# Type: string \(secret: masked in logs\)\n#transport_url = memory:\/\//,
    );
  });
});
