/**
 * `astro build` of site/ for one catalogue, in a child process: Astro and Vite stay out of the
 * CLI's process, and the catalogue reaches the site's config through the child's environment.
 * The catalogue is checked here first, so a bad slug fails in a second, not after Vite starts.
 * Astro writes into a temporary sibling of --out that replaces the previous site only once it is
 * whole; the child ends with this process (exit-with-parent.mjs), and what a kill -9 leaves is
 * removed by the next build.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../core/errors.ts';
import { replaceDir, tempDirFor } from '../store/atomic.ts';
import { removeDeadEntries } from '../store/leftovers.ts';
import { checkOutputDir } from '../store/output-errors.ts';
import { readSiteCatalogue } from './catalogue-data.ts';

export const SITE_ROOT = fileURLToPath(new URL('../../site/', import.meta.url));
const EXIT_WITH_PARENT = new URL('./exit-with-parent.mjs', import.meta.url).href;
/** The child's private working folder under site/node_modules: `<prefix><pid>-…`. */
const WORK_PREFIX = '.styleatlas-build-';

export interface SiteBuildOptions {
  catalogueDir: string;
  outDir: string;
  /** Astro/Vite cache; builds that run at the same time need their own. */
  cacheDir?: string;
  /** The environment the child inherits (PATH and the like). */
  env: Readonly<Record<string, string | undefined>>;
  /** Astro's own output, line by line (by default it is kept and shown only on failure). */
  onOutput?: (line: string) => void;
}

export interface SiteBuildSummary {
  outDir: string;
  pages: number;
  directions: number;
  mappers: number;
  builds: number;
  seconds: number;
}

function countPages(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countPages(join(dir, e.name));
    else if (e.name.endsWith('.html')) n++;
  }
  return n;
}

/** Refuse an output folder that holds something other than a previous site build. */
function checkOutDir(outDir: string): void {
  checkOutputDir(outDir);
  if (!existsSync(outDir)) return;
  const entries = readdirSync(outDir);
  if (entries.length === 0) return;
  if (!entries.includes('index.html') || !entries.includes('_astro')) {
    fail('E_INPUT', `${outDir} exists and is not a site build (no index.html and _astro/)`, 'choose an empty or new --out folder');
  }
}

/** Run `child` to its end; a signal that stops this process first stops it and tidies `leftovers`. */
function childExit(child: ChildProcess, leftovers: readonly string[]): Promise<number | null> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals) => {
    for (const s of signals) process.off(s, onSignal);
    child.kill('SIGKILL');
    for (const p of leftovers) rmSync(p, { recursive: true, force: true });
    process.kill(process.pid, signal); // and die of it, as without this handler
  };
  for (const s of signals) process.once(s, onSignal);
  return new Promise<number | null>((done, reject) => {
    child.on('error', reject);
    child.on('close', done);
  }).finally(() => {
    for (const s of signals) process.off(s, onSignal);
  });
}

export async function buildSite(opts: SiteBuildOptions): Promise<SiteBuildSummary> {
  const started = performance.now();
  const catalogueDir = resolve(opts.catalogueDir);
  const outDir = resolve(opts.outDir);
  const cat = readSiteCatalogue(catalogueDir);
  if (outDir === resolve(SITE_ROOT) || resolve(SITE_ROOT).startsWith(`${outDir}/`)) fail('E_INPUT', `--out ${outDir} would overwrite the site's sources`);
  checkOutDir(outDir);
  // Astro's command line, wherever its package.json says it is (astro.js until Astro 6, bin/astro.mjs since).
  const astroPackage = createRequire(import.meta.url).resolve('astro/package.json');
  const astro = join(dirname(astroPackage), (JSON.parse(readFileSync(astroPackage, 'utf8')) as { bin: { astro: string } }).bin.astro);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  // No telemetry; and Astro's bin turns on Node's compile cache, which writes hundreds of files to
  // $TMPDIR/node-compile-cache that a site build does not promise (docs/runtime.md, "Privacy").
  Object.assign(env, { STYLEATLAS_CATALOGUE: catalogueDir, ASTRO_TELEMETRY_DISABLED: '1', NODE_DISABLE_COMPILE_CACHE: '1' });
  if (opts.cacheDir) env.STYLEATLAS_SITE_CACHE_DIR = resolve(opts.cacheDir);
  else delete env.STYLEATLAS_SITE_CACHE_DIR;

  // Astro writes its server-side chunks under the working directory when --out lies outside it
  // (node_modules/astro/dist/core/build/common.js getOutDirWithinCwd), and those chunks import
  // packages, so the child works in a private folder inside the repository: builds running at
  // once do not share it, and Node finds the packages from there.
  const nodeModules = join(SITE_ROOT, 'node_modules');
  mkdirSync(nodeModules, { recursive: true });
  removeDeadEntries(nodeModules, WORK_PREFIX); // left by site builds that were killed
  // Astro writes the new site beside the old one, which is replaced only once the new one is whole:
  // a failed build leaves the previous site as it was (and stale pages do not survive a rebuild).
  const staging = tempDirFor(outDir);
  const work = mkdtempSync(join(nodeModules, `${WORK_PREFIX}${process.pid}-`));
  const log: string[] = [];
  const args = ['--import', EXIT_WITH_PARENT, astro, 'build', '--root', SITE_ROOT, '--outDir', staging];
  let code: number | null;
  try {
    const child = spawn(process.execPath, args, { cwd: work, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        log.push(line);
        opts.onOutput?.(line);
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    code = await childExit(child, [work, staging]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (code !== 0 || !existsSync(join(staging, 'index.html'))) {
    rmSync(staging, { recursive: true, force: true });
    const tail = log.slice(-25).join('\n');
    // Vite and rolldown report a full disk in their own words.
    if (log.some((l) => /No space left on device|ENOSPC/.test(l))) fail('E_OUTPUT', `cannot write ${outDir}: the disk is full (astro build, exit ${code})`, 'free some space on that disk (the new site is built beside the old one), or give another --out');
    fail('E_RUNTIME', `astro build failed (exit ${code}):\n${tail}`, 'run with --verbose for the whole log');
  }
  const pages = countPages(staging);
  replaceDir(staging, outDir);
  return {
    outDir,
    pages,
    directions: cat.directions.length,
    mappers: cat.mappers.length,
    builds: cat.builds.length,
    seconds: (performance.now() - started) / 1000,
  };
}
