/**
 * The linear world: a generator bundle whose synthesis is affine in s (channel c writes
 * w_c·s_c into pixel c of a bias image) and an encoder bundle whose visual tower is affine in
 * the pixels. With images kept inside (-1, 1) the preprocessing clamps never act, so the whole
 * render → encode map is affine and Δi_c has a closed form the test computes in float64.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { readBundle, writeBundle } from '../../pipeline/models/bundle.ts';
import { writeEncoderBundle } from '../../pipeline/models/encoder-bundle.ts';
import type { GeneratorManifest } from '../../pipeline/models/manifest.ts';
import { GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { f32 } from '../../pipeline/onnx/params.ts';
import { styleInputName } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { modelDir } from './bundles.ts';

export interface LinearWorld {
  generatorDir: string;
  encoderDir: string;
  /** Per-channel gain w_c and centre μ_c, [C_total]: pixel c = w_c (s_c − μ_c) + bias_c. */
  gain: Float64Array;
  centre: Float64Array;
  /** Bias image [3, H, W]. */
  bias: Float64Array;
  /** Visual tower: e = P·pixels + q, P [D, 3·S·S] row-major, q [D]. */
  P: Float64Array;
  q: Float64Array;
  dim: number;
  imageSize: number;
  resolution: number;
}

function normals(rng: Xoshiro128, n: number, scale: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.nextNormal() * scale);
}

export async function buildLinearWorld(dir: string, mu: Float64Array, sigma: Float64Array): Promise<LinearWorld> {
  const tiny = readBundle(modelDir('tiny'));
  const tm = tiny.manifest as GeneratorManifest;
  const res = tm.architecture.resolution;
  const total = tm.layers.reduce((s, l) => s + l.channels, 0);
  const rng = new Xoshiro128(77, 0);
  // pixel c = w_c (s_c − μ_c) + bias: |·| ≤ 0.6 within μ_c ± 5σ_c, so images stay inside (-1, 1)
  // and every channel moves its pixel by a similar, large amount (small moves would drown the
  // closed form's comparison in float32 rounding).
  const gain = Float64Array.from({ length: total }, (_, c) => 0.12 / Math.max(sigma[c], 1e-6));
  const shift = Float64Array.from({ length: total }, (_, c) => -gain[c] * mu[c]);
  const bias = normals(rng, 3 * res * res, 0.03);

  const g = new GraphBuilder('linear_synthesis');
  const parts = tm.layers.map((l) => g.input(styleInputName(l.name), 'float32', ['batch', l.channels]));
  const s = g.op('Concat', parts, { axis: attr.i(1) }); // [B, C_total]
  const scaled = g.op('Add', [g.op('Mul', [s, g.constant('gain', f32([1, total], Float32Array.from(gain)))]), g.constant('shift', f32([1, total], Float32Array.from(shift)))]);
  const padded = g.op('Pad', [scaled, g.constI64('pads', [0, 0, 0, 3 * res * res - total])]); // [B, 3·H·W]
  const flat = g.op('Add', [padded, g.constant('bias', f32([1, 3 * res * res], Float32Array.from(bias)))]);
  g.output(g.op('Reshape', [flat, g.constI64('shape', [-1, 3, res, res])]), 'image', 'float32', ['batch', 3, res, res]);

  const genDir = join(dir, 'linear-generator');
  mkdirSync(genDir, { recursive: true });
  const files = new Map<string, Uint8Array>([['synthesis.onnx', g.toBytes()]]);
  for (const f of ['mapping.onnx', 'styles.onnx', 'w_avg.npy']) files.set(f, readFileSync(join(tiny.dir, f)));
  await writeBundle(genDir, files, (refs) => ({
    ...tm,
    id: 'linear-generator',
    description: 'test oracle: tiny mapping/styles with an affine synthesis',
    origin: { type: 'hand-built', note: 'affine synthesis for the relevance oracle test' },
    files: { mapping: refs.get('mapping.onnx')!, styles: refs.get('styles.onnx')!, synthesis: refs.get('synthesis.onnx')!, wAvg: refs.get('w_avg.npy')! },
  }));

  const imageSize = 32;
  const dim = 16;
  const inDim = 3 * imageSize * imageSize;
  const P = normals(rng, dim * inDim, 1 / Math.sqrt(inDim));
  const q = normals(rng, dim, 0.1);
  const v = new GraphBuilder('linear_visual');
  const px = v.input('pixel_values', 'float32', ['batch', 3, imageSize, imageSize]);
  const flatPx = v.op('Reshape', [px, v.constI64('shape', [-1, inDim])]);
  const Pt = new Float32Array(inDim * dim); // [inDim, D]
  for (let d = 0; d < dim; d++) for (let i = 0; i < inDim; i++) Pt[i * dim + d] = P[d * inDim + i];
  const e = v.op('Add', [v.op('MatMul', [flatPx, v.constant('P', f32([inDim, dim], Pt))]), v.constant('q', f32([dim], Float32Array.from(q)))]);
  v.output(e, 'image_embeds', 'float32', ['batch', dim]);
  const t = new GraphBuilder('linear_text');
  const ids = t.input('input_ids', 'int64', ['batch', 77]);
  const idsF = t.op('Cast', [ids], { to: attr.i(1) });
  t.output(t.op('MatMul', [idsF, t.constant('T', f32([77, dim], Float32Array.from(normals(rng, 77 * dim, 1e-3))))]), 'text_embeds', 'float32', ['batch', dim]);

  const clip = readBundle(modelDir('tiny-clip'));
  if (clip.manifest.kind !== 'encoder') throw new Error('tiny-clip is not an encoder');
  const encDir = join(dir, 'linear-encoder');
  await writeEncoderBundle(encDir, {
    id: 'linear-encoder',
    description: 'test oracle: affine visual tower',
    origin: { type: 'hand-built', note: 'affine encoder for the relevance oracle test' },
    architecture: { family: 'custom', imageSize, embedDim: dim, contextLength: 77, mean: [0.5, 0.4, 0.3], std: [0.25, 0.3, 0.2] },
    tokenizer: clip.manifest.tokenizer,
    visualOnnx: v.toBytes(),
    textOnnx: t.toBytes(),
    tokenizerJson: readFileSync(join(clip.dir, clip.manifest.files.tokenizer.path), 'utf8'),
  });
  return { generatorDir: genDir, encoderDir: encDir, gain, centre: mu, bias, P, q, dim, imageSize, resolution: res };
}
