/**
 * `site build` replaces a previous site only once the new one is whole: an Astro build that fails
 * leaves the old site as it was, and a build stopped by SIGTERM or SIGKILL takes its Astro child
 * with it; what a SIGKILLed build could not tidy (its staging folder, its working folder under
 * site/node_modules) is tidied by the next build.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-site-atomic-');
const catalogueDir = join(tmp, 'catalogue');
const siteDir = join(tmp, 'out', 'site');
const cacheDir = join(tmp, 'astro-cache');
const SITE_MODULES = join(REPO, 'site', 'node_modules');
/** Pids this file started (CLI parents and their Astro children), killed at the end if still running. */
const started: number[] = [];

const prompts = {
  format: 'styleatlas-prompts/1', id: 'atomic', title: 'Atomic', description: 'One colour-world prompt.',
  defaults: { alpha: 1, beta: 'auto', betaFloor: 10 },
  prompts: [{ id: 'red', neutral: 'photo', target: 'red photo', tags: ['colour'], alphaRange: [-2, 2] }],
};

function run(args: string[]): void {
  const r = cli(args, { cwd: tmp });
  if (r.status !== 0) throw new Error(`styleatlas ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
}

/** The site's files with their bytes, to compare a site before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = readFileSync(join(dir, r)).toString('base64');
    }
  };
  walk('');
  return out;
}

const siblings = () => readdirSync(dirname(siteDir)).sort();
const workFolders = (pid: number) => (existsSync(SITE_MODULES) ? readdirSync(SITE_MODULES).filter((n) => n.startsWith(`.styleatlas-build-${pid}-`)) : []);

/** Running (not a zombie waiting to be reaped). */
function running(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z');
  } catch {
    return false; // ps exits 1 when there is no such pid
  }
}

function childrenOf(pid: number): number[] {
  return execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([, ppid]) => ppid === pid)
    .map(([p]) => p);
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A `site build` over the previous site, stopped by `signal` once its Astro child is running. */
async function stoppedBuild(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ parent: number; astro: number; exit: NodeJS.Signals | null }> {
  const child: ChildProcess = spawn(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), 'site', 'build', '--catalogue', catalogueDir, '--out', siteDir, '--cache-dir', cacheDir, '--verbose'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child.pid!);
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_c, s) => done(s)));
  // Astro's first line of output: the child is running and has begun the build.
  await new Promise<void>((done) => child.stderr!.on('data', (d: Buffer) => d.toString().split('\n').some((l) => l.trim() !== '' && !l.startsWith('site: ')) && done()));
  const [astro] = childrenOf(child.pid!);
  expect(astro, 'the Astro child').toBeGreaterThan(0);
  started.push(astro);
  child.kill(signal);
  return { parent: child.pid!, astro, exit: await exited };
}

let before: Record<string, string>;

beforeAll(() => {
  writeFileSync(join(tmp, 'prompts.json'), JSON.stringify(prompts));
  const build = join(tmp, 'build');
  run(['relevance', '--generator', modelDir('tiny'), '--encoder', modelDir('colour-world'), '--out', build, '--samples', '3', '--stats-samples', '500', '--quiet']);
  run(['catalogue', '--build', build, '--prompts', join(tmp, 'prompts.json'), '--out', catalogueDir, '--models-dir', join(REPO, 'models'), '--gallery-seeds', '1000', '--columns', '3', '--no-cache', '--quiet']);
  run(['site', 'build', '--catalogue', catalogueDir, '--out', siteDir, '--cache-dir', cacheDir]);
  before = snapshot(siteDir);
  expect(Object.keys(before)).toContain('index.html');
});

afterAll(() => {
  for (const pid of started) if (running(pid)) process.kill(pid, 'SIGKILL');
});

describe('site build never leaves a half-built or missing site', () => {
  it('an Astro build that fails leaves the previous site as it was, and nothing beside it', () => {
    // A cache folder that is a file: Astro (Vite) fails once it starts, before any page is whole.
    writeFileSync(join(tmp, 'not-a-folder'), 'x');
    const r = cli(['site', 'build', '--catalogue', catalogueDir, '--out', siteDir, '--cache-dir', join(tmp, 'not-a-folder')], { cwd: tmp });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E_RUNTIME: astro build failed \(exit 1\)/);
    expect(snapshot(siteDir)).toEqual(before);
    expect(siblings()).toEqual(['site']);
  });

  it('SIGTERM stops the Astro child too, and tidies its folders at once', async () => {
    const s = await stoppedBuild('SIGTERM');
    expect(s.exit).toBe('SIGTERM');
    await until('the Astro child to end', () => !running(s.astro), 10_000);
    expect(snapshot(siteDir)).toEqual(before);
    expect(siblings()).toEqual(['site']);
    expect(workFolders(s.parent)).toEqual([]);
  });

  it('SIGKILL: the Astro child ends with its parent; the next build tidies what was left', async () => {
    const s = await stoppedBuild('SIGKILL');
    expect(s.exit).toBe('SIGKILL');
    await until('the Astro child to end', () => !running(s.astro), 10_000);
    expect(snapshot(siteDir)).toEqual(before);
    // A kill -9 runs no clean-up: the staging folder and the working folder are still there.
    expect(siblings().filter((n) => n.startsWith(`site.tmp-${s.parent}-`))).toHaveLength(1);
    expect(workFolders(s.parent)).toHaveLength(1);
    run(['site', 'build', '--catalogue', catalogueDir, '--out', siteDir, '--cache-dir', cacheDir]);
    expect(siblings()).toEqual(['site']);
    expect(workFolders(s.parent)).toEqual([]);
    expect(Object.keys(snapshot(siteDir)).sort()).toEqual(Object.keys(before).sort());
  });
});

describe('a build whose text tower the catalogue left off the live page', () => {
  it('is named on the live page with the reason, not silently missing', () => {
    const live = (dir: string) => readFileSync(join(dir, 'live', 'index.html'), 'utf8');
    expect(live(siteDir)).not.toContain('data-testid="not-live"');
    // What the catalogue records for an encoder whose text tower cannot ship (test/unit/live-assets.test.ts):
    // no text asset, and text-tower.json with the reason.
    const cat = join(tmp, 'catalogue-no-text');
    cpSync(catalogueDir, cat, { recursive: true });
    const db = new Database(join(cat, 'catalogue.sqlite'));
    const enc = db.prepare("SELECT id, live_assets FROM models WHERE kind = 'encoder'").get() as { id: string; live_assets: string };
    const { text: _dropped, ...rest } = JSON.parse(enc.live_assets) as Record<string, string>;
    db.prepare('UPDATE models SET live_assets = ? WHERE id = ?').run(JSON.stringify(rest), enc.id);
    db.close();
    const reason = 'the int8 copy of its text tower agrees with float32 only to cosine 0.998000, under the 0.999 required';
    writeFileSync(join(cat, rest.textTower), JSON.stringify({ format: 'styleatlas-live-text/1', model: enc.id, tower: 'none', code: 'E_LIVE_TEXT', reason }));
    const out = join(tmp, 'site-no-text');
    run(['site', 'build', '--catalogue', cat, '--out', out, '--cache-dir', cacheDir]);
    const html = live(out).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
    expect(html).toContain('Not available on this page:');
    expect(html).toContain(`the catalogue left the text tower of its encoder ${enc.id} off: ${reason} (E_LIVE_TEXT).`);
  }, 120_000);

  it('a build whose synthesis.onnx was left off is listed as computing directions without live edits, with the reason', () => {
    const live = (dir: string) => readFileSync(join(dir, 'live', 'index.html'), 'utf8').replace(/<[^>]*>/g, ' ').replace(/&#39;/g, "'").replace(/\s+/g, ' ');
    expect(live(siteDir)).not.toContain('Live edits off:');
    // What the catalogue records for a generator whose synthesis.onnx is over LIVE_LIMITS.synthesis: no synthesis asset.
    const cat = join(tmp, 'catalogue-no-synthesis');
    cpSync(catalogueDir, cat, { recursive: true });
    const db = new Database(join(cat, 'catalogue.sqlite'));
    const gen = db.prepare("SELECT id, live_assets FROM models WHERE kind = 'generator'").get() as { id: string; live_assets: string };
    const { synthesis: _dropped, ...rest } = JSON.parse(gen.live_assets) as Record<string, string>;
    db.prepare('UPDATE models SET live_assets = ? WHERE id = ?').run(JSON.stringify(rest), gen.id);
    db.close();
    const out = join(tmp, 'site-no-synthesis');
    run(['site', 'build', '--catalogue', cat, '--out', out, '--cache-dir', cacheDir]);
    const html = live(out);
    expect(html).toContain('Live edits off:');
    expect(html).toContain(`this page computes its directions but does not render them: ${gen.id}'s synthesis.onnx is over the 32 MiB this page downloads, so the catalogue left it off.`);
  }, 120_000);
});
