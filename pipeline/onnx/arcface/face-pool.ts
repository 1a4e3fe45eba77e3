/**
 * The face crop of StyleCLIP's identity loss (criteria/id_loss.py `extract_feats`) as two matrices:
 * AdaptiveAvgPool2d((256, 256)) unless the image is already 256 px, the crop [35:223, 32:220] (rows,
 * columns) of the aligned FFHQ face, then AdaptiveAvgPool2d((112, 112)). Adaptive average pooling is
 * separable (output (i, j) averages rows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) × the same columns), so the whole
 * chain is face = R · image · Cᵀ with R, C [112, size], composed in float64 — one MatMul pair in the
 * graph, exact and differentiable like the CLIP preprocessing.
 */
import { GraphBuilder } from '../graph.ts';
import { f32 } from '../params.ts';

export const FACE_ALIGN = Object.freeze({ pool: 256, rows: [35, 223] as const, cols: [32, 220] as const, size: 112 });

/** torch AdaptiveAvgPool1d from n to m as a matrix [m, n]. */
export function adaptiveAvgPoolMatrix(n: number, m: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const start = Math.floor((i * n) / m);
    const end = Math.ceil(((i + 1) * n) / m);
    for (let j = start; j < end; j++) out[i * n + j] = 1 / (end - start);
  }
  return out;
}

/** [a, b] · [b, c] */
function matmul(a: Float64Array, b: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < inner; k++) {
      const v = a[i * inner + k];
      if (v !== 0) for (let j = 0; j < cols; j++) out[i * cols + j] += v * b[k * cols + j];
    }
  return out;
}

/** One axis of extract_feats for an image side `size`: [112, size]. */
export function facePoolAxis(size: number, crop: readonly [number, number]): Float64Array {
  const { pool, size: face } = FACE_ALIGN;
  const toPool = size === pool ? null : adaptiveAvgPoolMatrix(size, pool); // [256, size]
  const width = crop[1] - crop[0];
  const selected = new Float64Array(width * pool); // [188, 256]: the crop's rows
  for (let i = 0; i < width; i++) selected[i * pool + crop[0] + i] = 1;
  const cropped = toPool ? matmul(selected, toPool, width, pool, size) : selected; // [188, size]
  return matmul(adaptiveAvgPoolMatrix(width, face), cropped, face, width, size); // [112, size]
}

/** image [B, 3, size, size] → face [B, 3, 112, 112] (the value name). */
export function addFacePool(g: GraphBuilder, image: string, size: number): string {
  const { rows, cols, size: face } = FACE_ALIGN;
  const r = facePoolAxis(size, rows);
  const c = facePoolAxis(size, cols);
  const cT = new Float32Array(size * face);
  for (let i = 0; i < face; i++) for (let j = 0; j < size; j++) cT[j * face + i] = c[i * size + j];
  const rowsMat = g.constant('face_pool.rows', f32([face, size], Float32Array.from(r)));
  const colsMat = g.constant('face_pool.cols', f32([size, face], cT));
  return g.op('MatMul', [rowsMat, g.op('MatMul', [image, colsMat])], {}, 'face'); // [112, S] @ ([B,3,S,S] @ [S,112])
}

export function buildFacePoolGraph(size: number): GraphBuilder {
  const g = new GraphBuilder('face_pool');
  const image = g.input('image', 'float32', ['batch', 3, size, size]);
  g.output(addFacePool(g, image, size), 'face', 'float32', ['batch', 3, FACE_ALIGN.size, FACE_ALIGN.size]);
  return g;
}
