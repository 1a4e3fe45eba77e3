/**
 * CLIP preprocessing as ONNX ops, so synthesis → preprocessing → image tower can run as one
 * session and images never leave the runtime. The maths is pipeline/core/preprocess.ts's (PIL's
 * BICUBIC resize of the shorter side, center crop, [-1, 1] → [0, 1], mean/std); see there and
 * docs/preprocessing.md for what it copies from the reference and what it does not.
 *
 * The resize is two MatMuls with precomputed weight matrices instead of a Resize op: opset 17's
 * Resize has no antialiasing (PIL widens the kernel when downsampling), and a MatMul is exact,
 * deterministic and the same on every execution provider. The center crop is folded into the
 * matrices (only the kept rows and columns are computed), and so is the [-1, 1] → [0, 1] map:
 * the weights of every output sum to 1, so resampling commutes with it and the graph works in
 * [-1, 1] until the final affine.
 */
import { type ClipPreprocessSpec, BICUBIC_SUPPORT, bicubic, preprocessGeometry } from '../core/preprocess.ts';
import { GraphBuilder } from './graph.ts';
import { f32 } from './params.ts';

export type { ClipPreprocessSpec } from '../core/preprocess.ts';

/**
 * Resampling weights [count, inSize] for outputs first … first + count − 1 of a resize from
 * inSize to outSize: row i holds the kernel at every input centre, normalised to sum 1.
 * Written over the whole input rather than PIL's window (the kernel is zero outside it), so it
 * is a second, independent statement of the same weights as core's `pilBicubicTaps`.
 */
export function bicubicResizeMatrix(inSize: number, outSize: number, first: number, count: number): Float32Array {
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1); // antialiasing: the kernel widens with the reduction factor
  const m = new Float32Array(count * inSize);
  const row = new Float64Array(inSize);
  for (let i = 0; i < count; i++) {
    const center = (first + i + 0.5) * scale; // output centre in input coordinates
    let sum = 0;
    for (let j = 0; j < inSize; j++) {
      const t = (j + 0.5 - center) / stretch;
      row[j] = Math.abs(t) < BICUBIC_SUPPORT ? bicubic(t) : 0;
      sum += row[j];
    }
    for (let j = 0; j < inSize; j++) m[i * inSize + j] = row[j] / sum;
  }
  return m;
}

/** Transpose of a row-major [rows, cols] matrix. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/**
 * Append CLIP preprocessing to `g`: `image` [B, 3, H, W] in [-1, 1] → pixel_values [B, 3, S, S].
 * Returns the name of the pixel_values value.
 */
export function addClipPreprocess(g: GraphBuilder, image: string, spec: ClipPreprocessSpec): string {
  const { height: H, width: W, resized, top, left, size: S } = preprocessGeometry(spec);
  const colsWS = g.constant('preprocess.resize_width', f32([W, S], transpose(bicubicResizeMatrix(W, resized[1], left, S), S, W)));
  const rowsSH = g.constant('preprocess.resize_height', f32([S, H], bicubicResizeMatrix(H, resized[0], top, S)));
  const lo = g.constF32('minus_one', [-1], []);
  const hi = g.constF32('one', [1], []);
  // Every stage saturates like PIL's 8-bit image: the input, the width pass, the height pass.
  let x = g.op('Clip', [image, lo, hi]); // [B, 3, H, W]
  x = g.op('Clip', [g.op('MatMul', [x, colsWS]), lo, hi]); // [B, 3, H, W] @ [W, S] -> [B, 3, H, S]
  x = g.op('Clip', [g.op('MatMul', [rowsSH, x]), lo, hi]); // [S, H] @ [B, 3, H, S] -> [B, 3, S, S]
  // ((x + 1)/2 − mean)/std  ==  x·(0.5/std) + (0.5 − mean)/std
  const scale = g.constF32('preprocess.scale', spec.std.map((s) => 0.5 / s), [1, 3, 1, 1]);
  const shift = g.constF32('preprocess.shift', spec.mean.map((m, c) => (0.5 - m) / spec.std[c]), [1, 3, 1, 1]);
  return g.op('Add', [g.op('Mul', [x, scale]), shift], {}, 'pixel_values');
}

/** Preprocessing as its own graph: `image` [batch, 3, H, W] → `pixel_values` [batch, 3, S, S]. */
export function buildPreprocessGraph(spec: ClipPreprocessSpec): GraphBuilder {
  const { height, width, size } = preprocessGeometry(spec);
  const g = new GraphBuilder('clip_preprocess');
  const image = g.input('image', 'float32', ['batch', 3, height, width]);
  g.output(addClipPreprocess(g, image, spec), 'pixel_values', 'float32', ['batch', 3, size, size]);
  return g;
}

/**
 * FLOPs (2 per multiply-accumulate) of addClipPreprocess for one image: its two dense MatMuls,
 * width pass [3, H, W] @ [W, S] and height pass [S, H] @ [3, H, S]. Dense, so most of it
 * multiplies zeros (the kernel covers ~4·H/S inputs of each row); the clamps and the final
 * affine (~4 FLOPs per value) are left out, as clipVisualFlops leaves out normalisations.
 */
export function clipPreprocessFlops(spec: ClipPreprocessSpec): number {
  const { height: H, width: W, size: S } = preprocessGeometry(spec);
  return 2 * 3 * H * W * S + 2 * 3 * S * H * S;
}
