/**
 * ffhq-arch: the FFHQ-1024 shapes, built on demand (~3 s, 137 MiB) and rendered; the relevance
 * stage's NCHWc synthesis at these widths against the bundle's synthesis.onnx.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { renderGraphFor } from '../../pipeline/models/fused.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { ffhqArchRecipe } from '../../pipeline/models/recipes/stylegan2-random.ts';
import { ModelSession } from '../../pipeline/models/runtime.ts';
import { GraphBuilder } from '../../pipeline/onnx/graph.ts';
import { reorderOutput } from '../../pipeline/onnx/nchwc.ts';
import { styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';
import { styleInputName } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { addNchwcLayers } from '../../pipeline/onnx/stylegan2/nchwc-synthesis.ts';
import { relErr } from '../helpers/numeric.ts';
import { tempDir } from '../helpers/tmp.ts';

let gen: Generator;
beforeAll(async () => {
  const dir = join(tempDir(), 'ffhq-arch');
  const b = await ffhqArchRecipe.build(dir, { log: () => {} });
  if (b.manifest.kind !== 'generator') throw new Error('not a generator');
  expect(b.manifest.layers).toHaveLength(26);
  expect(b.manifest.architecture.numWs).toBe(18);
  expect(b.manifest.layers.reduce((s, l) => s + l.channels, 0)).toBe(9088);
  expect(b.manifest.layers.filter((l) => l.kind === 'conv').reduce((s, l) => s + l.channels, 0)).toBe(6048);
  gen = await Generator.open(dir);
}, 300_000);
afterAll(async () => gen?.release());

it('has the FFHQ layer table and renders 1024×1024 images', async () => {
  const image = await gen.synthesis(await gen.stylesForSeeds([0], 0.7), 1);
  expect(image.length).toBe(3 * 1024 * 1024);
  let sum = 0;
  for (const v of image) sum += v * v;
  expect(Math.sqrt(sum / image.length)).toBeGreaterThan(0.05); // a real image, not zeros
}, 300_000);

it('the NCHWc synthesis (relevance --render-graph nchwc) renders what synthesis.onnx renders, at FFHQ widths', async () => {
  const render = await renderGraphFor(gen, 'cpu', 'nchwc');
  if (render.kind !== 'nchwc') throw new Error('renderGraphFor gave another graph than the one asked for');
  // Two variants of one sample, each with one channel pushed: at b8.conv0 and at b1024.conv1.
  const codes = await gen.stylesForSeeds([5, 5], 0.7);
  const total = gen.layout.total;
  const at = (name: string) => gen.layout.layers.find((l) => l.name === name)!.offset;
  codes[at('b8.conv0') + 7] += 3;
  codes[total + at('b1024.conv1') + 5] -= 3;
  const ref = await gen.synthesis(codes, 2);
  const all = styleLayers(gen.arch);
  // Written for batch 2 (the relevance default at 1024: grouped weight modulation) and for any batch.
  for (const batch of [2, undefined]) {
    const g = new GraphBuilder('nchwc_ffhq');
    for (const l of all) g.input(styleInputName(l.name), 'float32', [batch ?? 'batch', l.channels]);
    const range = { blockSize: render.blockSize, first: 0, end: all.length, variant: new Set(all.map((l) => l.name)), batch };
    const st = addNchwcLayers(g, render.folded, range, { xBatched: false, skipBatched: false }, styleInputName);
    g.output(reorderOutput(g, st.skip!, 3), 'image', 'float32');
    const s = await ModelSession.open(g.toBytes(), 'nchwc ffhq', {});
    try {
      const image = (await s.run(gen.synthesisFeeds(codes, 2))).image.data as Float32Array;
      const e = relErr(image, ref);
      console.log(`ffhq-arch NCHWc vs synthesis.onnx, batch ${batch ?? 'any'}: relErr ${e.toExponential(2)}`);
      expect(e, `batch ${batch}`).toBeLessThan(1e-5);
    } finally {
      await s.release();
    }
  }
}, 300_000);
