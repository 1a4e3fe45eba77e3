/**
 * `npm pack` → `npm install -g` into a temporary prefix → a `styleatlas` that works from an
 * unrelated folder: --help, building the tiny bundles, and a whole (small) relevance build.
 * The install fetches the dependencies from the npm registry, as a user's would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../../pipeline/store/npy.ts';
import { REPO } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-package-');
const prefix = join(tmp, 'prefix');
const elsewhere = join(tmp, 'elsewhere');
// npm's own variables (set when the suite runs under `npm test`) would steer the nested npm.
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
// The installed command's `#!/usr/bin/env node` finds the Node that runs these tests.
env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 600_000 });
  if (r.error) throw r.error;
  return r;
}

let files: string[] = [];

beforeAll(() => {
  const pack = run('npm', ['pack', '--json', '--pack-destination', tmp], REPO);
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  files = info.files.map((f) => f.path);
  const install = run('npm', ['install', '-g', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', prefix, join(tmp, info.filename)], tmp);
  expect(install.status, install.stderr).toBe(0);
  mkdirSync(elsewhere, { recursive: true });
}, 600_000);

describe('the packed styleatlas, installed globally', () => {
  const styleatlas = (...args: string[]) => run(join(prefix, 'bin', 'styleatlas'), args, elsewhere);

  it('ships the sources and shipped data, not the tests or the build outputs', () => {
    for (const f of ['bin/styleatlas.mjs', 'pipeline/cli/main.ts', 'pipeline/cli/node-version.mjs', 'pipeline/models/runtime-worker.mjs',
      'data/clip/bpe_simple_vocab_16e6.txt.gz', 'data/clip/imagenet-templates-79.json', 'data/prompts/colour-world.json', 'site/astro.config.mjs']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(test|scripts|models|site\/dist|site\/node_modules|data\/build|node_modules)\//.test(f))).toEqual([]);
  });

  it('--help works from an unrelated folder', () => {
    const r = styleatlas('--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: styleatlas <command>');
  });

  it('builds the tiny bundles and runs a whole relevance build there', () => {
    const b = styleatlas('models', 'build', 'tiny', 'colour-world', '--models-dir', 'X');
    expect(b.status, b.stderr).toBe(0);
    expect(readdirSync(join(elsewhere, 'X')).sort()).toEqual(['colour-world', 'tiny']);
    const r = styleatlas('relevance', '--generator', 'X/tiny', '--encoder', 'X/colour-world', '--samples', '2', '--stats-samples', '200', '--out', 'build', '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(elsewhere, 'build', 'relevance.arrow'))).toBe(true);
    const fs3 = decodeNpy(readFileSync(join(elsewhere, 'build', 'fs3.npy')));
    const manifest = JSON.parse(readFileSync(join(elsewhere, 'X', 'colour-world', 'manifest.json'), 'utf8'));
    expect(fs3.shape).toEqual([464, manifest.architecture.embedDim]); // every conv channel of tiny × D
    expect([...fs3.data].every(Number.isFinite)).toBe(true);
  });
});
