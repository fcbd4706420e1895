/** `conductor tasks`: the periodic tasks of a manager class, without starting anything. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, listTasks } from '../../../src/cli/index.js';
import { openStore } from '../../../src/conductor/index.js';
import { emptyTaskState } from '../../../src/periodic/index.js';
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
        cron: null,
        timezone: null,
        timeout: null,
        declared: true,
      },
      {
        name: 'syncInventory',
        spacing: 60,
        runImmediately: false,
        externalProcessOk: true,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
        declared: true,
      },
      {
        name: 'purge_stale',
        spacing: 120,
        runImmediately: false,
        externalProcessOk: false,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
        declared: true,
      },
      {
        name: 'added_later',
        spacing: 30,
        runImmediately: false,
        externalProcessOk: false,
        placement: 'every-replica',
        cron: null,
        timezone: null,
        timeout: null,
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
        cron: null,
        timezone: null,
        timeout: null,
        declared: true,
      },
    ]);
  });

  it('--state: what the database remembers of each task, per scope: last run, next due, lateness, counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conductor-tasks-state-'));
    try {
      // An absolute path: sqlite:////tmp/...
      const url = `sqlite:///${join(dir, 'c.db')}`;
      const store = await openStore(url);
      const cls = InventoryManager.name;
      await store.taskStates.save({
        ...emptyTaskState({ service: 'INVENTORY', task: `${cls}.checkVims`, scope: 'node-1' }),
        lastScheduled: 1_800_000_000,
        lastStart: 1_800_000_000.25,
        lastEnd: 1_800_000_001,
        outcome: 'ok',
        runCount: 42,
        missedCount: 3,
        skippedCount: 1,
      });
      await store.taskStates.save({
        ...emptyTaskState({ service: 'OTHER', task: `${cls}.checkVims`, scope: 'node-1' }),
        runCount: 1,
      });
      await store.close();
      const r = await cli([
        'tasks',
        '--manager',
        `${MANAGERS}#InventoryManager`,
        '--state',
        '--topic',
        'INVENTORY',
        '--format',
        'json',
        '--set',
        `database.connection=${url}`,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([
        {
          task: `${cls}.checkVims`,
          scope: 'node-1',
          lastRun: '2027-01-15T08:00:00.250Z',
          nextDue: '2027-01-15T08:00:10.000Z',
          lateness: 0.25,
          overdue: expect.any(Number),
          outcome: 'ok',
          error: null,
          runs: 42,
          missed: 3,
          skipped: 1,
          timeouts: 0,
        },
      ]);
      const t = await cli([
        'tasks',
        '--manager',
        `${MANAGERS}#InventoryManager`,
        '--state',
        '--topic',
        'NOTHING',
        '--set',
        `database.connection=${url}`,
      ]);
      expect(t.stdout).toMatch(/^no stored task states for .*InventoryManager on topic NOTHING/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
