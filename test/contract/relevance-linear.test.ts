/**
 * Linear-world oracle: when render → encode is affine in s, Δi_c has a closed form. The
 * pipeline (fused session, batching, pairing, accumulation) must reproduce it for every channel.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { clipPreprocess } from '../../pipeline/core/preprocess.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { BuildDb } from '../../pipeline/store/build-db.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { computeStyleStats } from '../../pipeline/stages/stats.ts';
import { modelDir } from '../helpers/bundles.ts';
import { type LinearWorld, buildLinearWorld } from '../helpers/linear-world.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const config = { samples: 3, alphaP: 5, psi: 0.7, sampleSeed: 40, statsSamples: 3000, statsSeed: 9000, channelSet: 'all' as const, chunkChannels: 50, batch: 14 };
let world: LinearWorld;

beforeAll(async () => {
  const tiny = await Generator.open(modelDir('tiny'));
  const st = await computeStyleStats(tiny, { samples: config.statsSamples, seed: config.statsSeed, psi: config.psi });
  await tiny.release();
  world = await buildLinearWorld(tmp, st.mu, st.sigma);
});

/** e(s) in float64 (preprocessing through the TypeScript reference). */
function embed(w: LinearWorld, s: Float64Array, mean: readonly [number, number, number], std: readonly [number, number, number]): Float64Array {
  const r = w.resolution;
  const img = Float32Array.from(w.bias);
  for (let c = 0; c < s.length; c++) img[c] += w.gain[c] * (s[c] - w.centre[c]);
  let maxAbs = 0;
  for (const v of img) maxAbs = Math.max(maxAbs, Math.abs(v));
  expect(maxAbs, 'the oracle needs images inside (-1, 1)').toBeLessThan(0.9);
  const px = clipPreprocess(img, 1, { inSize: r, outSize: w.imageSize, mean, std });
  const e = Float64Array.from(w.q);
  const inDim = px.length;
  for (let d = 0; d < w.dim; d++) for (let i = 0; i < inDim; i++) e[d] += w.P[d * inDim + i] * px[i];
  return e;
}

const unit = (v: Float64Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

it('Δi_c equals the closed form to 1e-5 for every channel (all 704 channels, conv and toRGB)', async () => {
  const out = join(tmp, 'build');
  const summary = await runRelevanceBuild({ generatorDir: world.generatorDir, encoderDir: world.encoderDir, outDir: out, config, resume: false, runtime: {} });
  expect(summary.complete).toBe(true);
  // An affine synthesis has no StyleGAN2 weights to cut at a layer: the default says so and renders whole.
  expect(summary.renderGraph).toMatch(/^bundle synthesis\.onnx \(portable\): the default \(auto\): synthesis\.onnx holds no StyleGAN2 weights StyleAtlas can read .*, so no prefix reuse$/);
  // Its affine synthesis has no StyleGAN2 weights to write an NCHWc graph from: refused before anything is written.
  const refused = join(tmp, 'nchwc');
  await expect(runRelevanceBuild({ generatorDir: world.generatorDir, encoderDir: world.encoderDir, outDir: refused, config: { ...config, renderGraph: 'nchwc' }, resume: false, runtime: {} })).rejects.toMatchObject({
    code: 'E_INPUT',
    message: expect.stringMatching(/--render-graph nchwc: linear-generator: synthesis\.onnx holds no StyleGAN2 weights StyleAtlas can read/),
  });
  expect(existsSync(refused)).toBe(false);
  const table = readRelevanceArrowFile(join(out, 'relevance.arrow'));
  expect(table.rows).toBe(704);
  const db = new BuildDb(join(out, 'build.sqlite'), { readonly: true });
  const { mu, sigma } = db.loadStats(704);
  db.close();
  // The file holds the statistics the perturbations used, float64 bit for bit.
  expect(Array.from(table.mu)).toEqual(Array.from(mu));
  expect(Array.from(table.sigma)).toEqual(Array.from(sigma));
  const gen = await Generator.open(world.generatorDir);
  // And those statistics are right: μ, σ (population, as NumPy's std) of the 3000 seeded styles,
  // recomputed here by a plain two-pass sum over the styles themselves, not read from any build.
  const seeds = Array.from({ length: config.statsSamples }, (_, i) => config.statsSeed + i);
  const styles: Float32Array[] = [];
  for (let i = 0; i < seeds.length; i += 500) styles.push(await gen.stylesForSeeds(seeds.slice(i, i + 500), config.psi));
  const sum = new Float64Array(704);
  for (const b of styles) for (let k = 0; k < b.length; k++) sum[k % 704] += b[k];
  const refMu = sum.map((v) => v / seeds.length);
  const sq = new Float64Array(704);
  for (const b of styles) for (let k = 0; k < b.length; k++) sq[k % 704] += (b[k] - refMu[k % 704]) ** 2;
  const refSigma = sq.map((v) => Math.sqrt(v / seeds.length));
  let worstStat = 0;
  for (let c = 0; c < 704; c++) worstStat = Math.max(worstStat, Math.abs(mu[c] - refMu[c]) / refSigma[c], Math.abs(sigma[c] - refSigma[c]) / refSigma[c]);
  console.log(`linear-world statistics: max |μ, σ − two-pass| / σ = ${worstStat.toExponential(2)}`);
  expect(worstStat).toBeLessThan(1e-9);
  const codes = await gen.stylesForSeeds([40, 41, 42], config.psi);
  await gen.release();
  const mean: [number, number, number] = [0.5, 0.4, 0.3];
  const std: [number, number, number] = [0.25, 0.3, 0.2];
  let worst = 0;
  for (let row = 0; row < table.rows; row++) {
    const c = table.channel[row];
    const acc = new Float64Array(world.dim);
    for (let n = 0; n < 3; n++) {
      const s = Float64Array.from(codes.subarray(n * 704, (n + 1) * 704));
      const plus = s.slice();
      const minus = s.slice();
      plus[c] = mu[c] + 5 * sigma[c];
      minus[c] = mu[c] - 5 * sigma[c];
      const d = unit(embed(world, plus, mean, std)).map((v, i) => v - unit(embed(world, minus, mean, std))[i]);
      const nd = unit(d);
      for (let i = 0; i < world.dim; i++) acc[i] += nd[i] / 3;
    }
    const expected = unit(acc);
    for (let i = 0; i < world.dim; i++) worst = Math.max(worst, Math.abs(expected[i] - table.direction[row * world.dim + i]));
  }
  console.log(`linear-world oracle: max |Δi − closed form| = ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-5);
  expect(Array.from(table.channel)).toEqual(Array.from({ length: 704 }, (_, i) => i));
}, 300_000);
