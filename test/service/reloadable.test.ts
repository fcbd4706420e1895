import { describe, expect, it } from 'vitest';

describe('ReloadableService', () => {
  it('rebuilds the service from its factory on reset, so new options take effect', async () => {
    const { ReloadableService } = await import('../../src/service/index.js');
    const built: string[] = [];
    let version = 'v1';
    const fake = (v: string) => ({
      start: async () => void built.push(`start ${v}`),
      stop: async () => void built.push(`stop ${v}`),
      wait: async () => undefined,
      reset: () => void built.push(`reset ${v}`),
    });
    const s = await ReloadableService.create(() => fake(version));
    await s.start();
    version = 'v2';
    await s.stop();
    await s.wait();
    await s.reset();
    await s.start();
    expect(built).toEqual(['start v1', 'stop v1', 'reset v1', 'start v2']);
  });
});
