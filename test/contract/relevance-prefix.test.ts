/**
 * Prefix reuse, the default render graph (models/prefix-render.ts): a build that renders the
 * layers before a channel's layer once per sample gives what whole renders give, with the cut
 * graphs in onnxruntime's blocked NCHWc layout (the default on this CPU) and in the portable one; --render-to R
 * gives what the whole synthesis's block-R image gives, recomputed here by an independent loop
 * (one whole synthesis graph per variant with that block's skip image as an extra output, the
 * TypeScript PIL-exact preprocessing, the encoder's visual.onnx, Δi summed in float64); bad
 * --render-to values and combinations are refused before anything is written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { clipPreprocess } from '../../pipeline/core/preprocess.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { renderGraphFor } from '../../pipeline/models/fused.ts';
import { ModelSession, float32, nchwcBlockSize } from '../../pipeline/models/runtime.ts';
import { styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';
import { blockBoundaryNames, buildSynthesis } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { type RelevanceRun, runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { BuildDb } from '../../pipeline/store/build-db.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { modelDir } from '../helpers/bundles.ts';
import { maxAbsDiff } from '../helpers/numeric.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
// A chunk of 48 spans two 64-channel layers, batch 6 leaves short batches, 3 samples: the cut loop's edges.
const config: RelevanceRun['config'] = { samples: 3, alphaP: 5, psi: 0.7, sampleSeed: 11, statsSamples: 256, statsSeed: 700, channelSet: 'all', chunkChannels: 48, batch: 6 };
const build = (name: string, extra: Partial<RelevanceRun['config']> = {}, encoder = 'tiny-clip') =>
  runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir(encoder), outDir: join(tmp, name), config: { ...config, ...extra }, resume: false, runtime: {} });
const table = (name: string) => readRelevanceArrowFile(join(tmp, name, 'relevance.arrow'));

beforeAll(async () => {
  await build('prefix');
  await build('prefix-portable', { renderGraph: 'prefix' });
  await build('portable', { renderGraph: 'portable' });
  await build('to16', { renderTo: 16 });
}, 600_000);

it('prefix reuse (the default, blocked layout; and the portable layout) gives the whole render’s Δi, and the build says which graph it ran', async () => {
  const block = await nchwcBlockSize();
  if (block === undefined) throw new Error('this CPU has no onnxruntime NCHWc kernels; this test needs an x86-64 CPU with AVX2 or AVX-512');
  const [p, q, w] = [table('prefix'), table('prefix-portable'), table('portable')];
  expect(p.rows).toBe(704);
  expect(Array.from(p.channel)).toEqual(Array.from(w.channel));
  // Same maths, reordered floats at most: the portable layout's cut graphs run the bundle's
  // operators (≤ 1e-6); the blocked layout's its own (sub-pixel phases, fused convolutions), whose
  // rounding a unit direction of 3 samples' Δi amplifies (the bound relevance-nchwc.test.ts uses).
  expect(maxAbsDiff(q.direction, w.direction)).toBeLessThan(1e-6);
  expect(maxAbsDiff(q.effect, w.effect)).toBeLessThan(1e-6);
  expect(maxAbsDiff(p.direction, w.direction)).toBeLessThan(1e-4);
  expect(maxAbsDiff(p.effect, w.effect)).toBeLessThan(1e-5);
  expect(maxAbsDiff(p.direction, w.direction), 'the two layouts really are different computations').toBeGreaterThan(0);
  const cfg = (name: string) => JSON.parse(table(name).metadata['styleatlas.config']);
  expect(cfg('prefix').renderGraph).toBe('prefix-nchwc');
  expect(cfg('prefix-portable').renderGraph).toBe('prefix');
  expect(cfg('portable').renderGraph).toBeUndefined();
  expect(cfg('to16')).toMatchObject({ renderGraph: 'prefix-nchwc', renderTo: 16 });
  const render = (name: string) => {
    const db = new BuildDb(join(tmp, name, 'build.sqlite'), { readonly: true });
    const runs = db.runs().map((r) => r.render);
    db.close();
    return runs;
  };
  expect(render('prefix')).toEqual([`prefix reuse (onnxruntime NCHWc (block ${block}) cut at each perturbed layer): the default (auto) on the CPU provider`]);
  expect(render('prefix-portable')).toEqual(['prefix reuse (portable ONNX cut at each perturbed layer): asked for']);
  expect(render('portable')).toEqual(['bundle synthesis.onnx (portable): asked for']);
  expect(render('to16')).toEqual([`prefix reuse (onnxruntime NCHWc (block ${block}) cut at each perturbed layer, --render-to 16): the default (auto) on the CPU provider`]);
});

it('a build begun under auto by a version whose default was the portable layout resumes only as it began: E_RESUME naming the graph to ask for', async () => {
  const dir = join(tmp, 'prefix-portable');
  const resume = (extra: Partial<RelevanceRun['config']>) =>
    runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('tiny-clip'), outDir: dir, config: { ...config, ...extra }, resume: true, runtime: {} });
  await expect(resume({})).rejects.toMatchObject({ code: 'E_RESUME', message: expect.stringMatching(/renderGraph: "prefix" vs "prefix-nchwc"/), hint: expect.stringMatching(/--render-graph prefix\b/) });
  await expect(resume({ renderGraph: 'prefix' })).resolves.toBeDefined();
});

it('--render-graph prefix-nchwc is refused off the CPU provider (E_DEVICE), and auto says why it took the portable layout there', async () => {
  const gen = await Generator.open(modelDir('tiny'));
  try {
    await expect(renderGraphFor(gen, 'webgpu', 'prefix-nchwc')).rejects.toMatchObject({ code: 'E_DEVICE', message: expect.stringMatching(/--render-graph prefix-nchwc: com\.microsoft\.nchwc kernels run on the CPU provider only, this build runs on webgpu/) });
    const auto = await renderGraphFor(gen, 'webgpu', 'auto');
    expect(auto).toMatchObject({ kind: 'prefix', layout: { kind: 'portable' }, reason: expect.stringMatching(/the portable layout because com\.microsoft\.nchwc kernels run on the CPU provider only/) });
  } finally {
    await gen.release();
  }
});

it('--render-to 16 measures layers up to 16² on block 16’s image (independent loop), later layers as the full render', async () => {
  const gen = await Generator.open(modelDir('tiny'));
  const enc = await Encoder.open(modelDir('tiny-clip'), { parts: [] });
  const render = await renderGraphFor(gen, 'cpu', 'prefix');
  if (render.kind !== 'prefix') throw new Error('tiny must be cut');
  // The whole synthesis, with block 16's skip image as a second output.
  const g = buildSynthesis(render.folded());
  g.output(blockBoundaryNames(16).skip, 'skip16', 'float32', ['batch', 3, 16, 16]);
  const synth = await ModelSession.open(g.toBytes(), 'whole synthesis + skip16');
  const visual = await ModelSession.open(enc.visualBytes(), 'visual');
  const t16 = table('to16');
  const full = table('prefix');
  const D = enc.dim;
  const a = enc.manifest.architecture;
  const mu = t16.mu;
  const sigma = t16.sigma;
  const layers = gen.layout.layers;
  const byName = new Map(styleLayers(gen.arch).map((l) => [l.name, l]));
  const codes = await gen.stylesForSeeds([11, 12, 13], config.psi);
  const total = gen.layout.total;
  let checked = 0;
  let worst = 0;
  for (const l of layers) {
    const res = byName.get(l.name)!.resolution;
    for (const c of [l.offset, l.offset + Math.floor(l.channels / 2), l.offset + l.channels - 1]) {
      const row = Array.from(t16.channel).indexOf(c);
      const got = t16.direction.subarray(row * D, (row + 1) * D);
      if (res > 16) {
        // Beyond block 16 the render is the full one: the same bytes as the build without --render-to.
        expect(Array.from(got)).toEqual(Array.from(full.direction.subarray(row * D, (row + 1) * D)));
        continue;
      }
      const sum = new Float64Array(D);
      for (let n = 0; n < 3; n++) {
        const pair = new Float32Array(2 * total);
        pair.set(codes.subarray(n * total, (n + 1) * total), 0);
        pair.set(codes.subarray(n * total, (n + 1) * total), total);
        pair[c] = mu[c] + config.alphaP * sigma[c];
        pair[total + c] = mu[c] - config.alphaP * sigma[c];
        const img = (await synth.run(gen.synthesisFeeds(pair, 2), ['skip16'])).skip16.data as Float32Array;
        const px = clipPreprocess(img, 2, { inSize: 16, outSize: a.imageSize, mean: a.mean, std: a.std });
        const e = (await visual.run({ pixel_values: float32(px, [2, 3, a.imageSize, a.imageSize]) })).image_embeds.data as Float32Array;
        const unit = (v: ArrayLike<number>) => {
          const norm = Math.hypot(...Array.from(v));
          return Array.from(v, (x) => x / norm);
        };
        const [ep, em] = [unit(e.subarray(0, D)), unit(e.subarray(D, 2 * D))];
        const d = unit(ep.map((x, k) => x - em[k]));
        for (let k = 0; k < D; k++) sum[k] += d[k];
      }
      const norm = Math.hypot(...sum);
      worst = Math.max(worst, maxAbsDiff(got, Array.from(sum, (x) => x / norm)));
      checked++;
    }
  }
  expect(checked).toBe(3 * layers.filter((l) => byName.get(l.name)!.resolution <= 16).length);
  expect(worst).toBeLessThan(5e-5);
  await Promise.all([synth.release(), visual.release(), enc.release(), gen.release()]);
}, 300_000);

it('bad --render-to values and combinations are refused before the folder is touched', async () => {
  const refuse = async (name: string, extra: Partial<RelevanceRun['config']>, message: RegExp) => {
    await expect(build(name, extra)).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(message) });
    expect(existsSync(join(tmp, name))).toBe(false);
  };
  await refuse('full', { renderTo: 64 }, /--render-to 64: 64 is tiny's full resolution .*valid values: 4, 8, 16, 32/);
  await refuse('odd', { renderTo: 24 }, /--render-to 24: tiny has no block at 24²; valid values: 4, 8, 16, 32/);
  await refuse('whole', { renderTo: 16, renderGraph: 'portable' }, /--render-to needs the prefix render graph .*not --render-graph portable/);
  await refuse('nchwc', { renderTo: 16, renderGraph: 'nchwc' }, /--render-to needs the prefix render graph .*not --render-graph nchwc/);
});

it('a build resumed with another --render-to, or without it, is refused (E_RESUME naming renderTo)', async () => {
  const dir = join(tmp, 'to16');
  await expect(runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('tiny-clip'), outDir: dir, config: { ...config, renderTo: 8 }, resume: true, runtime: {} })).rejects.toMatchObject({
    code: 'E_RESUME',
    message: expect.stringMatching(/renderTo: 16 vs 8/),
  });
  await expect(runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('tiny-clip'), outDir: dir, config, resume: true, runtime: {} })).rejects.toMatchObject({
    code: 'E_RESUME',
    message: expect.stringMatching(/renderTo: 16 vs undefined/),
  });
});
