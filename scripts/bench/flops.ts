/**
 * FLOPs per render of the relevance model (synthesis → preprocessing → image tower), counted
 * from the architectures, not measured: the numerator of every FLOP/s figure the bench prints.
 */
import { fail } from '../../pipeline/core/errors.ts';
import type { EncoderManifest } from '../../pipeline/models/manifest.ts';
import { type ClipArch, clipVisualFlops } from '../../pipeline/onnx/clip/arch.ts';
import { clipPreprocessFlops } from '../../pipeline/onnx/preprocess.ts';
import { type StyleGAN2Arch, synthesisFlops } from '../../pipeline/onnx/stylegan2/arch.ts';

export interface RenderFlops {
  synthesis: number;
  preprocess: number;
  visual: number;
  total: number;
}

/** The image-tower shape of a CLIP encoder bundle (its manifest's architecture.details). */
export function clipArchOfManifest(m: EncoderManifest): ClipArch {
  const a = m.architecture;
  const d = a.details ?? {};
  const need = (key: string): number => {
    const v = d[key];
    if (typeof v !== 'number') fail('E_MANIFEST', `${m.id}: key "architecture.details.${key}": expected a number, found ${JSON.stringify(v)}`);
    return v;
  };
  if (a.family !== 'clip') fail('E_INPUT', `${m.id}: FLOPs are counted for CLIP encoders only, this one is "${a.family}"`);
  // Only the image tower's fields matter to clipVisualFlops; the text ones are copied for completeness.
  return {
    embedDim: a.embedDim,
    imageResolution: a.imageSize,
    visionWidth: need('visionWidth'),
    visionLayers: need('visionLayers'),
    visionPatchSize: need('patchSize'),
    contextLength: a.contextLength,
    vocabSize: need('vocabSize'),
    textWidth: need('textWidth'),
    textLayers: need('textLayers'),
  };
}

export function renderFlops(gen: StyleGAN2Arch, enc: EncoderManifest): RenderFlops {
  const a = enc.architecture;
  const synthesis = synthesisFlops(gen);
  const preprocess = clipPreprocessFlops({ inSize: gen.resolution, outSize: a.imageSize, mean: a.mean, std: a.std });
  const visual = clipVisualFlops(clipArchOfManifest(enc));
  return { synthesis, preprocess, visual, total: synthesis + preprocess + visual };
}

/** Multiply-accumulate FLOPs of a Conv with `pads` keeping the spatial size (stride 1). */
export function convFlops(n: number, cin: number, h: number, w: number, cout: number, k: number): number {
  return 2 * n * cout * h * w * cin * k * k;
}
