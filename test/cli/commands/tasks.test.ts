/** `conductor tasks`: the periodic tasks of a manager class, without starting anything. */
import { describe, expect, it } from 'vitest';
import { EXIT, listTasks } from '../../../src/cli/index.js';
import { InventoryManager, QuietManager } from '../../fixtures/cli/managers.js';
import { cli, MANAGERS } from '../helpers.js';

describe('conductor tasks', () => {
  it('a table: name, spacing, run immediately, external ok, placement', async () => {
    const r = await cli(['tasks', '--manager', `${MANAGERS}#InventoryManager`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ['NAME', 'SPACING', 'RUN IMMEDIATELY', 'EXTERNAL OK', 'PLACEMENT'],
      ['checkVims', '10', 'yes', 'no', 'every-replica'],
      ['syncInventory', '60', 'no', 'yes', 'every-replica'],
      ['purge_stale', '120', 'no', 'no', 'every-replica'],
      ['added_later (added by the constructor)', '30', 'no', 'no', 'every-replica'],
    ]);
  });

  it('--format json', async () => {
    const r = await cli(['tasks', '--manager', `${MANAGERS}#InventoryManager`, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        name: 'checkVims',
        spacing: 10,
        runImmediately: true,
        externalProcessOk: false,
        placement: 'every-replica',
        declared: true,
      },
      {
        name: 'syncInventory',
        spacing: 60,
        runImmediately: false,
        externalProcessOk: true,
        placement: 'every-replica',
        declared: true,
      },
      {
        name: 'purge_stale',
        spacing: 120,
        runImmediately: false,
        externalProcessOk: false,
        placement: 'every-replica',
        declared: true,
      },
      {
        name: 'added_later',
        spacing: 30,
        runImmediately: false,
        externalProcessOk: false,
        placement: 'every-replica',
        declared: false,
      },
    ]);
  });

  it('the order and names are those of the class registry (periodicTaskNames)', () => {
    const rows = listTasks(InventoryManager);
    expect(rows.filter((r) => r.declared).map((r) => r.name)).toEqual(
      InventoryManager.periodicTaskNames(),
    );
  });

  it('a manager without tasks', async () => {
    const r = await cli(['tasks', '--manager', `${MANAGERS}#QuietManager`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('QuietManager has no periodic tasks\n');
    const j = await cli(['tasks', '--manager', `${MANAGERS}#QuietManager`, '--format', 'json']);
    expect(j.stdout).toBe('[]\n');
    expect(listTasks(QuietManager)).toEqual([]);
  });

  it('nothing runs: no task is called while listing', async () => {
    const r = await cli(['tasks', '--manager', `${MANAGERS}#InventoryManager`]);
    expect(r.code).toBe(0);
    expect(InventoryManager.runs).toBe(0);
  });

  it('without --manager lists the conductor: the VIM monitor at [vim_monitor] interval', async () => {
    const r = await cli(['tasks', '--format', 'json', '--set', 'vim_monitor.interval=45']);
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        name: 'vim_monitor',
        spacing: 45,
        runImmediately: true,
        externalProcessOk: false,
        placement: 'sharded',
        declared: true,
      },
    ]);
  });
});
