/**
 * The relevance stage's fused render+encode model with the NCHWc synthesis (the CPU default)
 * against the same model with the bundle's portable synthesis.onnx: one batch whose rows perturb
 * channels of different layers, as a relevance batch does; the choice of render graph and its
 * reasons; and conv_clamp, which the NCHWc writer applies where the portable graph does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { buildRenderEncodeModel, renderGraphFor } from '../../pipeline/models/fused.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { randomStyleGAN2Weights, tinyArch } from '../../pipeline/models/recipes/stylegan2-random.ts';
import { ModelSession, type TensorValue, nchwcBlockSize } from '../../pipeline/models/runtime.ts';
import { viewModel } from '../../pipeline/onnx/grad/model.ts';
import { GraphBuilder } from '../../pipeline/onnx/graph.ts';
import { NCHWC_DOMAIN, reorderOutput } from '../../pipeline/onnx/nchwc.ts';
import { styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';
import { foldSynthesis } from '../../pipeline/onnx/stylegan2/folded.ts';
import { buildSynthesis, styleInputName } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { NCHWC_PASS_ROLES, addNchwcLayers, nchwcPassRole } from '../../pipeline/onnx/stylegan2/nchwc-synthesis.ts';
import { modelDir } from '../helpers/bundles.ts';
import { maxAbsDiff, relErr } from '../helpers/numeric.ts';

let gen: Generator;
let enc: Encoder;

beforeAll(async () => {
  if ((await nchwcBlockSize()) === undefined) throw new Error('this CPU has no onnxruntime NCHWc kernels; these tests need an x86-64 CPU with AVX2 or AVX-512');
  gen = await Generator.open(modelDir('tiny'));
  enc = await Encoder.open(modelDir('tiny-clip'), { parts: [] });
});
afterAll(async () => {
  await enc?.release();
  await gen?.release();
});

async function run(model: Uint8Array, feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>> {
  const s = await ModelSession.open(model, 'test model', {});
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Six renders of two samples, each row with one channel pushed far out, in a different layer per row. */
async function mixedBatch(): Promise<{ codes: Float32Array; rows: number }> {
  const own = await gen.stylesForSeeds([11, 12], 0.7);
  const total = gen.layout.total;
  const rows = 6;
  const codes = new Float32Array(rows * total);
  const layers = gen.layout.layers;
  for (let r = 0; r < rows; r++) {
    codes.set(own.subarray((r % 2) * total, (r % 2 + 1) * total), r * total);
    const l = layers[(r * 5) % layers.length];
    codes[r * total + l.offset + ((3 * r) % l.channels)] += r % 2 ? -4 : 4;
  }
  return { codes, rows };
}

describe('the fused relevance model', () => {
  it('renders and encodes with the NCHWc synthesis what it does with the bundle synthesis.onnx', async () => {
    const render = await renderGraphFor(gen, 'cpu', 'nchwc');
    expect(render.kind).toBe('nchwc');
    const portable = await renderGraphFor(gen, 'cpu', 'portable');
    expect(portable.kind).toBe('bundle');
    const { codes, rows } = await mixedBatch();
    const feeds = gen.synthesisFeeds(codes, rows);
    const b = await run(buildRenderEncodeModel(gen, enc, { withImage: true, render: portable }), feeds);
    const imageB = b.image.data as Float32Array;
    // Any batch (activations modulated), and written for this batch (grouped weight modulation).
    for (const batch of [undefined, rows]) {
      const a = await run(buildRenderEncodeModel(gen, enc, { withImage: true, render, batch }), feeds);
      const imageA = a.image.data as Float32Array;
      expect(imageA.length).toBe(rows * 3 * 64 * 64);
      expect(relErr(imageA, imageB), `batch ${batch}`).toBeLessThan(1e-5);
      expect(relErr(a.image_embeds.data as Float32Array, b.image_embeds.data as Float32Array), `batch ${batch}`).toBeLessThan(1e-5);
    }
    const imageA = (await run(buildRenderEncodeModel(gen, enc, { withImage: true, render, batch: rows }), feeds)).image.data as Float32Array;
    // The rows really differ (the comparison is not of six copies of one image).
    expect(maxAbsDiff(imageA.subarray(0, 3 * 64 * 64), imageA.subarray(2 * 3 * 64 * 64, 3 * 3 * 64 * 64))).toBeGreaterThan(0.01);
  }, 120_000);

  it('written for one batch, renders each row from its own codes alone: a padded last batch gives the rows it holds', async () => {
    const render = await renderGraphFor(gen, 'cpu', 'nchwc');
    const { codes, rows } = await mixedBatch();
    const total = gen.layout.total;
    const model = buildRenderEncodeModel(gen, enc, { render, batch: rows });
    const full = (await run(model, gen.synthesisFeeds(codes, rows))).image_embeds.data as Float32Array;
    const padded = codes.slice();
    for (let r = 4; r < rows; r++) padded.copyWithin(r * total, 0, total); // what relevance.ts pads with
    const short = (await run(model, gen.synthesisFeeds(padded, rows))).image_embeds.data as Float32Array;
    const d = enc.dim;
    expect(Array.from(short.subarray(0, 4 * d))).toEqual(Array.from(full.subarray(0, 4 * d)));
    expect(Array.from(short.subarray(4 * d, 5 * d))).toEqual(Array.from(full.subarray(0, d)));
  }, 120_000);

  it('computes no shapes at run time (no Shape, Size or ConstantOfShape)', async () => {
    const render = await renderGraphFor(gen, 'cpu', 'nchwc');
    for (const batch of [undefined, 6]) {
      const ops = viewModel(buildRenderEncodeModel(gen, enc, { withImage: true, render, batch }), 'fused nchwc').nodes.map((n) => n.op);
      expect(ops).toContain('Conv'); // the model was read (an empty list would pass the check below)
      expect(ops.filter((op) => ['Shape', 'Size', 'ConstantOfShape'].includes(op))).toEqual([]);
    }
  });

  it('names every blocked convolution by its pass role, for the bench to split the profile by', async () => {
    const render = await renderGraphFor(gen, 'cpu', 'nchwc');
    const nodes = viewModel(buildRenderEncodeModel(gen, enc, { withImage: true, render }), 'fused nchwc').nodes;
    const convs = nodes.filter((n) => n.op === `${NCHWC_DOMAIN}.Conv`);
    expect(convs.length).toBeGreaterThan(0);
    expect(convs.filter((n) => nchwcPassRole(n.name) === undefined).map((n) => n.name)).toEqual([]);
    const roles = nodes.map((n) => nchwcPassRole(n.name));
    expect(new Set(roles.filter((r) => r !== undefined))).toEqual(new Set(Object.keys(NCHWC_PASS_ROLES)));
    const layers = styleLayers(tinyArch());
    // One blur per up-sampling conv; four phase convolutions each, one dense convolution per other conv layer.
    expect(roles.filter((r) => r === 'blur').length).toBe(layers.filter((l) => l.upsample).length);
    const conv = layers.filter((l) => l.kind === 'conv');
    expect(roles.filter((r) => r === 'conv').length).toBe(conv.reduce((t, l) => t + (l.upsample ? 4 : 1), 0));
  });

  it('refuses the NCHWc graph off the CPU with a coded error (the portable one runs anywhere)', async () => {
    for (const device of ['cuda', 'webgpu'] as const) {
      await expect(renderGraphFor(gen, device, 'nchwc')).rejects.toMatchObject({ code: 'E_DEVICE', message: expect.stringMatching(/CPU provider only, this build runs on/) });
      expect((await renderGraphFor(gen, device, 'portable')).kind).toBe('bundle');
    }
  });
});

describe('conv_clamp in the NCHWc synthesis', () => {
  it('clamps where the portable graph clamps (conv outputs and toRGB before the skip)', async () => {
    const sd = randomStyleGAN2Weights(tinyArch(), 1);
    const all = styleLayers(tinyArch());
    const { codes, rows } = await mixedBatch();
    const feeds = gen.synthesisFeeds(codes, rows);
    const render = async (clamp: number | undefined) => {
      const folded = foldSynthesis(clamp === undefined ? tinyArch() : { ...tinyArch(), convClamp: clamp }, sd);
      const portable = (await run(buildSynthesis(folded).toBytes(), feeds)).image.data as Float32Array;
      const g = new GraphBuilder('nchwc_whole');
      for (const l of all) g.input(styleInputName(l.name), 'float32', ['batch', l.channels]);
      const range = { blockSize: (await nchwcBlockSize())!, first: 0, end: all.length, variant: new Set(all.map((l) => l.name)) };
      const st = addNchwcLayers(g, folded, range, { xBatched: false, skipBatched: false }, styleInputName);
      g.output(reorderOutput(g, st.skip!, 3), 'image', 'float32');
      const nchwc = (await run(g.toBytes(), feeds)).image.data as Float32Array;
      return { portable, nchwc };
    };
    const free = await render(undefined);
    const clamped = await render(0.25);
    expect(maxAbsDiff(clamped.portable, free.portable), 'the clamp must act on these weights').toBeGreaterThan(0.05);
    expect(relErr(clamped.nchwc, clamped.portable)).toBeLessThan(1e-5);
    expect(relErr(free.nchwc, free.portable)).toBeLessThan(1e-5);
  }, 120_000);
});
