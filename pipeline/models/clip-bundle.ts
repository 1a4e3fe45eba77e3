/**
 * Write a CLIP encoder bundle from an architecture and an openai/CLIP-named state dict: both tower
 * graphs, the tokenizer.json, the manifest. Recipes (random weights) and importers (real
 * checkpoints) both end here.
 */
import { fail } from '../core/errors.ts';
import { type ClipArch, CLIP_CONTEXT_LENGTH, clipParamSpec } from '../onnx/clip/arch.ts';
import { buildClipText, buildClipVisual } from '../onnx/clip/graphs.ts';
import { type StateDict, checkStateDict } from '../onnx/params.ts';
import { createTokenizer } from '../text/tokenizer.ts';
import type { Bundle } from './bundle.ts';
import { CLIP_MEAN, CLIP_STD, writeEncoderBundle } from './encoder-bundle.ts';
import type { Origin } from './manifest.ts';
import { TOOL_VERSION } from '../version.ts';

export interface ClipBundleSpec {
  id: string;
  description: string;
  origin: Origin;
  arch: ClipArch;
  /** openai/CLIP-named state dict; checked against the architecture before anything is written. */
  weights: StateDict;
  tokenizerJson: string;
  log?: (message: string) => void;
}

/** Build both graphs and write the encoder bundle; the weights are checked against the architecture first. */
export async function writeClipBundle(outDir: string, spec: ClipBundleSpec): Promise<Bundle> {
  const { arch, weights } = spec;
  const log = spec.log ?? (() => {});
  checkStateDict(weights, clipParamSpec(arch), `${spec.id} weights`);
  const tok = createTokenizer(spec.tokenizerJson);
  if (tok.vocabSize !== arch.vocabSize) {
    fail('E_SHAPE', `${spec.id}: the tokenizer has ${tok.vocabSize} ids but token_embedding.weight has ${arch.vocabSize} rows`);
  }
  if (arch.contextLength !== CLIP_CONTEXT_LENGTH) {
    fail('E_SHAPE', `${spec.id}: positional_embedding has ${arch.contextLength} rows; the encoder contract needs ${CLIP_CONTEXT_LENGTH}`);
  }
  const meta = { metadata: { 'styleatlas.bundle': spec.id }, producerVersion: TOOL_VERSION };
  log(`${spec.id}: writing the image tower graph`);
  const visualOnnx = buildClipVisual(arch, weights).toBytes(meta);
  log(`${spec.id}: writing the text tower graph`);
  const textOnnx = buildClipText(arch, weights).toBytes(meta);
  return writeEncoderBundle(outDir, {
    id: spec.id,
    description: spec.description,
    origin: spec.origin,
    architecture: {
      family: 'clip',
      imageSize: arch.imageResolution,
      embedDim: arch.embedDim,
      contextLength: arch.contextLength,
      mean: CLIP_MEAN,
      std: CLIP_STD,
      details: {
        visionWidth: arch.visionWidth,
        visionLayers: arch.visionLayers,
        patchSize: arch.visionPatchSize,
        textWidth: arch.textWidth,
        textLayers: arch.textLayers,
        vocabSize: arch.vocabSize,
      },
    },
    tokenizer: { vocabSize: tok.vocabSize, sot: tok.sot, eot: tok.eot },
    visualOnnx,
    textOnnx,
    tokenizerJson: spec.tokenizerJson,
  });
}
