/**
 * Commands run with HOME and TMPDIR set to empty folders, and without ORT_DISABLE_TELEMETRY in
 * their environment, leave nothing in either that they do not promise: no onnxruntime telemetry
 * database or device id, no mat-debug-<pid>.log or .ses, no temporary model file (not even after
 * kill -9), nothing from Astro, Vite or sharp. The one thing allowed is tsx's compile cache
 * (TMPDIR/tsx-<uid>), since StyleAtlas runs its TypeScript through tsx. ORT_DISABLE_TELEMETRY=0,
 * set by the user, turns telemetry on.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReference } from '../fixtures/parity/fixtures.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
let n = 0;

/** Fresh, empty HOME and TMPDIR, and the environment that points at them. */
function sandbox(extra: Record<string, string | undefined> = {}) {
  const root = join(tmp, `sandbox-${n++}`);
  const home = join(root, 'home');
  const temp = join(root, 'tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(temp, { recursive: true });
  // Without CI, as a user runs it: some tools (Astro's bin) write caches only outside CI.
  const env = { HOME: home, TMPDIR: temp, XDG_CACHE_HOME: undefined, XDG_CONFIG_HOME: undefined, CI: undefined, ORT_DISABLE_TELEMETRY: undefined, ...extra };
  return { root, home, temp, env };
}

/** Every file and folder under `dir`, relative to it. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const TSX_CACHE = /^tsx-\d+(\/|$)/;
const unpromised = (temp: string) => tree(temp).filter((p) => !TSX_CACHE.test(p));
const relevanceArgs = (out: string) => [
  'relevance', '--generator', modelDir('tiny'), '--encoder', modelDir('colour-world'), '--out', out,
  '--samples', '3', '--stats-samples', '500', '--chunk', '16', '--batch', '8', '--quiet',
];

describe('HOME and TMPDIR stay clean', () => {
  it('render (a session in the main thread) and relevance (a session in a worker)', () => {
    const s = sandbox();
    const r = cli(['render', '--generator', modelDir('tiny'), '--seeds', '0-1', '--out', join(s.root, 'grid.png')], { env: s.env });
    expect(r.status, r.stderr).toBe(0);
    const b = cli(relevanceArgs(join(s.root, 'build')), { env: s.env });
    expect(b.status, b.stderr).toBe(0);
    expect(existsSync(join(s.root, 'build', 'fs3.npy'))).toBe(true);
    expect(tree(s.home)).toEqual([]);
    expect(unpromised(s.temp)).toEqual([]);
  });

  it('demo (relevance, catalogue, site build), edit and import, from a folder of their own', () => {
    const s = sandbox();
    // The whole demo: about a minute on an idle 2-core machine, many more when it shares the cores.
    const demo = cli(['demo', '--no-serve'], { cwd: s.root, env: s.env, timeoutMs: 1_500_000 });
    expect(demo.status, demo.stderr).toBe(0);
    expect(existsSync(join(s.root, 'site', 'dist', 'index.html'))).toBe(true);
    const edit = cli(['edit', '--build', join(s.root, 'data', 'build', 'tiny-colour-world'), '--neutral', 'photo', '--target', 'red photo', '--alpha', '-1,0,1', '--out', join(s.root, 'edit.png')], { cwd: s.root, env: s.env });
    expect(edit.status, edit.stderr).toBe(0);
    // A small rosinality checkpoint, written by the PyTorch reference (outside the sandbox's env).
    runReference('stylegan2_rosinality.py', join(s.root, 'ros'), ['--resolution', '16', '--channel-max', '32', '--style-dim', '32', '--n-mlp', '2', '--batch', '1']);
    const imp = cli(['import', 'stylegan2', join(s.root, 'ros', 'checkpoint.pt'), '--out', join(s.root, 'imported')], { cwd: s.root, env: s.env });
    expect(imp.status, imp.stderr).toBe(0);
    expect(tree(s.home)).toEqual([]);
    expect(unpromised(s.temp)).toEqual([]);
  }, 1_800_000);

  it('a relevance build killed with SIGKILL leaves no temporary model behind', async () => {
    const s = sandbox();
    const out = join(s.root, 'killed');
    const env = { ...process.env, ...s.env } as Record<string, string | undefined>;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), ...relevanceArgs(out).filter((a) => a !== '--quiet')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Killed once renders are running: the fused model is open in the worker by then.
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => /renders\/s/.test(d.toString()) && resolve()));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(join(out, 'fs3.npy'))).toBe(false);
    expect(tree(s.home)).toEqual([]);
    expect(unpromised(s.temp)).toEqual([]);
  });

  it('ORT_DISABLE_TELEMETRY=0 from the user is respected: onnxruntime then writes its telemetry', () => {
    const s = sandbox({ ORT_DISABLE_TELEMETRY: '0' });
    const r = cli(['render', '--generator', modelDir('tiny'), '--seeds', '0', '--out', join(s.root, 'one.png')], { env: s.env });
    expect(r.status, r.stderr).toBe(0);
    // What the other tests show is absent: the queue of events for upload, and the temp-folder files.
    expect(tree(s.home)).toContain('.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db');
    expect(unpromised(s.temp).some((p) => /^mat-debug-\d+\.log$/.test(p))).toBe(true);
  });
});
