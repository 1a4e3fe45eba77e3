/**
 * CLIP encoders with random weights and the real architecture (OpenAI CLIP's ViT image tower and
 * text transformer). They are not trained models: their embeddings mean nothing. They exist so
 * the whole method runs, and the graphs are checked against a reference, without downloading.
 */
import { readFileSync } from 'node:fs';
import { type ClipArch, TINY_CLIP_MERGES, clipParamSpec, tinyClipArch, vitB32Arch } from '../../onnx/clip/arch.ts';
import { type StateDict, randomStateDict } from '../../onnx/params.ts';
import { CLIP_MERGES, clipTokenizerJson } from '../../text/bpe.ts';
import { writeClipBundle } from '../clip-bundle.ts';
import type { Recipe } from './recipe.ts';

export { writeClipBundle, type ClipBundleSpec } from '../clip-bundle.ts';

/** OpenAI's BPE vocabulary, shipped in the repository (MIT licence beside it). */
const CLIP_VOCAB = new URL('../../../data/clip/bpe_simple_vocab_16e6.txt.gz', import.meta.url);

/**
 * model.py's `initialize_parameters` (token embedding 0.02, positions 0.01, attention in_proj
 * width^-½, out_proj and c_proj width^-½·(2·layers)^-½, c_fc (2·width)^-½, projections width^-½),
 * applied to each tower with its own width and depth (model.py applies it to the text tower only
 * and leaves torch's defaults on the image tower). What CLIP starts at zero or one (biases,
 * LayerNorm scales) gets small random values, so every path carries signal in the parity tests.
 */
export function clipInit(arch: ClipArch) {
  return (name: string): { mean?: number; std?: number } => {
    const vision = name.startsWith('visual.');
    const width = vision ? arch.visionWidth : arch.textWidth;
    const layers = vision ? arch.visionLayers : arch.textLayers;
    if (name === 'logit_scale') return { mean: Math.log(1 / 0.07), std: 0 };
    if (name === 'token_embedding.weight') return { std: 0.02 };
    if (name === 'positional_embedding') return { std: 0.01 };
    if (name === 'visual.conv1.weight') return { std: (3 * arch.visionPatchSize ** 2) ** -0.5 };
    if (name.endsWith('.in_proj_weight')) return { std: width ** -0.5 };
    if (name.endsWith('.out_proj.weight') || name.endsWith('.c_proj.weight')) return { std: width ** -0.5 * (2 * layers) ** -0.5 };
    if (name.endsWith('.c_fc.weight')) return { std: (2 * width) ** -0.5 };
    if (/(^|\.)ln_[a-z0-9_]+\.weight$/.test(name)) return { mean: 1, std: 0.1 };
    if (name.endsWith('bias')) return { std: 0.02 };
    return { std: width ** -0.5 }; // class_embedding, visual positional_embedding, proj, text_projection
  };
}

/** Seeded random weights for any CLIP architecture (same seed ⇒ identical bytes). */
export function randomClipWeights(arch: ClipArch, seed: number): StateDict {
  return randomStateDict(clipParamSpec(arch), seed, clipInit(arch));
}

function randomClipRecipe(id: string, summary: string, arch: () => ClipArch, merges: number, seed: number, onDemand: boolean): Recipe {
  return {
    id,
    kind: 'encoder',
    summary,
    onDemand,
    async build(outDir, ctx) {
      const a = arch();
      ctx.log(`${id}: writing tokenizer.json from the first ${merges} BPE merges`);
      const tokenizerJson = clipTokenizerJson(readFileSync(CLIP_VOCAB), { maxMerges: merges });
      ctx.log(`${id}: drawing random weights (seed ${seed})`);
      return writeClipBundle(outDir, {
        id,
        description: summary,
        origin: { type: 'random', seed, note: 'random weights of the real CLIP architecture; not a trained model' },
        arch: a,
        weights: randomClipWeights(a, seed),
        tokenizerJson,
        log: ctx.log,
      });
    },
  };
}

/** Image tower: 2·(16·192·128 + 2·(17·12·128² + 2·17²·128) + 128·64) ≈ 14.5 MFLOP per image (tiny generator: ~92). */
export const tinyClipRecipe = randomClipRecipe(
  'tiny-clip',
  'Tiny CLIP (ViT: 32 px, patch 8, width 128, 2 layers; text width 128, 2 layers; 2514-token vocabulary; embed 64), random weights — the embedded default encoder',
  tinyClipArch,
  TINY_CLIP_MERGES,
  3,
  false,
);

export const vitB32ArchRecipe = randomClipRecipe(
  'vitb32-arch',
  'CLIP with the exact ViT-B/32 shapes (224 px, patch 32, width 768, 12 layers; text width 512, 12 layers; embed 512) and the full vocabulary, random weights — for parity and speed work',
  vitB32Arch,
  CLIP_MERGES,
  4,
  true,
);
