/**
 * The ONNX StyleGAN2 against the independent TypeScript reference (test/reference), on the tiny
 * shapes with random weights: mapping, styles, synthesis and the whole z → image path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { latentZ } from '../../pipeline/core/rng.ts';
import { broadcastWs, truncate } from '../../pipeline/core/styles.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { randomStyleGAN2Weights, tinyArch } from '../../pipeline/models/recipes/stylegan2-random.ts';
import { styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';
import { foldSynthesis } from '../../pipeline/onnx/stylegan2/folded.ts';
import { blockBoundaryNames, buildSynthesisBlockGraph, styleInputName } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { modelDir } from '../helpers/bundles.ts';
import { relErr } from '../helpers/numeric.ts';
import { refGenerate, refMapping, refStyles, refSynthesis } from '../reference/stylegan2-ref.ts';

const arch = tinyArch();
const sd = randomStyleGAN2Weights(arch, 1); // the tiny recipe's seed
let gen: Generator;

beforeAll(async () => {
  gen = await Generator.open(modelDir('tiny'));
  return () => gen.release();
});

describe('tiny StyleGAN2: ONNX vs TypeScript reference', () => {
  it('mapping agrees to 1e-4 relative', async () => {
    const z = new Float32Array(3 * arch.zDim);
    for (let b = 0; b < 3; b++) z.set(latentZ(100 + b, 0, arch.zDim), b * arch.zDim);
    const w = await gen.mapping(z, 3);
    for (let b = 0; b < 3; b++) {
      const ref = refMapping(arch, sd, z.subarray(b * arch.zDim, (b + 1) * arch.zDim));
      expect(relErr(w.subarray(b * arch.wDim, (b + 1) * arch.wDim), ref)).toBeLessThan(1e-4);
    }
  });

  it('styles agree to 1e-4 relative, with a different w per layer', async () => {
    const nws = gen.manifest.architecture.numWs;
    const ws = new Float32Array(nws * arch.wDim);
    for (let k = 0; k < nws; k++) ws.set(latentZ(200 + k, 0, arch.wDim), k * arch.wDim);
    const s = await gen.styles(ws, 1);
    const ref = refStyles(arch, sd, Array.from({ length: nws }, (_, k) => ws.subarray(k * arch.wDim, (k + 1) * arch.wDim)));
    for (const l of gen.layout.layers) expect(relErr(s.subarray(l.offset, l.offset + l.channels), ref.get(l.name)!)).toBeLessThan(1e-4);
  });

  it('synthesis agrees to 1e-4 relative on random styles (batch of 2)', async () => {
    const s = new Float32Array(2 * gen.layout.total);
    s.set(latentZ(300, 0, s.length));
    const image = await gen.synthesis(s, 2);
    const plane = 3 * arch.resolution ** 2;
    for (let b = 0; b < 2; b++) {
      const styles = new Map(gen.layout.layers.map((l) => [l.name, s.slice(b * gen.layout.total + l.offset, b * gen.layout.total + l.offset + l.channels)]));
      expect(relErr(image.subarray(b * plane, (b + 1) * plane), refSynthesis(arch, sd, styles))).toBeLessThan(1e-4);
    }
  });

  it('styles.onnx then synthesis.onnx equals the reference full forward from z', async () => {
    const image = await gen.synthesis(await gen.stylesForSeeds([5], 0.7), 1);
    expect(relErr(image, refGenerate(arch, sd, latentZ(5, 0, arch.zDim), gen.wAvg, 0.7))).toBeLessThan(1e-4);
  });

  it('truncation ψ = 1 is the identity and ψ = 0 gives the average image for every seed', async () => {
    const z = latentZ(9, 0, arch.zDim);
    const w = await gen.mapping(z, 1);
    const s1 = await gen.stylesForSeeds([9], 1);
    expect(Array.from(s1)).toEqual(Array.from(await gen.styles(broadcastWs(w, 1, gen.manifest.architecture.numWs), 1)));
    const a = await gen.stylesForSeeds([1], 0);
    const b = await gen.stylesForSeeds([2], 0);
    expect(relErr(a, b)).toBeLessThan(1e-6);
    expect(Array.from(truncate(w, gen.wAvg, 1))).toEqual(Array.from(w));
  });

  it('the same seed gives the same image bit for bit, across sessions', async () => {
    const a = await gen.synthesis(await gen.stylesForSeeds([11, 12], 0.7), 2);
    const other = await Generator.open(modelDir('tiny'));
    try {
      const b = await other.synthesis(await other.stylesForSeeds([11, 12], 0.7), 2);
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
      const c = await other.synthesis(await other.stylesForSeeds([13], 0.7), 1);
      expect(relErr(c, a.subarray(0, c.length))).toBeGreaterThan(0.05);
    } finally {
      await other.release();
    }
  });

  it('per-resolution block graphs chained give the full synthesis', async () => {
    const s = await gen.stylesForSeeds([21], 0.7);
    const full = await gen.synthesis(s, 1);
    let x: Float32Array | undefined;
    let skip: Float32Array | undefined;
    for (let r = 4; r <= arch.resolution; r *= 2) {
      const session = await ModelSession.open(buildSynthesisBlockGraph(foldSynthesis(arch, sd), r).toBytes(), `block ${r}`);
      const feeds: Record<string, ReturnType<typeof float32>> = {};
      if (r > 4) {
        feeds.x_in = float32(x!, [1, arch.channels[r / 2], r / 2, r / 2]);
        feeds.skip_in = float32(skip!, [1, 3, r / 2, r / 2]);
      }
      for (const l of styleLayers(arch).filter((q) => q.resolution === r)) {
        const off = gen.layout.layers.find((q) => q.name === l.name)!.offset;
        feeds[styleInputName(l.name)] = float32(s.slice(off, off + l.channels), [1, l.channels]);
      }
      const out = await session.run(feeds);
      x = out.x.data as Float32Array;
      skip = out.skip.data as Float32Array;
      await session.release();
    }
    expect(relErr(skip!, full)).toBeLessThan(1e-6);
    expect(blockBoundaryNames(8)).toEqual({ x: 'block8_x', skip: 'block8_skip' });
  });
});
