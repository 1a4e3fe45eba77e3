/**
 * The graphs method 1 (and the latent mapper) compose, read from opened bundles: the generator's
 * styles.onnx and synthesis.onnx with its layer table, and the encoder's visual.onnx with the CLIP
 * preprocessing its image size and normalisation call for.
 */
import { readFileSync } from 'node:fs';
import type { EncoderGraphs, GeneratorGraphs } from '../onnx/latent-loss.ts';
import { bundlePath } from './bundle.ts';
import type { Encoder } from './encoder.ts';
import type { Generator } from './generator.ts';

export function generatorGraphs(gen: Generator): GeneratorGraphs {
  const m = gen.manifest;
  return {
    id: m.id,
    numWs: m.architecture.numWs,
    wDim: m.architecture.wDim,
    resolution: m.architecture.resolution,
    layers: m.layers,
    styles: readFileSync(bundlePath(gen.bundle, m.files.styles)),
    synthesis: readFileSync(bundlePath(gen.bundle, m.files.synthesis)),
  };
}

export function encoderGraphs(enc: Encoder, resolution: number): EncoderGraphs {
  const a = enc.manifest.architecture;
  return {
    id: enc.manifest.id,
    embedDim: a.embedDim,
    visual: enc.visualBytes(),
    preprocess: { inSize: resolution, outSize: a.imageSize, mean: a.mean, std: a.std },
  };
}
