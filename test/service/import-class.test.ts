import { describe, expect, it } from 'vitest';
import { ImportClassError } from '../../src/core/index.js';
import { importClass } from '../../src/service/import-class.js';
import { Manager } from '../../src/service/manager.js';

describe('importClass', () => {
  it('loads module#Class and module:Class from packages and files', async () => {
    const { EventEmitter } = await import('node:events');
    expect(await importClass('node:events#EventEmitter')).toBe(EventEmitter);
    expect(await importClass('../../src/service/manager.ts#Manager', import.meta.dirname)).toBe(
      Manager,
    );
    expect(
      await importClass('./manager.ts:Manager', `${import.meta.dirname}/../../src/service`),
    ).toBe(Manager);
  });

  it('names what is missing', async () => {
    await expect(importClass('./nope.js#X', import.meta.dirname)).rejects.toThrow(
      /Cannot import module '.\/nope.js'/,
    );
    await expect(
      importClass('../../src/service/manager.ts#Nope', import.meta.dirname),
    ).rejects.toThrow(
      /Module '..\/..\/src\/service\/manager.ts' has no export 'Nope'; its classes and functions: Manager/,
    );
    await expect(importClass('node:os#hostname')).rejects.toThrow(/is not a class/);
    await expect(importClass('node:os#EOL')).rejects.toThrow(/is not a class \(it is string\)/);
    await expect(importClass('')).rejects.toBeInstanceOf(ImportClassError);
    await expect(importClass('#X')).rejects.toThrow(/No module/);
  });
});
