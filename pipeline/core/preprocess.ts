/**
 * CLIP image preprocessing (DESIGN §1, `P`) as plain loops over typed arrays: the reference the
 * ONNX graph (pipeline/onnx/preprocess.ts) is tested against, and the benchmarks' naive path.
 *
 * What the reference implementation does to a generator image, in float arithmetic:
 *   1. [-1, 1] → [0, 1], clamped (StyleCLIP's `convert_images_to_uint8`, minus the rounding);
 *   2. torchvision `Resize(S)` on a PIL image: the shorter side becomes S, the longer
 *      ⌊S · long / short⌋, with PIL's BICUBIC resampling — width pass first, then height, each
 *      pass saturated to [0, 1] as PIL's 8-bit passes saturate to [0, 255];
 *   3. torchvision `CenterCrop(S)`;
 *   4. (v − mean) / std per channel.
 * PIL's bicubic is Keys' cubic convolution with a = −0.5, stretched by the scale factor when
 * downsampling (antialiasing), sampled at output centres (i + ½)·scale, truncated at the image
 * border and renormalised to sum 1 (no padding). See docs/preprocessing.md.
 *
 * Pure: no I/O; runs the same in Node and the browser.
 */

export interface ClipPreprocessSpec {
  /** Generator image size: a square side, or [height, width]. */
  inSize: number | readonly [number, number];
  /** The encoder's input size S. */
  outSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** Keys' cubic convolution kernel with a = −0.5: PIL's `bicubic_filter` (support 2). */
export function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

export const BICUBIC_SUPPORT = 2;

/** [height, width] of a size spec. */
export function imageShape(size: ClipPreprocessSpec['inSize']): [number, number] {
  return typeof size === 'number' ? [size, size] : [size[0], size[1]];
}

/** torchvision `Resize(S)` with an int: the shorter side → S, the longer → ⌊S·long/short⌋. */
export function resizedShape(height: number, width: number, size: number): [number, number] {
  if (height <= width) return [size, Math.floor((size * width) / height)];
  return [Math.floor((size * height) / width), size];
}

/** Python 3's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision `CenterCrop`: the first kept index, int(round((size − crop) / 2)). */
export function centerCropOffset(size: number, crop: number): number {
  return roundHalfEven((size - crop) / 2);
}

export interface Taps {
  /** First input index read. */
  first: number;
  /** Weights of inputs first, first + 1, …; they sum to 1. */
  weights: Float64Array;
}

/** PIL's `precompute_coeffs` for one output index: the window and its normalised weights. */
export function pilBicubicTaps(inSize: number, outSize: number, index: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const center = (index + 0.5) * scale;
  // C's (int) cast truncates toward zero; a negative start is clamped to 0 either way.
  const first = Math.max(Math.trunc(center - support + 0.5), 0);
  const end = Math.min(Math.trunc(center + support + 0.5), inSize);
  const weights = new Float64Array(Math.max(end - first, 0));
  let sum = 0;
  for (let k = 0; k < weights.length; k++) {
    weights[k] = bicubic((first + k - center + 0.5) / filterScale);
    sum += weights[k];
  }
  if (sum !== 0) for (let k = 0; k < weights.length; k++) weights[k] /= sum;
  return { first, weights };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** The geometry P applies: resized size, crop offsets and output side. */
export function preprocessGeometry(spec: ClipPreprocessSpec): { height: number; width: number; resized: [number, number]; top: number; left: number; size: number } {
  const [height, width] = imageShape(spec.inSize);
  const size = spec.outSize;
  if (![height, width, size].every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(`preprocess: sizes must be positive integers, got in ${height}×${width}, out ${size}`);
  }
  const resized = resizedShape(height, width, size);
  return { height, width, resized, top: centerCropOffset(resized[0], size), left: centerCropOffset(resized[1], size), size };
}

/**
 * image [B, 3, H, W] in [-1, 1] → pixel_values [B, 3, S, S], by direct loops: every output pixel
 * reads its PIL window of the input (width pass, then height pass over the cropped columns).
 */
export function clipPreprocess(imageNCHW: Float32Array, batch: number, spec: ClipPreprocessSpec): Float32Array {
  const { height: H, width: W, resized, top, left, size: S } = preprocessGeometry(spec);
  if (imageNCHW.length !== batch * 3 * H * W) {
    throw new RangeError(`preprocess: expected ${batch}×3×${H}×${W} values, got ${imageNCHW.length}`);
  }
  const colTaps = Array.from({ length: S }, (_, x) => pilBicubicTaps(W, resized[1], left + x));
  const rowTaps = Array.from({ length: S }, (_, y) => pilBicubicTaps(H, resized[0], top + y));
  const out = new Float32Array(batch * 3 * S * S);
  const rowsNHS = new Float64Array(H * S); // one channel after the width pass: [H, S]
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < 3; c++) {
      const src = (b * 3 + c) * H * W;
      for (let i = 0; i < H; i++) {
        for (let x = 0; x < S; x++) {
          const { first, weights } = colTaps[x];
          let acc = 0;
          for (let k = 0; k < weights.length; k++) acc += weights[k] * clamp01((imageNCHW[src + i * W + first + k] + 1) / 2);
          rowsNHS[i * S + x] = clamp01(acc);
        }
      }
      const dst = (b * 3 + c) * S * S;
      for (let y = 0; y < S; y++) {
        const { first, weights } = rowTaps[y];
        for (let x = 0; x < S; x++) {
          let acc = 0;
          for (let k = 0; k < weights.length; k++) acc += weights[k] * rowsNHS[(first + k) * S + x];
          out[dst + y * S + x] = (clamp01(acc) - spec.mean[c]) / spec.std[c];
        }
      }
    }
  }
  return out;
}
