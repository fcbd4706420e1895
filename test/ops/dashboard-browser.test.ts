/// <reference lib="dom" />
/**
 * The ops dashboard in a real browser: headless Chromium (Debian's, driven by playwright-core)
 * against a real conductor (`node dist/src/cli/main.js run`, memory:// transport, SQLite in a temp
 * dir). The tables fill, follow a VIM's status change without a reload, escape what they show, fit
 * a phone's width; the screenshot is a real one; actions appear only with `[ops] allow_actions`.
 * Under CI=true Chromium is required; elsewhere the file is skipped loudly without it.
 * `CONDUCTOR_SAVE_SCREENSHOT=1` also saves the 1280×800 screenshot to docs/dashboard.png.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/conductor/index.js';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { freePort, requireService } from '../helpers/services.js';

const CHROMIUM = '/usr/bin/chromium';
const enabled = await requireService(`Chromium at ${CHROMIUM}`, existsSync(CHROMIUM));
const XSS = '<img src=x onerror="window.__pwned=1">';

interface Conductor {
  proc: ChildProcess;
  base: string;
  out: () => string;
}

const dirs: string[] = [];
const procs: ChildProcess[] = [];
let browser: Browser | undefined;

/** Starts `conductor run` on a SQLite file in `dir` and waits for its /healthz. */
async function startConductor(dir: string, set: Record<string, string>): Promise<Conductor> {
  const port = await freePort();
  const args = [join(ROOT, 'dist/src/cli/main.js'), 'run'];
  const options: Record<string, string> = {
    transport_url: `memory://dash-${port}`,
    'database.connection': 'sqlite:///conductor.db',
    report_interval: '1',
    periodic_fuzzy_delay: '0',
    'ops.listen': `127.0.0.1:${port}`,
    ...set,
  };
  for (const [k, v] of Object.entries(options)) args.push('--set', `${k}=${v}`);
  const proc = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`the conductor did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, base, out: () => out };
}

async function stop(c: Conductor): Promise<void> {
  if (c.proc.exitCode !== null) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGTERM');
  await exited;
}

/** A TCP listener standing for a VIM's endpoint (tcp:// auth URLs are probed by connecting). */
async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conductor-dashboard-'));
  dirs.push(dir);
  return dir;
}

async function newPage(width: number, height: number): Promise<Page> {
  const context = await (browser as Browser).newContext({ viewport: { width, height } });
  return context.newPage();
}

/** The cells of the table row whose first cell reads `first`, in the section headed `heading`. */
const row = (page: Page, heading: string, first: string) =>
  page
    .locator('section.card', { has: page.getByRole('heading', { name: heading, exact: true }) })
    .locator('tbody tr')
    .filter({ has: page.locator('td:first-child', { hasText: first }) });

describe.runIf(enabled)('the dashboard in Chromium', () => {
  beforeAll(async () => {
    ensureBuilt();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('fills its tables, follows a VIM going down without a reload, escapes, fits a phone', async () => {
    const dir = tempDir();
    const vimEndpoint = await listen();
    const store = await openStore(`sqlite:///${join(dir, 'conductor.db')}`);
    try {
      await store.registerVim({
        id: 'vim-a',
        name: 'site-a',
        authUrl: `tcp://127.0.0.1:${vimEndpoint.port}`,
        description: 'lab',
      });
      await store.registerVim({ id: 'vim-x', name: XSS, authUrl: 'tcp://127.0.0.1:1' });
    } finally {
      await store.close();
    }
    const conductor = await startConductor(dir, { 'vim_monitor.interval': '1' });
    try {
      const page = await newPage(1280, 800);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${conductor.base}/`);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 10_000 });
      // The tables fill: the service up, the tasks, the VIMs with their status.
      await row(page, 'Services', 'conductor').getByText('up', { exact: true }).waitFor();
      await row(page, 'Periodic tasks', 'vim_monitor').waitFor();
      await row(page, 'VIMs', 'site-a').getByText('REACHABLE', { exact: true }).waitFor();
      await row(page, 'VIMs', XSS).getByText('UNREACHABLE', { exact: true }).waitFor();
      for (const h of ['Services', 'Periodic tasks', 'Cluster', 'VIMs', 'RPC'])
        expect(await page.getByRole('heading', { name: h, exact: true }).isVisible()).toBe(true);
      // Escaped: the name is visible as text; no element was made of it, no handler ran.
      expect(await page.getByText(XSS, { exact: true }).first().isVisible()).toBe(true);
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
      // Read-only: no action button.
      expect(await page.locator('button').count()).toBe(0);
      // Live: the VIM's endpoint goes away; the page shows the new status and event, same document.
      await page.evaluate(() => ((window as { __same?: number }).__same = 1));
      await new Promise<void>((r) => vimEndpoint.server.close(() => r()));
      await row(page, 'VIMs', 'site-a')
        .getByText('UNREACHABLE', { exact: true })
        .waitFor({ timeout: 10_000 });
      const events = page
        .locator('section.card', {
          has: page.getByRole('heading', { name: 'Recent VIM events', exact: true }),
        })
        .locator('tbody tr');
      await events
        .filter({ hasText: 'site-a' })
        .filter({ hasText: 'UNREACHABLE' })
        .first()
        .waitFor({ timeout: 5_000 });
      expect(await page.evaluate(() => (window as { __same?: number }).__same)).toBe(1);
      // A real screenshot: a PNG much bigger than a blank page's at the same size.
      const shot = await page.screenshot();
      if (process.env['CONDUCTOR_SAVE_SCREENSHOT'] === '1')
        writeFileSync(join(ROOT, 'docs/dashboard.png'), shot);
      writeFileSync(join(dir, 'dashboard.png'), shot);
      const blankPage = await newPage(1280, 800);
      await blankPage.goto('about:blank');
      const blank = await blankPage.screenshot();
      expect(shot.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(shot.length).toBeGreaterThan(20_000);
      expect(shot.length).toBeGreaterThan(5 * blank.length);
      // A phone's width: no horizontal scroll.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(100);
      const fits = await page.evaluate(
        () => document.documentElement.scrollWidth <= window.innerWidth,
      );
      expect(fits).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await stop(conductor);
    }
  }, 60_000);

  it('with [ops] allow_actions = true, "Run now" runs the task (its last run and runs change)', async () => {
    const dir = tempDir();
    const conductor = await startConductor(dir, {
      'vim_monitor.interval': '3600',
      'ops.allow_actions': 'true',
    });
    try {
      const page = await newPage(1280, 800);
      await page.goto(`${conductor.base}/`);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 10_000 });
      const task = row(page, 'Periodic tasks', 'vim_monitor');
      const runs = task.locator('td').nth(7);
      await expect.poll(() => runs.textContent(), { timeout: 10_000 }).toBe('1'); // at start
      const lastRun = await task.locator('td').nth(3).locator('span').getAttribute('title');
      await task.getByRole('button', { name: 'Run now' }).click();
      await expect.poll(() => runs.textContent(), { timeout: 10_000 }).toBe('2');
      const after = await task.locator('td').nth(3).locator('span').getAttribute('title');
      expect(after).not.toBe(lastRun);
      await task.getByRole('button', { name: 'Disable' }).click();
      await task.getByText('disabled', { exact: true }).waitFor({ timeout: 5_000 });
      await task.getByRole('button', { name: 'Enable' }).waitFor();
      expect(conductor.out()).toMatch(/"msg":"Ops action: run periodic task vim_monitor"/);
    } finally {
      await stop(conductor);
    }
  }, 40_000);
});
