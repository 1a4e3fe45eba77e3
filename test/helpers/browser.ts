/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with a fresh
 * profile, no background traffic, and a record of everything a page does that a test should see:
 * console errors, page errors, dialogs and every request URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { REPO } from './bundles.ts';

export const CHROMIUM = process.env.STYLEATLAS_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

export interface PageLog {
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  requests: string[];
}

export interface Browser {
  context: BrowserContext;
  log: PageLog;
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'styleatlas-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, acceptDownloads: true });
  const log: PageLog = { consoleErrors: [], pageErrors: [], dialogs: [], requests: [] };
  const watch = (page: Page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') log.consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => log.pageErrors.push(`${page.url()}: ${e.message}`));
    page.on('dialog', (d) => {
      log.dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
  };
  context.on('request', (r) => log.requests.push(r.url()));
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    log,
    async newPage(viewport = { width: 1280, height: 800 }) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Whether a URL stays on this machine: http(s) to a loopback host, or data:/blob: made by the page itself. */
export function isLocal(url: string): boolean {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'about:') return true;
  if (u.protocol === 'blob:') return isLocal(url.slice('blob:'.length));
  return (u.protocol === 'http:' || u.protocol === 'https:') && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/** `styleatlas site serve --port 0` as a child process; resolves with the URL it prints. */
export async function serveSite(dir: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), 'site', 'serve', '--dir', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((ok, bad) => {
    const timer = setTimeout(() => bad(new Error(`site serve printed no URL in 30 s: ${err}`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(http:\/\/\S+)\n/m.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => bad(new Error(`site serve exited with ${code}: ${err}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGINT');
      }),
  };
}
