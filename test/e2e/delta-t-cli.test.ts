/**
 * `styleatlas delta-t` as a user runs it: a child process in a scratch working directory (so the
 * default cache, data/cache/text-embeddings.sqlite, lands there), on the shipped bundles.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { axisIndex } from '../../pipeline/onnx/colour-world-space.ts';
import { deltaT, loadTemplates } from '../../pipeline/stages/text-directions.ts';
import { decodeNpy } from '../../pipeline/store/npy.ts';
import { modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { maxAbsDiff } from '../helpers/numeric.ts';
import { tempDir } from '../helpers/tmp.ts';

const cwd = tempDir('styleatlas-dt-cli-');
const run = (...args: string[]) => cli(['delta-t', ...args], { cwd });
const tiny = ['--encoder', modelDir('tiny-clip')];
const world = ['--encoder', modelDir('colour-world')];

describe('styleatlas delta-t', () => {
  it('prints the facts, fills the default cache, and the second run is all hits', () => {
    const a = run(...tiny, '--neutral', 'face', '--target', 'smiling face');
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/tiny-clip: Δt "face" → "smiling face" \(D = 64, 79 templates\)/);
    expect(a.stdout).toMatch(/‖t\(target\) − t\(neutral\)‖ before normalising\s+0\.\d{6}/);
    expect(a.stdout).toMatch(/cos\(t\(neutral\), t\(target\)\)\s+0\.\d{6}/);
    expect(a.stdout).toMatch(/cache 0\/2 hits, 158 texts encoded/);
    expect(existsSync(join(cwd, 'data/cache/text-embeddings.sqlite'))).toBe(true);
    const b = run(...tiny, '--neutral', 'face', '--target', 'smiling face');
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/cache 2\/2 hits, 0 texts encoded/);
    // Same numbers from the cache as from the encoder.
    const facts = (s: string) => s.split('\n').filter((l) => /before normalising|cos\(|largest/.test(l));
    expect(facts(b.stdout)).toEqual(facts(a.stdout));
  });

  it('--json on colour-world: "photo" → "bright photo" moves the brightness axis most; --no-cache encodes', () => {
    const r = run(...world, '--neutral', 'photo', '--target', 'bright photo', '--json', '--no-cache', '--top', '3');
    expect(r.status, r.stderr).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(f.encoder.id).toBe('colour-world');
    expect(f.top).toHaveLength(3);
    expect(f.top[0].index).toBe(axisIndex('brightness'));
    expect(f.top[0].value).toBeGreaterThan(0.9);
    expect(f.normBefore).toBeCloseTo(Math.sqrt(2 - 2 * f.cosine), 6);
    expect(f.cache).toEqual({ path: null, hits: 0, textsEncoded: 158 });
    expect(f.templates.count).toBe(79);
  });

  it('--out writes Δt as .npy float32 [D] and as .json, equal to the stage computed here', async () => {
    const npy = join(cwd, 'dt.npy');
    const json = join(cwd, 'dt.json');
    const a = run(...tiny, '--neutral', 'face', '--target', 'face with red hair', '--out', npy);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout.trim()).toBe(npy); // the path on stdout, the facts on stderr
    expect(a.stderr).toMatch(/before normalising/);
    const b = run(...tiny, '--neutral', 'face', '--target', 'face with red hair', '--out', json, '--no-cache');
    expect(b.status, b.stderr).toBe(0);

    const arr = decodeNpy(readFileSync(npy));
    expect([arr.dtype, arr.shape]).toEqual(['float32', [64]]);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.format).toBe('styleatlas-delta-t/1');
    expect([doc.neutral, doc.target, doc.encoder.id]).toEqual(['face', 'face with red hair', 'tiny-clip']);
    const enc = await Encoder.open(modelDir('tiny-clip'), { parts: ['text'] });
    try {
      const want = await deltaT(enc, 'face', 'face with red hair', { templates: loadTemplates() });
      expect(maxAbsDiff(arr.data as Float32Array, want.deltaT)).toBeLessThan(1e-6);
      expect(maxAbsDiff(Float32Array.from(doc.deltaT), want.deltaT)).toBeLessThan(1e-6);
      expect(doc.normBefore).toBeCloseTo(want.normBefore, 6);
    } finally {
      await enc.release();
    }
  });

  it('non-ASCII prompts work', () => {
    const r = run(...tiny, '--neutral', 'Café', '--target', 'Café crème 😀', '--json', '--no-cache');
    expect(r.status, r.stderr).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(f.target).toBe('Café crème 😀');
    expect(Number.isFinite(f.normBefore) && f.normBefore > 0).toBe(true);
  });
});

describe('styleatlas delta-t: bad inputs', () => {
  const out = join(cwd, 'never.npy');
  const expectFail = (r: { status: number | null; stderr: string }, status: number, re: RegExp) => {
    expect(r.stderr).toMatch(re);
    expect(r.status).toBe(status);
    expect(existsSync(out)).toBe(false);
  };

  it('empty, whitespace-only, over-long and identical prompts: E_PROMPT, exit 1', () => {
    expectFail(run(...tiny, '--neutral', '', '--target', 'face', '--out', out), 1, /^E_PROMPT: the neutral prompt is empty\n/);
    expectFail(run(...tiny, '--neutral', 'face', '--target', '  ', '--out', out), 1, /E_PROMPT: the target prompt is empty \(only whitespace\)/);
    const long = Array(80).fill('face').join(' ');
    expectFail(run(...tiny, '--neutral', 'face', '--target', long, '--out', out), 1, /E_PROMPT: prompt "face face .*" is 80 tokens; .* it is 94, over the limit of 77/);
    expectFail(run(...tiny, '--neutral', 'Face', '--target', 'face', '--out', out), 1, /E_PROMPT: neutral and target are the same prompt: Δt is undefined/);
  });

  it('prompts the encoder cannot tell apart: E_NUMERIC, exit 1', () => {
    expectFail(run(...world, '--neutral', 'face', '--target', 'smiling face', '--out', out), 1, /E_NUMERIC: colour-world: .* differ by/);
  });

  it('unknown encoder folder: E_MISSING with a hint, exit 1', () => {
    const r = run('--encoder', 'models/no-such-encoder', '--neutral', 'face', '--target', 'smiling face', '--out', out);
    expectFail(r, 1, /E_MISSING: model bundle folder .*no-such-encoder does not exist\n {2}hint: build the bundled models with `npx styleatlas models build`/);
    const fresh = join(cwd, 'fresh');
    mkdirSync(fresh);
    const f = cli(['delta-t', '--encoder', 'no-such-encoder', '--neutral', 'face', '--target', 'smiling face'], { cwd: fresh });
    expect(f.stderr).toMatch(/^E_MISSING: /);
    expect(readdirSync(fresh)).toEqual([]); // no cache file for a run that never started
  });

  it('a corrupt cache file: E_STORE saying to delete it, exit 1', () => {
    const junk = join(cwd, 'junk.sqlite');
    writeFileSync(junk, 'not a database '.repeat(200));
    expectFail(run(...tiny, '--neutral', 'face', '--target', 'smiling face', '--text-cache', junk, '--out', out), 1, /E_STORE: text-embedding cache .*junk\.sqlite is unreadable.*\n {2}hint: delete .*junk\.sqlite/);
  });

  it('a cache, template or --out path that cannot be used says why, not "does not exist"', () => {
    const dir = join(cwd, 'a-folder.sqlite');
    mkdirSync(dir);
    const pair = [...tiny, '--neutral', 'face', '--target', 'smiling face'];
    const cacheDir = run(...pair, '--text-cache', dir, '--out', out);
    expectFail(cacheDir, 1, /^E_STORE: text-embedding cache .*a-folder\.sqlite is a directory, not a cache file\n {2}hint: give a file path for --text-cache/);
    expect(cacheDir.stderr).not.toMatch(/delete/);
    const loop = join(cwd, 'loop.json');
    symlinkSync(loop, loop);
    expectFail(run(...pair, '--no-cache', '--templates', loop, '--out', out), 1, /^E_INPUT: cannot read template file .*loop\.json: ELOOP/);
    expectFail(run(...pair, '--no-cache', '--templates', dir, '--out', out), 1, /^E_INPUT: cannot read template file .*a-folder\.sqlite: EISDIR/);
    expectFail(run(...pair, '--no-cache', '--templates', join(cwd, 'none.json'), '--out', out), 1, /^E_MISSING: template file .*none\.json does not exist/);
    // --out: a folder, or a path through a file; nothing is written anywhere.
    const outDir = join(cwd, 'out-folder.npy');
    mkdirSync(outDir);
    expectFail(run(...pair, '--no-cache', '--out', outDir), 1, /^E_OUTPUT: .*out-folder\.npy is a directory, not a file\n {2}hint: give a file name/);
    expect(readdirSync(outDir)).toEqual([]);
    writeFileSync(join(cwd, 'plain'), 'x');
    expectFail(run(...pair, '--no-cache', '--out', join(cwd, 'plain', 'dt.npy')), 1, /^E_OUTPUT: cannot write .*plain\/dt\.npy: .*plain is a file, not a folder/);
    expect(readdirSync(cwd).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('usage mistakes exit 2; a bad --out extension is E_INPUT', () => {
    expectFail(run(...tiny, '--neutral', 'face'), 2, /E_USAGE: --target is required/);
    expectFail(run('--neutral', 'face', '--target', 'smiling face'), 2, /E_USAGE: --encoder is required/);
    expectFail(run(...tiny, '--neutral', 'face', '--target', 'smiling face', '--no-cache', '--text-cache', 'x.sqlite'), 2, /E_USAGE: give --text-cache FILE or --no-cache/);
    expectFail(run(...tiny, '--neutral', 'face', '--target', 'smiling face', '--cache', 'x.sqlite'), 2, /^E_USAGE: --cache is now --text-cache FILE/);
    expect(existsSync(join(cwd, 'x.sqlite'))).toBe(false);
    expectFail(run(...tiny, '--neutral', 'face', '--target', 'smiling face', '--out', join(cwd, 'dt.txt')), 1, /E_INPUT: --out must end in \.npy or \.json/);
    expect(existsSync(join(cwd, 'dt.txt'))).toBe(false);
  });
});
