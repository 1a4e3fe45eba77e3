/**
 * The preprocessing graph (pipeline/onnx/preprocess.ts) against the plain-loop reference
 * (pipeline/core/preprocess.ts), through onnxruntime, on random images that overshoot [-1, 1]
 * (so every clamp is exercised), downsampling, upsampling and non-square.
 */
import { describe, expect, it } from 'vitest';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { type ClipPreprocessSpec, bicubic, centerCropOffset, clipPreprocess, pilBicubicTaps, resizedShape } from '../../pipeline/core/preprocess.ts';
import { CLIP_MEAN, CLIP_STD } from '../../pipeline/models/encoder-bundle.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { bicubicResizeMatrix, buildPreprocessGraph } from '../../pipeline/onnx/preprocess.ts';
import { maxAbsDiff } from '../helpers/numeric.ts';

function randomImage(seed: number, batch: number, h: number, w: number): Float32Array {
  const rng = new Xoshiro128(seed, 0);
  return Float32Array.from({ length: batch * 3 * h * w }, () => 1.2 * (2 * rng.nextUniform() - 1));
}

async function runGraph(spec: ClipPreprocessSpec, image: Float32Array, batch: number): Promise<Float32Array> {
  const [h, w] = typeof spec.inSize === 'number' ? [spec.inSize, spec.inSize] : spec.inSize;
  const session = await ModelSession.open(buildPreprocessGraph(spec).toBytes(), 'preprocess');
  try {
    const { pixel_values } = await session.run({ image: float32(image, [batch, 3, h, w]) });
    expect(pixel_values.dims).toEqual([batch, 3, spec.outSize, spec.outSize]);
    return pixel_values.data as Float32Array;
  } finally {
    await session.release();
  }
}

const spec = (inSize: ClipPreprocessSpec['inSize'], outSize: number): ClipPreprocessSpec => ({ inSize, outSize, mean: CLIP_MEAN, std: CLIP_STD });

describe('preprocessing graph vs TypeScript reference', () => {
  const cases: [string, ClipPreprocessSpec][] = [
    ['64 → 32 (tiny generator, tiny CLIP)', spec(64, 32)],
    ['64 → 224 (upsampling)', spec(64, 224)],
    ['1024 → 224 (FFHQ, ViT-B/32)', spec(1024, 224)],
    ['256 → 224 (mild downsampling)', spec(256, 224)],
    ['96×160 → 64 (landscape: resize then center crop)', spec([96, 160], 64)],
    ['150×75 → 50 (portrait, odd crop offset)', spec([150, 75], 50)],
  ];
  for (const [name, s] of cases) {
    it(`${name}: max |graph − reference| ≤ 1e-5`, async () => {
      const [h, w] = typeof s.inSize === 'number' ? [s.inSize, s.inSize] : s.inSize;
      const batch = 2;
      const image = randomImage(h * 7 + w, batch, h, w);
      const ref = clipPreprocess(image, batch, s);
      const graph = await runGraph(s, image, batch);
      expect(maxAbsDiff(graph, ref)).toBeLessThanOrEqual(1e-5);
      // The two batch items differ: the graph does not mix or drop samples.
      const half = ref.length / 2;
      expect(maxAbsDiff(graph.subarray(0, half), graph.subarray(half))).toBeGreaterThan(0.1);
    });
  }

  it('a constant image stays constant; an equal-size image is only clamped and normalised', async () => {
    const flat = new Float32Array(3 * 64 * 64).fill(0.3);
    const out = await runGraph(spec(64, 24), flat, 1);
    for (let c = 0; c < 3; c++) {
      const want = ((0.3 + 1) / 2 - CLIP_MEAN[c]) / CLIP_STD[c];
      expect(maxAbsDiff(out.subarray(c * 576, (c + 1) * 576), new Float32Array(576).fill(want))).toBeLessThan(1e-5);
    }
    const image = randomImage(9, 1, 32, 32);
    const same = await runGraph(spec(32, 32), image, 1);
    const want = image.map((v, i) => {
      const c = Math.floor(i / 1024);
      return (Math.min(Math.max((v + 1) / 2, 0), 1) - CLIP_MEAN[c]) / CLIP_STD[c];
    });
    expect(maxAbsDiff(same, want)).toBeLessThan(1e-5);
  });
});

describe('resampling weights', () => {
  it("the kernel is Keys' cubic with a = −0.5 (1 at 0, 0 at the integers, −0.0625 at 1.5)", () => {
    expect(bicubic(0)).toBe(1);
    expect(Math.abs(bicubic(1))).toBe(0);
    expect(Math.abs(bicubic(2))).toBe(0);
    expect(bicubic(0.5)).toBeCloseTo(0.5625, 12);
    expect(bicubic(-1.5)).toBeCloseTo(-0.0625, 12);
  });

  it("the graph's dense matrix equals PIL's windowed taps, widened ×(in/out) when downsampling", () => {
    for (const [inSize, outSize] of [[1024, 224], [64, 224], [64, 32], [7, 3]]) {
      const m = bicubicResizeMatrix(inSize, outSize, 0, outSize);
      for (let i = 0; i < outSize; i++) {
        const { first, weights } = pilBicubicTaps(inSize, outSize, i);
        const dense = new Float64Array(inSize);
        weights.forEach((w, k) => (dense[first + k] = w));
        expect(maxAbsDiff(m.subarray(i * inSize, (i + 1) * inSize), dense)).toBeLessThan(1e-7);
      }
    }
    // 1024 → 224: the support is 2·(1024/224) ≈ 9.1 input pixels each side, so ~18 taps, not 4.
    expect(pilBicubicTaps(1024, 224, 100).weights.length).toBeGreaterThanOrEqual(18);
  });

  it("sizes and crops follow torchvision's Resize(int) and CenterCrop (Python rounding)", () => {
    expect(resizedShape(96, 160, 64)).toEqual([64, 106]);
    expect(resizedShape(150, 75, 50)).toEqual([100, 50]);
    expect(centerCropOffset(106, 64)).toBe(21);
    expect(centerCropOffset(5, 2)).toBe(2); // round(1.5) = 2
    expect(centerCropOffset(7, 2)).toBe(2); // round(2.5) = 2, not 3
  });
});
