/**
 * The StyleCLIP reference's files, both ways, against NumPy/PyTorch under /usr/bin/python3.
 *
 * In: a reference-shaped fs3.npy [5376, D] and S_mean_std (26 per-layer arrays, pickle.dump as
 * the reference's GetCode.py writes it) for an FFHQ-1024-shaped generator (ffhq-arch) become a
 * build with `import fs3`; its Δs for a prompt pair must equal the reference's GetBoundary maths
 * (r = fs3·Δt, |r| < β zeroed, r / max|r|, split over the conv layers up to 128², × std),
 * recomputed independently in NumPy here.
 * Out: `export reference` of that build is loaded with the reference's and HyperStyle's own
 * loading lines; the files round-trip exactly, and HyperStyle's hard-coded FFHQ layer table fits.
 * Then a real StyleAtlas build (tiny, all layers) goes out and back in, and the imported build is
 * catalogued and put on the site like any other.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffhqArchRecipe } from '../../pipeline/models/recipes/stylegan2-random.ts';
import { isImportedBuild, openBuild } from '../../pipeline/stages/build-reader.ts';
import { directionFromBuild } from '../../pipeline/core/directions.ts';
import { decodeNpy } from '../../pipeline/store/npy.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { python } from '../helpers/python.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-reference-files-');
const at = (...p: string[]) => join(tmp, ...p);
const ENCODER = modelDir('colour-world');
const BETA = 0.05;
/** HyperStyle's editing/styleclip/stylespace_utils.py table of FFHQ-1024 style sizes (data, not code). */
const HYPERSTYLE_DIMS = [...Array(15).fill(512), 256, 256, 256, 128, 128, 128, 64, 64, 64, 32, 32];

/** The reference's Δs maths in NumPy, written for this test: per-layer lists, like SplitS(if_std=True). */
const GET_BOUNDARY = `
import numpy as np
def reference_delta_s(fs3, dt, beta, std, rows_per_layer):
    r = fs3.astype(np.float64) @ dt.astype(np.float64)
    r[np.abs(r) < beta] = 0
    r = r / np.abs(r).max()
    out, start = [], 0
    for l, s in enumerate(std):
        n = rows_per_layer[l]
        out.append(r[start:start + n] * s if n else np.zeros(len(s)))
        start += n
    assert start == len(r)
    return np.concatenate(out)
def ffhq_rows_per_layer(std):
    # toRGB layers are 1, 4, 7, …; the reference keeps the other layers whose index is <= 16
    return [0 if (l % 3 == 1 or l > 16) else len(s) for l, s in enumerate(std)]
`;

function npyF32(path: string): Float32Array {
  const a = decodeNpy(readFileSync(path), path);
  if (a.dtype !== 'float32') throw new Error(`${path}: not float32`);
  return a.data;
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function deltaT(target: string): Float32Array {
  const file = at(`dt-${target.replace(/\W+/g, '-')}.npy`);
  const r = cli(['delta-t', '--encoder', ENCODER, '--neutral', 'photo', '--target', target, '--out', file, '--no-cache']);
  expect(r.status, r.stderr).toBe(0);
  return npyF32(file);
}

describe('an FFHQ-shaped reference fs3.npy and S_mean_std', () => {
  const ref = at('ref');
  const build = at('builds', 'ffhq-imported');
  const models = at('models');

  beforeAll(async () => {
    await ffhqArchRecipe.build(join(models, 'ffhq-arch'), { log: () => {} });
    python(`
import os, pickle, sys, numpy as np
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.RandomState(3)
dims = ${JSON.stringify(HYPERSTYLE_DIMS)}
fs3 = rng.randn(5376, 32).astype(np.float32)
fs3 /= np.linalg.norm(fs3, axis=-1)[:, None]
np.save(os.path.join(out, 'fs3.npy'), fs3)
m = [rng.randn(d).astype(np.float32) for d in dims]
std = [(0.05 + rng.rand(d)).astype(np.float32) for d in dims]
with open(os.path.join(out, 'S_mean_std'), 'wb') as fp:
    pickle.dump([m, std], fp)
with open(os.path.join(out, 'S_mean_std.p3'), 'wb') as fp:
    pickle.dump([m, std], fp, protocol=3)
`, [ref]);
  }, 300_000);

  let imported: ReturnType<typeof cli>;
  beforeAll(() => {
    imported = cli(['import', 'fs3', join(ref, 'fs3.npy'), '--stats', join(ref, 'S_mean_std'), '--generator', join(models, 'ffhq-arch'),
      '--encoder', ENCODER, '--out', build]);
  }, 300_000);

  it('imports as a build that says where it came from, with the rows and statistics exactly', () => {
    const r = imported;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('import fs3: 5376 rows (reference) × 32 from fs3.npy, μ/σ from S_mean_std');
    const b = openBuild(build);
    if (!isImportedBuild(b.config)) throw new Error('not an imported build');
    expect(b.config.channelSet).toBe('reference');
    expect(b.config.imported).toMatchObject({ format: 'fs3.npy', file: 'fs3.npy', rows: 5376, stats: { file: 'S_mean_std' } });
    expect(b.config.imported.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.table.direction).toEqual(npyF32(join(ref, 'fs3.npy')));
    expect(readFileSync(join(build, 'fs3.npy')).equals(readFileSync(join(ref, 'fs3.npy')))).toBe(true);
    expect(Number.isNaN(b.table.effect[0]) && Number.isNaN(b.table.consistency[0])).toBe(true);
    expect(b.table.metadata['styleatlas.imported']).toContain('"file":"fs3.npy"');
  });

  it("gives the reference's GetBoundary Δs for a prompt pair (NumPy recompute)", () => {
    const b = openBuild(build);
    for (const target of ['red photo', 'bright photo']) {
      const dt = deltaT(target);
      writeFileSync(at('dt.json'), JSON.stringify(Array.from(dt)));
      const want = JSON.parse(python(`${GET_BOUNDARY}
import json, pickle, sys
fs3 = np.load(sys.argv[1] + '/fs3.npy')
with open(sys.argv[1] + '/S_mean_std', 'rb') as fp:
    m, std = pickle.load(fp)
dt = np.array(json.load(open(sys.argv[2])), dtype=np.float32)
print(json.dumps(reference_delta_s(fs3, dt, ${BETA}, std, ffhq_rows_per_layer(std)).tolist()))
`, [ref, at('dt.json')])) as number[];
      const got = directionFromBuild(b.relevance, dt, BETA);
      expect(got.active).toBeGreaterThan(10);
      expect(want.length).toBe(9088);
      expect(relDiff(got.deltaS, want), target).toBeLessThan(1e-6);
    }
  });

  it("exports files that the reference's and HyperStyle's loading lines read back exactly", () => {
    const out = at('exported');
    const r = cli(['export', 'reference', '--build', build, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const facts = JSON.parse(python(`
import json, pickle, sys, numpy as np, torch
p, ref = sys.argv[1] + '/', sys.argv[2] + '/'
fs3 = np.load(p + 'fs3.npy')                       # StyleCLIP global_torch / Inference.py
with open(p + 'S_mean_std', 'rb') as fp:           # StyleCLIP global_directions/manipulate.py
    m, std = pickle.load(fp)
with open(p + 'S_mean_std', 'rb') as channels_statistics:   # HyperStyle editing/styleclip/edit.py
    _, s_std = pickle.load(channels_statistics)
    s_std = [torch.from_numpy(s_i).float() for s_i in s_std]
delta_i_c = torch.from_numpy(np.load(p + 'fs3.npy')).float()
with open(ref + 'S_mean_std.p3', 'rb') as fp:
    m0, std0 = pickle.load(fp)
print(json.dumps({
    'fs3': [list(fs3.shape), str(fs3.dtype), bool(np.array_equal(fs3, np.load(ref + 'fs3.npy')))],
    'm': [len(m), all(a.dtype == np.float32 and a.ndim == 1 for a in m), all(np.array_equal(a, b) for a, b in zip(m, m0))],
    'std': all(np.array_equal(a, b) for a, b in zip(std, std0)),
    'hyperstyle_dims': [int(t.shape[0]) for t in s_std],
    'delta_i_c': list(delta_i_c.shape),
}))
`, [out, ref]));
    expect(facts.fs3).toEqual([[5376, 32], 'float32', true]);
    expect(facts.m).toEqual([26, true, true]);
    expect(facts.std).toBe(true);
    expect(facts.hyperstyle_dims).toEqual(HYPERSTYLE_DIMS);
    expect(facts.delta_i_c).toEqual([5376, 32]);
    expect(JSON.parse(readFileSync(join(out, 'styleatlas-export.json'), 'utf8'))).toMatchObject({ build: 'ffhq-imported', subset: 'reference' });
  });

  it('reads the protocol-3 S_mean_std HyperStyle ships, and refuses files that do not fit, writing nothing', () => {
    const p3 = cli(['import', 'fs3', join(ref, 'fs3.npy'), '--stats', join(ref, 'S_mean_std.p3'), '--generator', join(models, 'ffhq-arch'), '--encoder', ENCODER, '--out', at('builds', 'p3')]);
    expect(p3.status, p3.stderr).toBe(0);
    expect(openBuild(at('builds', 'p3')).sigma).toEqual(openBuild(build).sigma);
    python(`
import sys, numpy as np
a = np.load(sys.argv[1] + '/fs3.npy')
np.save(sys.argv[1] + '/short.npy', a[:5000])
np.save(sys.argv[1] + '/scaled.npy', a * 2)
`, [ref]);
    const fails = (args: string[], code: string, pattern: RegExp) => {
      const out = at('builds', 'refused');
      const r = cli(['import', 'fs3', ...args, '--generator', join(models, 'ffhq-arch'), '--out', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${code}:`);
      expect(r.stderr).toMatch(pattern);
      expect(existsSync(out)).toBe(false);
    };
    fails([join(ref, 'short.npy'), '--encoder', ENCODER], 'E_SHAPE', /5000 rows; this generator's channel sets have reference 5376, conv 6048, all 9088/);
    fails([join(ref, 'scaled.npy'), '--encoder', ENCODER], 'E_INPUT', /row 0 has norm 2\.0000; fs3 rows are unit vectors/);
    fails([join(ref, 'fs3.npy'), '--encoder', modelDir('tiny-clip')], 'E_SHAPE', /rows of 32; the encoder tiny-clip embeds in \d+/);
    fails([join(ref, 'fs3.npy'), '--encoder', ENCODER, '--stats', join(ref, 'fs3.npy')], 'E_CHECKPOINT', /not a PyTorch checkpoint/);
    fails([join(ref, 'nothing.npy'), '--encoder', ENCODER], 'E_MISSING', /does not exist/);
    const again = cli(['import', 'fs3', join(ref, 'fs3.npy'), '--stats', join(ref, 'S_mean_std'), '--generator', join(models, 'ffhq-arch'), '--encoder', ENCODER, '--out', build]);
    expect(again.stderr).toMatch(/E_INPUT: --out .* already exists/);
  });
});

describe('a StyleAtlas build out to the reference layout and back in', () => {
  const build = at('builds', 'tiny-all');
  const out = at('tiny-reference');
  const back = at('builds', 'tiny-back');

  beforeAll(() => {
    const r = cli(['relevance', '--generator', modelDir('tiny'), '--encoder', ENCODER, '--out', build, '--samples', '2',
      '--stats-samples', '2000', '--channels', 'all', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
  }, 300_000);

  it('exports the conv rows only (no toRGB) and imports back to the same Δs; the import is catalogued and published', () => {
    const e = cli(['export', 'reference', '--build', build, '--out', out]);
    expect(e.status, e.stderr).toBe(0);
    const original = openBuild(build);
    const convRows = original.layout.layers.filter((l) => l.kind === 'conv').reduce((s, l) => s + l.channels, 0);
    expect(decodeNpy(readFileSync(join(out, 'fs3.npy'))).shape).toEqual([convRows, 32]);
    expect(cli(['export', 'reference', '--build', build, '--out', out]).stderr).toMatch(/E_INPUT: .* already holds fs3\.npy, S_mean_std, styleatlas-export\.json/);

    const i = cli(['import', 'fs3', join(out, 'fs3.npy'), '--stats', join(out, 'S_mean_std'), '--generator', modelDir('tiny'), '--encoder', ENCODER, '--out', back]);
    expect(i.status, i.stderr).toBe(0);
    const imported = openBuild(back);
    const dt = deltaT('red photo');
    const a = directionFromBuild(original.relevance, dt, 0.1);
    const b = directionFromBuild(imported.relevance, dt, 0.1);
    // The original also has toRGB rows, which can change max|r|; compare on the conv channels' pattern.
    const conv = (d: Float32Array) => Float32Array.from(imported.table.channel, (c) => d[c]);
    const scale = Math.max(...conv(a.deltaS).map(Math.abs)) / Math.max(...conv(b.deltaS).map(Math.abs));
    expect(relDiff(conv(b.deltaS).map((v) => v * scale), conv(a.deltaS))).toBeLessThan(1e-6);
    expect(imported.sigma).toEqual(Float64Array.from(original.sigma, Math.fround));

    const cat = at('catalogue');
    const c = cli(['catalogue', '--build', back, '--prompts', join(REPO, 'data', 'prompts', 'colour-world.json'), '--out', cat, '--no-cache', '--quiet', '--columns', '3']);
    expect(c.status, c.stderr).toBe(0);
    const s = cli(['site', 'build', '--catalogue', cat, '--out', at('site')]);
    expect(s.status, s.stderr).toBe(0);
    const page = readFileSync(at('site', 'builds', 'tiny-back', 'index.html'), 'utf8');
    expect(page).toContain('Relevance imported from');
    expect(page).toContain('data-heatmap-missing="effect"');
  }, 600_000);
});
