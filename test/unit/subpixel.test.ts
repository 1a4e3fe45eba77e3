/**
 * The sub-pixel phases (pipeline/onnx/stylegan2/subpixel.ts) against the reference's transposed
 * convolution + upfirdn2d blur and its upfirdn2d skip up-sampling (test/reference), on random
 * tensors: the phase correlations, interleaved, must give the same image.
 */
import { describe, expect, it } from 'vitest';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { CONV_PHASES, PHASE_BLUR_PADS, type Phase, SKIP_PHASES, phaseRows, phaseWeight } from '../../pipeline/onnx/stylegan2/subpixel.ts';
import { type Img, convTranspose2, makeKernel, upfirdn2d } from '../reference/stylegan2-ref.ts';
import { maxAbsDiff } from '../helpers/numeric.ts';

const rand = (rng: Xoshiro128, n: number) => Float32Array.from({ length: n }, () => rng.nextNormal());

/** Correlation with asymmetric zero padding [top, left, bottom, right] (ONNX Conv), written out. */
function correlate(x: Img, w: Float32Array, cout: number, kh: number, kw: number, pads: readonly number[]): Img {
  const [pt, pl, pb, pr] = pads;
  const h = x.h + pt + pb - kh + 1;
  const wd = x.w + pl + pr - kw + 1;
  const y = new Float32Array(cout * h * wd);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++) {
        let acc = 0;
        for (let c = 0; c < x.c; c++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++) {
              const si = i + a - pt;
              const sj = j + b - pl;
              if (si >= 0 && si < x.h && sj >= 0 && sj < x.w) acc += w[((o * x.c + c) * kh + a) * kw + b] * x.d[(c * x.h + si) * x.w + sj];
            }
        y[(o * h + i) * wd + j] = acc;
      }
  return { c: cout, h, w: wd, d: y };
}

function interleave(ph: Img[]): Img {
  const { c, h, w } = ph[0];
  const d = new Float32Array(c * 4 * h * w);
  CONV_PHASES.forEach((p: Phase, k) => {
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) d[(ch * 2 * h + 2 * i + p.a) * 2 * w + 2 * j + p.b] = ph[k].d[(ch * h + i) * w + j];
  });
  return { c, h: 2 * h, w: 2 * w, d };
}

describe('sub-pixel phases', () => {
  it('conv0: four phase correlations, interleaved and blurred, equal the transposed conv + blur', () => {
    const rng = new Xoshiro128(14, 0);
    const [cin, cout, h] = [3, 2, 5];
    const x: Img = { c: cin, h, w: h, d: rand(rng, cin * h * h) };
    const w = rand(rng, cout * cin * 9);
    const ref = upfirdn2d(convTranspose2(x, w, cout, 3), makeKernel(4), 4, 1, 1, 1); // [cout, 2h, 2h]
    const ph = CONV_PHASES.map((p) => correlate(x, phaseWeight(w, cout, cin, 3, p), cout, p.rows.length, p.cols.length, p.pads));
    expect(ph.every((q) => q.h === phaseRows(h, 'conv') && q.w === phaseRows(h, 'conv'))).toBe(true);
    const u = interleave(ph); // [cout, 2h+2, 2h+2], last row and column zero
    const [pt, , pb] = PHASE_BLUR_PADS;
    const out = upfirdn2d(u, makeKernel(4), 4, 1, pt, pb);
    expect([out.h, out.w]).toEqual([2 * h, 2 * h]);
    expect(maxAbsDiff(out.d, ref.d)).toBeLessThan(1e-5);
    expect(Math.max(...ref.d.map(Math.abs))).toBeGreaterThan(0.5); // not a comparison of zeros
  });

  it('skip: four 2×2 phases interleaved equal upfirdn2d(up 2, pad (2, 1))', () => {
    const rng = new Xoshiro128(15, 0);
    const h = 6;
    const skip: Img = { c: 3, h, w: h, d: rand(rng, 3 * h * h) };
    const ref = upfirdn2d(skip, makeKernel(4), 4, 2, 2, 1);
    const k = makeKernel(4);
    const ph = SKIP_PHASES.map((p) => {
      const wk = phaseWeight(k, 1, 1, 4, p);
      const per = Array.from({ length: 3 }, (_, c) => correlate({ c: 1, h, w: h, d: skip.d.subarray(c * h * h, (c + 1) * h * h) }, wk, 1, 2, 2, p.pads));
      return { c: 3, h: per[0].h, w: per[0].w, d: Float32Array.from(per.flatMap((q) => [...q.d])) };
    });
    expect(ph.every((q) => q.h === phaseRows(h, 'skip'))).toBe(true);
    expect(maxAbsDiff(interleave(ph).d, ref.d)).toBeLessThan(1e-5);
  });

  it('each phase keeps the taps of its parity: 4 + 2 + 2 + 1 = 9 per 3×3 kernel', () => {
    expect(CONV_PHASES.map((p) => p.rows.length * p.cols.length)).toEqual([4, 2, 2, 1]);
    expect(SKIP_PHASES.map((p) => p.rows.length * p.cols.length)).toEqual([4, 4, 4, 4]);
  });
});
