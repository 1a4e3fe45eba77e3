/**
 * OpenAI CLIP (ViT image tower + text transformer) as shapes: the architecture, the parameter
 * names and shapes of its state dict in openai/CLIP `clip/model.py` naming (`visual.conv1.weight`,
 * `visual.transformer.resblocks.0.attn.in_proj_weight`, `token_embedding.weight`, …), and the
 * derivation of the architecture from a state dict's shapes, as model.py's `build_model` does it,
 * so real weights carry their own hyper-parameters.
 */
import { fail } from '../../core/errors.ts';
import type { StateDict } from '../params.ts';

export interface ClipArch {
  /** Size of image and text embeddings (model.py `embed_dim`). */
  embedDim: number;
  /** Input image side in pixels (`image_resolution`). */
  imageResolution: number;
  visionWidth: number;
  visionLayers: number;
  visionPatchSize: number;
  /** Tokens per prompt (`context_length`; 77 for every OpenAI model). */
  contextLength: number;
  vocabSize: number;
  /** Text transformer width and depth (`transformer_width`, `transformer_layers`). */
  textWidth: number;
  textLayers: number;
}

/** CLIP's head size: model.py derives heads as width // 64 for both towers. */
export const HEAD_DIM = 64;
export const CLIP_CONTEXT_LENGTH = 77;
/** 256 byte tokens, the same 256 with `</w>`, then one token per merge, then sot and eot. */
export function clipVocabSize(merges: number): number {
  return 512 + merges + 2;
}
/** Merges in the tiny bundles' vocabulary (the first 2000 of CLIP's 48 894). */
export const TINY_CLIP_MERGES = 2000;

export function visionHeads(arch: ClipArch): number {
  return arch.visionWidth / HEAD_DIM;
}

export function textHeads(arch: ClipArch): number {
  return arch.textWidth / HEAD_DIM;
}

/** Patches per side. */
export function gridSize(arch: ClipArch): number {
  return arch.imageResolution / arch.visionPatchSize;
}

/** ViT-B/32: the encoder of the StyleCLIP paper. */
export function vitB32Arch(): ClipArch {
  return {
    embedDim: 512,
    imageResolution: 224,
    visionWidth: 768,
    visionLayers: 12,
    visionPatchSize: 32,
    contextLength: CLIP_CONTEXT_LENGTH,
    vocabSize: clipVocabSize(49152 - 256 - 2),
    textWidth: 512,
    textLayers: 12,
  };
}

/**
 * The tiny bundles' CLIP: 32 px images in 8 px patches (a 4×4 grid), two layers of width 128 per
 * tower (two heads, so the head split is exercised), a 2000-merge vocabulary. Its image tower
 * costs ~14.5 MFLOP per image (clipVisualFlops), under the tiny generator's ~92 MFLOP per render.
 */
export function tinyClipArch(): ClipArch {
  return {
    embedDim: 64,
    imageResolution: 32,
    visionWidth: 128,
    visionLayers: 2,
    visionPatchSize: 8,
    contextLength: CLIP_CONTEXT_LENGTH,
    vocabSize: clipVocabSize(TINY_CLIP_MERGES),
    textWidth: 128,
    textLayers: 2,
  };
}

export function validateClipArch(arch: ClipArch): void {
  for (const [k, v] of Object.entries(arch)) {
    if (!Number.isInteger(v) || v < 1) fail('E_INPUT', `CLIP ${k} must be a positive integer, got ${v}`);
  }
  if (arch.visionWidth % HEAD_DIM !== 0) fail('E_INPUT', `CLIP visionWidth must be a multiple of ${HEAD_DIM} (heads = width / ${HEAD_DIM}), got ${arch.visionWidth}`);
  if (arch.textWidth % HEAD_DIM !== 0) fail('E_INPUT', `CLIP textWidth must be a multiple of ${HEAD_DIM} (heads = width / ${HEAD_DIM}), got ${arch.textWidth}`);
  if (arch.imageResolution % arch.visionPatchSize !== 0) {
    fail('E_INPUT', `CLIP imageResolution ${arch.imageResolution} is not a multiple of the patch size ${arch.visionPatchSize}`);
  }
}

/** Names and shapes of one pre-LN residual attention block (`ResidualAttentionBlock`). */
function resblockSpec(spec: Map<string, number[]>, prefix: string, width: number): void {
  spec.set(`${prefix}.attn.in_proj_weight`, [3 * width, width]);
  spec.set(`${prefix}.attn.in_proj_bias`, [3 * width]);
  spec.set(`${prefix}.attn.out_proj.weight`, [width, width]);
  spec.set(`${prefix}.attn.out_proj.bias`, [width]);
  spec.set(`${prefix}.ln_1.weight`, [width]);
  spec.set(`${prefix}.ln_1.bias`, [width]);
  spec.set(`${prefix}.mlp.c_fc.weight`, [4 * width, width]);
  spec.set(`${prefix}.mlp.c_fc.bias`, [4 * width]);
  spec.set(`${prefix}.mlp.c_proj.weight`, [width, 4 * width]);
  spec.set(`${prefix}.mlp.c_proj.bias`, [width]);
  spec.set(`${prefix}.ln_2.weight`, [width]);
  spec.set(`${prefix}.ln_2.bias`, [width]);
}

/** The parameter names and shapes of an OpenAI CLIP (ViT) state dict, in model.py's order. */
export function clipParamSpec(arch: ClipArch): Map<string, number[]> {
  validateClipArch(arch);
  const spec = new Map<string, number[]>();
  const vw = arch.visionWidth;
  const tw = arch.textWidth;
  spec.set('positional_embedding', [arch.contextLength, tw]);
  spec.set('text_projection', [tw, arch.embedDim]);
  spec.set('logit_scale', []);
  spec.set('visual.class_embedding', [vw]);
  spec.set('visual.positional_embedding', [gridSize(arch) ** 2 + 1, vw]);
  spec.set('visual.proj', [vw, arch.embedDim]);
  spec.set('visual.conv1.weight', [vw, 3, arch.visionPatchSize, arch.visionPatchSize]);
  spec.set('visual.ln_pre.weight', [vw]);
  spec.set('visual.ln_pre.bias', [vw]);
  for (let i = 0; i < arch.visionLayers; i++) resblockSpec(spec, `visual.transformer.resblocks.${i}`, vw);
  spec.set('visual.ln_post.weight', [vw]);
  spec.set('visual.ln_post.bias', [vw]);
  spec.set('token_embedding.weight', [arch.vocabSize, tw]);
  for (let i = 0; i < arch.textLayers; i++) resblockSpec(spec, `transformer.resblocks.${i}`, tw);
  spec.set('ln_final.weight', [tw]);
  spec.set('ln_final.bias', [tw]);
  return spec;
}

function dims(sd: StateDict, name: string, rank: number): readonly number[] {
  const t = sd.get(name);
  if (!t) fail('E_SHAPE', `weights: tensor ${name} is missing; a ViT CLIP state dict needs it to derive the architecture`);
  if (t.dims.length !== rank) fail('E_SHAPE', `weights: tensor ${name} has shape [${t.dims.join(', ')}], expected rank ${rank}`);
  return t.dims;
}

/** Distinct block indices under `prefix` (model.py counts `resblocks.N` keys the same way). */
function countBlocks(sd: StateDict, prefix: string): number {
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.resblocks\\.(\\d+)\\.`);
  const seen = new Set<string>();
  for (const k of sd.keys()) {
    const m = re.exec(k);
    if (m) seen.add(m[1]);
  }
  return seen.size;
}

/** The architecture a state dict's shapes imply (model.py `build_model`, ViT branch). */
export function clipArchFromStateDict(sd: StateDict): ClipArch {
  if (!sd.has('visual.proj')) {
    fail('E_SHAPE', 'weights: tensor visual.proj is missing; only ViT CLIP models are supported (ResNet image towers are not)');
  }
  const conv1 = dims(sd, 'visual.conv1.weight', 4); // [width, 3, patch, patch]
  const visPos = dims(sd, 'visual.positional_embedding', 2); // [grid² + 1, width]
  const grid = Math.round(Math.sqrt(visPos[0] - 1));
  if (grid * grid + 1 !== visPos[0]) {
    fail('E_SHAPE', `weights: tensor visual.positional_embedding has ${visPos[0]} rows, expected grid² + 1 for a square grid`);
  }
  const arch: ClipArch = {
    embedDim: dims(sd, 'text_projection', 2)[1],
    imageResolution: conv1[3] * grid,
    visionWidth: conv1[0],
    visionLayers: countBlocks(sd, 'visual.transformer'),
    visionPatchSize: conv1[3],
    contextLength: dims(sd, 'positional_embedding', 2)[0],
    vocabSize: dims(sd, 'token_embedding.weight', 2)[0],
    textWidth: dims(sd, 'ln_final.weight', 1)[0],
    textLayers: countBlocks(sd, 'transformer'),
  };
  validateClipArch(arch);
  return arch;
}

/** Multiply-accumulates of one pre-LN block over n tokens (projections, scores, weighted sum). */
function blockMacs(n: number, width: number): number {
  return n * 12 * width * width + 2 * n * n * width;
}

/**
 * FLOPs (2 per multiply-accumulate) of the image tower for one image: patch embedding, the
 * transformer, the projection. Normalisations, softmax and activations are left out (< 1%).
 */
export function clipVisualFlops(arch: ClipArch): number {
  const g2 = gridSize(arch) ** 2;
  const n = g2 + 1;
  const patch = g2 * 3 * arch.visionPatchSize ** 2 * arch.visionWidth;
  const blocks = arch.visionLayers * blockMacs(n, arch.visionWidth);
  return 2 * (patch + blocks + arch.visionWidth * arch.embedDim);
}

/** FLOPs of the text tower for one prompt (all context positions are computed). */
export function clipTextFlops(arch: ClipArch): number {
  return 2 * (arch.textLayers * blockMacs(arch.contextLength, arch.textWidth) + arch.textWidth * arch.embedDim);
}
