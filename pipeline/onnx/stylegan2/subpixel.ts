/**
 * StyleGAN2's two up-samplings as sub-pixel phases: regular convolutions at the input
 * resolution, one per output phase (row parity a, column parity b), whose outputs interleave
 * into the up-sampled grid. Same multiply-accumulates as the transposed convolutions, run by
 * the ordinary convolution kernels. Pure: tap tables and weight slicing on typed arrays.
 *
 * Modulated conv0 (rosinality: conv_transpose2d stride 2, 3×3, no padding, then the [1,3,3,1]
 * blur with pad 1). In one dimension the transposed conv gives u[2m] = x[m]·w0 + x[m−1]·w2 and
 * u[2m+1] = x[m]·w1, so the even phase is a correlation with [w2, w0] (pad 1, 1) and the odd
 * one with [w1] (pad 0, 1); both have H+1 outputs, the odd phase's last one is 0. Interleaved
 * they give u padded with one zero at the end, so the blur then pads (1, 0) instead of (1, 1).
 *
 * Skip up-sampling (upfirdn2d up 2, pad (2, 1), kernel [1,3,3,1]⊗[1,3,3,1]/16): out[2m] =
 * k3·x[m−1] + k1·x[m] and out[2m+1] = k2·x[m] + k0·x[m+1], H outputs per phase.
 */

/** One output phase: the kernel taps (indices into the original kernel) and the padding. */
export interface Phase {
  /** Row parity of the outputs this phase fills. */
  a: 0 | 1;
  /** Column parity. */
  b: 0 | 1;
  /** Original kernel rows used, in correlation order. */
  rows: readonly number[];
  /** Original kernel columns used, in correlation order. */
  cols: readonly number[];
  /** ONNX pads [top, left, bottom, right]. */
  pads: readonly [number, number, number, number];
}

const CONV_TAPS = [
  { taps: [2, 0], begin: 1, end: 1 },
  { taps: [1], begin: 0, end: 1 },
] as const;

const SKIP_TAPS = [
  { taps: [3, 1], begin: 1, end: 0 },
  { taps: [2, 0], begin: 0, end: 1 },
] as const;

function phases(t: typeof CONV_TAPS | typeof SKIP_TAPS): Phase[] {
  const out: Phase[] = [];
  for (const a of [0, 1] as const) {
    for (const b of [0, 1] as const) {
      out.push({ a, b, rows: t[a].taps, cols: t[b].taps, pads: [t[a].begin, t[b].begin, t[a].end, t[b].end] });
    }
  }
  return out;
}

/** The four phases of conv0's stride-2 transposed 3×3 conv, in DepthToSpace (DCR) order: (0,0), (0,1), (1,0), (1,1). */
export const CONV_PHASES: readonly Phase[] = Object.freeze(phases(CONV_TAPS));

/** The four phases of the skip image's up-sampling with the 4×4 blur kernel, same order. */
export const SKIP_PHASES: readonly Phase[] = Object.freeze(phases(SKIP_TAPS));

/** Blur after the interleaved conv0 phases: [top, left, bottom, right] (the zero row/column is already there). */
export const PHASE_BLUR_PADS = [1, 1, 0, 0] as const;

/** Phase kernel [out, in, rows, cols] cut from a kernel [out, in, k, k]. */
export function phaseWeight(w: Float32Array, cout: number, cin: number, k: number, p: Phase): Float32Array {
  const kh = p.rows.length;
  const kw = p.cols.length;
  const out = new Float32Array(cout * cin * kh * kw);
  for (let oi = 0; oi < cout * cin; oi++) {
    for (let r = 0; r < kh; r++) for (let c = 0; c < kw; c++) out[(oi * kh + r) * kw + c] = w[(oi * k + p.rows[r]) * k + p.cols[c]];
  }
  return out;
}

/** Rows per phase output for an input of `h` rows: conv0 phases give h + 1, skip phases h. */
export function phaseRows(h: number, kind: 'conv' | 'skip'): number {
  return kind === 'conv' ? h + 1 : h;
}
