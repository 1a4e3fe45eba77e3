/**
 * The hand-written NCHWc graphs (pipeline/onnx/nchwc.ts, stylegan2/nchwc-synthesis.ts) against
 * onnxruntime's own standard operators, and the NCHWc synthesis against the bundle's portable
 * graph on the tiny generator: every layer as the perturbed one, whole and cut at the seam.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../../pipeline/models/generator.ts';
import { buildPrefixGraph, seamShapes } from '../../pipeline/models/render-graphs.ts';
import { ModelSession, float32, nchwcBlockSize } from '../../pipeline/models/runtime.ts';
import { GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { float32Initializers } from '../../pipeline/onnx/initializers.ts';
import { NCHWC_BLOCK_SIZES, blockActivation, blockFilter, interleavePhases, nchwcConv, nchwcProbe, reorderInput, reorderOutput } from '../../pipeline/onnx/nchwc.ts';
import { f32 } from '../../pipeline/onnx/params.ts';
import { styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';
import { type FoldedSynthesis, foldSynthesis, readFoldedSynthesis } from '../../pipeline/onnx/stylegan2/folded.ts';
import { styleInputName } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { addNchwcLayers } from '../../pipeline/onnx/stylegan2/nchwc-synthesis.ts';
import { randomStyleGAN2Weights, tinyArch } from '../../pipeline/models/recipes/stylegan2-random.ts';
import { modelDir } from '../helpers/bundles.ts';
import { maxAbsDiff, relErr } from '../helpers/numeric.ts';

let b: number;
let gen: Generator;
let folded: FoldedSynthesis;

beforeAll(async () => {
  const found = await nchwcBlockSize();
  if (found === undefined) throw new Error('this CPU has no onnxruntime NCHWc kernels; these tests need an x86-64 CPU with AVX2 or AVX-512');
  b = found;
  gen = await Generator.open(modelDir('tiny'));
  const label = 'tiny/synthesis.onnx';
  const inits = float32Initializers(readFileSync(`${modelDir('tiny')}/synthesis.onnx`), label);
  folded = readFoldedSynthesis(gen.arch, (n) => inits.get(n), label);
  return () => gen.release();
});

const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + 0.3));

async function run(g: GraphBuilder, feeds: Record<string, ReturnType<typeof float32>>) {
  const s = await ModelSession.open(g.toBytes(), 'test graph', {});
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

describe('NCHWc building blocks', () => {
  it('finds the CPU block size by a probe that fails with the other size', async () => {
    expect(NCHWC_BLOCK_SIZES).toContain(b);
    const other = NCHWC_BLOCK_SIZES.find((q) => q !== b)!;
    const probe = nchwcProbe(other);
    const s = await ModelSession.open(probe.model, 'probe', {});
    const y = (await s.run({ x: float32(probe.x, [1, 16, 1, 2]) })).y.data as Float32Array;
    await s.release();
    expect(maxAbsDiff(y, probe.expected)).toBeGreaterThan(0.01);
  });

  it('blockActivation writes the bytes ReorderInput writes', async () => {
    const g = new GraphBuilder('reorder');
    const x = g.input('x', 'float32', [2, 32, 3, 5]);
    g.output(g.op('Identity', [reorderInput(g, x)]), 'y', 'float32');
    const data = wave(2 * 32 * 15, 0.7);
    const y = (await run(g, { x: float32(data, [2, 32, 3, 5]) })).y.data as Float32Array;
    expect(Array.from(y)).toEqual(Array.from(blockActivation(data, 2, 32, 3, 5, b)));
  });

  it('a blocked conv with bias, Sum and LeakyRelu equals Conv → Add → Add → LeakyRelu', async () => {
    const [c, h] = [32, 6];
    const w = wave(c * c * 9, 1.3).map((v) => v * 0.1);
    const bias = wave(c, 2.1);
    const sum = wave(c * h * h, 0.9);
    const x = wave(c * h * h, 0.4);
    const ref = new GraphBuilder('ref');
    const xr = ref.input('x', 'float32', [1, c, h, h]);
    const conv = ref.op('Conv', [xr, ref.initializer('w', f32([c, c, 3, 3], w))], { pads: attr.ints([1, 1, 1, 1]) });
    const pre = ref.op('Add', [ref.op('Add', [conv, ref.initializer('b', f32([1, c, 1, 1], bias))]), ref.initializer('s', f32([1, c, h, h], sum))]);
    ref.output(ref.op('LeakyRelu', [pre], { alpha: attr.f(0.2) }), 'y', 'float32');
    const g = new GraphBuilder('blocked');
    const xi = g.input('x', 'float32', [1, c, h, h]);
    const sumB = reorderInput(g, g.initializer('s', f32([1, c, h, h], sum)));
    const y = nchwcConv(g, reorderInput(g, xi), g.initializer('w', f32([c, c, 3, 3], blockFilter(w, c, c, 3, 3, b))), {
      pads: [1, 1, 1, 1],
      bias: g.initializer('b', f32([c], bias)),
      sum: sumB,
      activation: { kind: 'LeakyRelu', alpha: 0.2 },
    });
    g.output(reorderOutput(g, y, c), 'y', 'float32');
    const feeds = { x: float32(x, [1, c, h, h]) };
    expect(maxAbsDiff((await run(g, feeds)).y.data as Float32Array, (await run(ref, feeds)).y.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('interleavePhases equals DepthToSpace (DCR) of the concatenated phases, per sample and channel block', async () => {
    // Two samples and two channel blocks, so the Gather's rows cross both.
    const [n, c, h, w] = [2, 2 * b, 3, 5];
    const phases = [0, 1, 2, 3].map((k) => wave(n * c * h * w, 0.3 + k));
    const ref = new GraphBuilder('d2s');
    const ins = phases.map((_, k) => ref.input(`p${k}`, 'float32', [n, c, h, w]));
    // DCR: depth index (2a + b)·C + c, so per sample the phases are stacked whole.
    ref.output(ref.op('DepthToSpace', [ref.op('Concat', ins, { axis: attr.i(1) })], { blocksize: attr.i(2), mode: attr.s('DCR') }), 'y', 'float32');
    const g = new GraphBuilder('interleave');
    const pin = phases.map((_, k) => reorderInput(g, g.input(`p${k}`, 'float32', [n, c, h, w])));
    g.output(reorderOutput(g, interleavePhases(g, pin, c, h, w, b), c), 'y', 'float32');
    const feeds = Object.fromEntries(phases.map((p, k) => [`p${k}`, float32(p, [n, c, h, w])]));
    const got = (await run(g, feeds)).y;
    expect(got.dims).toEqual([n, c, 2 * h, 2 * w]);
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from((await run(ref, feeds)).y.data as Float32Array));
  });
});

describe('NCHWc synthesis (tiny) against the portable synthesis', () => {
  it('reads the same folded weights back from synthesis.onnx that the recipe folded', () => {
    const fromRecipe = foldSynthesis(tinyArch(), randomStyleGAN2Weights(tinyArch(), 1));
    expect(Array.from(folded.input)).toEqual(Array.from(fromRecipe.input));
    for (const [name, l] of fromRecipe.layers) {
      const r = folded.layers.get(name)!;
      expect(Array.from(r.weight), name).toEqual(Array.from(l.weight));
      expect(Array.from(r.bias), name).toEqual(Array.from(l.bias));
      if (l.noise) expect(Array.from(r.noise!), name).toEqual(Array.from(l.noise));
    }
  });

  it('with any one layer perturbed per variant, whole or cut at that layer, renders what synthesis.onnx renders', async () => {
    const all = styleLayers(gen.arch);
    const own = await gen.stylesForSeeds([7], 0.7);
    const B = 3;
    for (const [li, l] of all.entries()) {
      const info = gen.layout.layers[li];
      const full = new Float32Array(B * gen.layout.total);
      for (let v = 0; v < B; v++) {
        full.set(own, v * gen.layout.total);
        full[v * gen.layout.total + info.offset + ((5 * v) % info.channels)] += (v + 1) * 2;
      }
      const ref = await gen.synthesis(full, B);
      const styleFeed = (i: number) => {
        const q = gen.layout.layers[i];
        const rows = i === li ? B : 1;
        const a = new Float32Array(rows * q.channels);
        for (let v = 0; v < rows; v++) a.set(full.subarray(v * gen.layout.total + q.offset, v * gen.layout.total + q.offset + q.channels), v * q.channels);
        return float32(a, [rows, q.channels]);
      };
      // whole: one graph, layer li variant
      const whole = new GraphBuilder('whole');
      for (const [i, q] of all.entries()) whole.input(styleInputName(q.name), 'float32', [i === li ? 'batch' : 1, q.channels]);
      const st = addNchwcLayers(whole, folded, { blockSize: b, first: 0, end: all.length, variant: new Set([l.name]) }, { xBatched: false, skipBatched: false }, styleInputName);
      whole.output(reorderOutput(whole, st.skip!, 3), 'image', 'float32');
      const wholeFeeds = Object.fromEntries(all.map((q, i) => [styleInputName(q.name), styleFeed(i)]));
      const image = (await run(whole, wholeFeeds)).image.data as Float32Array;
      expect(relErr(image, ref), `whole, ${l.name} perturbed`).toBeLessThan(1e-5);
      if (li === 0) continue;
      // cut: prefix(li) at batch 1, then layers li … from its x and skip
      const prefixFeeds = Object.fromEntries(all.slice(0, li).map((q, i) => [styleInputName(q.name), styleFeed(i)]));
      const seam = await run(buildPrefixGraph(folded, { kind: 'nchwc', blockSize: b }, li), prefixFeeds);
      const shapes = seamShapes(gen.arch, li, { kind: 'nchwc', blockSize: b });
      const cut = new GraphBuilder('cut');
      const start = { x: cut.input('x_in', 'float32', shapes.x!), skip: shapes.skip ? cut.input('skip_in', 'float32', shapes.skip) : undefined };
      for (const [i, q] of all.entries()) if (i >= li) cut.input(styleInputName(q.name), 'float32', [i === li ? 'batch' : 1, q.channels]);
      const cs = addNchwcLayers(cut, folded, { blockSize: b, first: li, end: all.length, variant: new Set([l.name]) }, { ...start, xBatched: false, skipBatched: false }, styleInputName);
      cut.output(reorderOutput(cut, cs.skip!, 3), 'image', 'float32');
      const cutFeeds = { ...Object.fromEntries(all.map((q, i) => [styleInputName(q.name), styleFeed(i)]).filter((_, i) => i >= li)), x_in: seam.x, ...(seam.skip ? { skip_in: seam.skip } : {}) };
      const cutImage = (await run(cut, cutFeeds)).image.data as Float32Array;
      expect(relErr(cutImage, ref), `cut at ${l.name}`).toBeLessThan(1e-5);
    }
  }, 120_000);
});
