/**
 * The relevance stage's model: synthesis → CLIP preprocessing → visual encoder as one ONNX
 * graph, so a batch of style codes goes in and image embeddings come out; the images never
 * leave onnxruntime.
 */
import { readFileSync } from 'node:fs';
import { GraphBuilder } from '../onnx/graph.ts';
import { embedModel } from '../onnx/compose.ts';
import { addClipPreprocess } from '../onnx/preprocess.ts';
import { styleInputName } from '../onnx/stylegan2/graphs.ts';
import { bundlePath } from './bundle.ts';
import type { Encoder } from './encoder.ts';
import type { Generator } from './generator.ts';

/** `withImage` also outputs the rendered `image` (galleries need both pictures and scores). */
export function buildRenderEncodeModel(gen: Generator, enc: Encoder, opts: { withImage?: boolean } = {}): Uint8Array {
  const g = new GraphBuilder('styleatlas_render_encode');
  const inputTypes = Object.fromEntries(
    gen.manifest.layers.map((l) => [styleInputName(l.name), { dtype: 'float32' as const, shape: ['batch', l.channels] }]),
  );
  const synth = embedModel(g, readFileSync(bundlePath(gen.bundle, gen.manifest.files.synthesis)), `${gen.manifest.id}/synthesis.onnx`, 'synthesis/', {}, inputTypes);
  const a = enc.manifest.architecture;
  const pixels = addClipPreprocess(g, synth.image, { inSize: gen.arch.resolution, outSize: a.imageSize, mean: a.mean, std: a.std });
  const visual = embedModel(g, enc.visualBytes(), `${enc.manifest.id}/visual.onnx`, 'visual/', { pixel_values: pixels });
  g.output(visual.image_embeds, 'image_embeds', 'float32', ['batch', a.embedDim]);
  if (opts.withImage) g.output(synth.image, 'image', 'float32', ['batch', 3, gen.arch.resolution, gen.arch.resolution]);
  return g.toBytes({ metadata: { 'styleatlas.generator': gen.manifest.id, 'styleatlas.encoder': enc.manifest.id } });
}
