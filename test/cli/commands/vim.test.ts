/** `conductor vim register|list|show` and `conductor services` on a SQLite file of the test's own. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/conductor/index.js';
import { EXIT } from '../../../src/cli/index.js';
import { cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'conductor-cli-vim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const db = ['--set', 'database.connection=sqlite:///state/conductor.db'];
const run = (...argv: string[]) => cli([...argv, ...db], { cwd: dir });

describe('conductor vim', () => {
  it('registers VIMs (relative SQLite path under the working directory), lists and shows them', async () => {
    const a = await run(
      'vim',
      'register',
      '--name',
      'site-a',
      '--auth-url',
      'http://a:5000/v3',
      '--id',
      'vim-a',
    );
    expect(a).toMatchObject({ code: EXIT.OK, stdout: 'vim-a\n', stderr: '' });
    const b = await run(
      'vim',
      'register',
      '--name',
      'site-b',
      '--auth-url',
      'tcp://b:22',
      '--format',
      'json',
    );
    expect(b.code).toBe(EXIT.OK);
    const created = JSON.parse(b.stdout) as { id: string; status: string };
    expect(created).toMatchObject({ status: 'PENDING', name: 'site-b' });

    const store = await openStore(`sqlite:///${join(dir, 'state/conductor.db')}`);
    await store.updateVimStatus('vim-a', 'REACHABLE');
    await store.close();

    const list = await run('vim', 'list');
    expect(list.code).toBe(EXIT.OK);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATUS\s+AUTH URL\s+UPDATED$/);
    expect(list.stdout).toMatch(/vim-a\s+site-a\s+REACHABLE\s+http:\/\/a:5000\/v3/);
    expect(list.stdout).toMatch(new RegExp(`${created.id}\\s+site-b\\s+PENDING\\s+tcp://b:22`));

    const show = await run('vim', 'show', 'vim-a', '--format', 'json');
    expect(JSON.parse(show.stdout)).toMatchObject({
      id: 'vim-a',
      status: 'REACHABLE',
      events: [{ resourceState: 'REACHABLE', eventType: 'MONITOR' }],
    });
    const text = await run('vim', 'show', 'vim-a');
    expect(text.stdout).toMatch(/status\s+REACHABLE/);
    expect(text.stdout).toMatch(/REACHABLE\s+MONITOR/);
  });

  it('refuses a duplicate name or a bad auth URL with one line and status 1, writing nothing', async () => {
    const dup = await run('vim', 'register', '--name', 'site-a', '--auth-url', 'http://x:5000/v3');
    expect(dup.code).toBe(EXIT.FAILURE);
    expect(dup.stderr).toMatch(/^conductor: A VIM with name 'site-a' already exists\n$/);
    const bad = await run('vim', 'register', '--name', 'site-c', '--auth-url', 'not a url');
    expect(bad.code).toBe(EXIT.FAILURE);
    expect(bad.stderr).toMatch(/^conductor: .*auth/i);
    const list = JSON.parse((await run('vim', 'list', '--format', 'json')).stdout) as unknown[];
    expect(list).toHaveLength(2);
  });

  it('show of an unknown VIM says so and exits 1', async () => {
    const r = await run('vim', 'show', 'nope');
    expect(r).toMatchObject({
      code: EXIT.FAILURE,
      stdout: '',
      stderr: 'conductor: VIM nope could not be found\n',
    });
  });

  it('a missing required option is a usage error', async () => {
    const r = await run('vim', 'register', '--name', 'x');
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/--auth-url/);
  });
});

describe('conductor services', () => {
  it('lists heartbeats with up/down by service_down_time', async () => {
    expect((await run('services')).stdout).toBe('no services have reported yet\n');
    const store = await openStore(`sqlite:///${join(dir, 'state/conductor.db')}`);
    await store.reportService({ host: 'ctl-1', binary: 'conductor', topic: 'TACKER_CONDUCTOR' });
    await store.reportService(
      { host: 'ctl-2', binary: 'conductor', topic: 'TACKER_CONDUCTOR' },
      new Date(Date.now() - 120_000),
    );
    await store.close();
    const rows = JSON.parse((await run('services', '--format', 'json')).stdout) as {
      host: string;
      state: string;
    }[];
    expect(rows.map((r) => [r.host, r.state])).toEqual([
      ['ctl-1', 'up'],
      ['ctl-2', 'down'],
    ]);
    const wide = JSON.parse(
      (await run('services', '--format', 'json', '--set', 'service_down_time=600')).stdout,
    ) as { state: string }[];
    expect(wide.map((r) => r.state)).toEqual(['up', 'up']);
    const text = (await run('services')).stdout;
    expect(text).toMatch(/conductor\s+ctl-1\s+TACKER_CONDUCTOR\s+up\s+1/);
  });
});
