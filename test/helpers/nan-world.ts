/**
 * A generator that renders NaN when one chosen channel goes below a threshold: tiny's mapping and
 * styles, and a synthesis that is affine in s (as the linear world's) plus 0·√(s_k − t). With
 * t = μ_k − 3σ_k the samples' own codes render finite images and only the perturbation
 * s_k := μ_k − 5σ_k of channel k makes NaN: a model fault in the middle of a relevance build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBundle, writeBundle } from '../../pipeline/models/bundle.ts';
import type { GeneratorManifest } from '../../pipeline/models/manifest.ts';
import { GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { f32 } from '../../pipeline/onnx/params.ts';
import { styleInputName } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { modelDir } from './bundles.ts';

export async function buildNaNGenerator(dir: string, channel: number, threshold: number, sigma: Float64Array): Promise<string> {
  const tiny = readBundle(modelDir('tiny'));
  const tm = tiny.manifest as GeneratorManifest;
  const res = tm.architecture.resolution;
  const total = tm.layers.reduce((s, l) => s + l.channels, 0);
  const g = new GraphBuilder('nan_synthesis');
  const s = g.op('Concat', tm.layers.map((l) => g.input(styleInputName(l.name), 'float32', ['batch', l.channels])), { axis: attr.i(1) }); // [B, C]
  const gain = Float32Array.from({ length: total }, (_, c) => 0.1 / Math.max(sigma[c], 1e-6));
  const scaled = g.op('Tanh', [g.op('Mul', [s, g.constant('gain', f32([1, total], gain))])]);
  const padded = g.op('Pad', [scaled, g.constI64('pads', [0, 0, 0, 3 * res * res - total])]); // [B, 3·H·W]
  const sk = g.op('Slice', [s, g.constI64('start', [channel]), g.constI64('end', [channel + 1]), g.constI64('axis', [1])]); // [B, 1]
  const nan = g.op('Mul', [g.op('Sqrt', [g.op('Sub', [sk, g.constant('t', f32([1], Float32Array.of(threshold)))])]), g.constant('zero', f32([1], Float32Array.of(0)))]);
  g.output(g.op('Reshape', [g.op('Add', [padded, nan]), g.constI64('shape', [-1, 3, res, res])]), 'image', 'float32', ['batch', 3, res, res]);

  const out = join(dir, 'nan-generator');
  const files = new Map<string, Uint8Array>([['synthesis.onnx', g.toBytes()]]);
  for (const f of ['mapping.onnx', 'styles.onnx', 'w_avg.npy']) files.set(f, readFileSync(join(tiny.dir, f)));
  await writeBundle(out, files, (refs) => ({
    ...tm,
    id: 'nan-generator',
    description: `test fault: renders NaN when channel ${channel} is below ${threshold}`,
    origin: { type: 'hand-built', note: 'a model fault for the relevance error tests' },
    files: { mapping: refs.get('mapping.onnx')!, styles: refs.get('styles.onnx')!, synthesis: refs.get('synthesis.onnx')!, wAvg: refs.get('w_avg.npy')! },
  }));
  return out;
}
