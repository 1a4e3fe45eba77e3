/**
 * OpenAI CLIP's two towers as ONNX graphs (DESIGN §3, CLIP contract):
 *   visual: pixel_values [B, 3, S, S] float32 (already normalised) → image_embeds [B, D]
 *   text:   input_ids [B, 77] int64 (zero-padded, eot has the largest id) → text_embeds [B, D]
 * Both are model.py's `encode_image` / `encode_text`: not L2-normalised (the pipeline does that).
 */
import { GraphBuilder, attr } from '../graph.ts';
import type { StateDict } from '../params.ts';
import { type ClipArch, gridSize, validateClipArch } from './arch.ts';
import { layerNorm, transformer, weight } from './transformer.ts';

/**
 * The additive causal mask of model.py's `build_attention_mask`: 0 on and below the diagonal, a
 * large negative above. Finite rather than -inf so no runtime fusion can turn it into NaN; exp of
 * it underflows to exactly 0, as -inf would.
 */
export const MASKED = -1e9;

export function causalMask(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = MASKED;
  return m;
}

/** `VisionTransformer.forward`: patches + class token → transformer → ln_post(class token) @ proj. */
export function buildClipVisual(arch: ClipArch, sd: StateDict): GraphBuilder {
  validateClipArch(arch);
  const g = new GraphBuilder('clip_visual');
  const w = arch.visionWidth;
  const p = arch.visionPatchSize;
  const n = gridSize(arch) ** 2 + 1;
  const pixels = g.input('pixel_values', 'float32', ['batch', 3, arch.imageResolution, arch.imageResolution]);

  const conv1 = weight(g, sd, 'visual.conv1.weight', [w, 3, p, p]);
  const grid = g.op('Conv', [pixels, conv1], { kernel_shape: attr.ints([p, p]), strides: attr.ints([p, p]) }); // [B, W, G, G]
  const flat = g.op('Reshape', [grid, g.constI64('patches_shape', [0, w, -1])]); // [B, W, G, G] -> [B, W, G²]
  const patches = g.op('Transpose', [flat], { perm: attr.ints([0, 2, 1]) }); // [B, W, G²] -> [B, G², W]

  // [class token; patches] + positions, without computing the batch size at run time (a GPU provider
  // would leave that on the CPU): the patches padded with a zero row in front, plus a constant whose
  // row 0 is class token + position 0. Each sum is the one the concatenation gives, bit for bit.
  const padded = g.op('Pad', [patches, g.constI64('class_row_pads', [0, 1, 0, 0, 0, 0])]); // [B, G², W] -> [B, G² + 1, W]
  const cls = g.op('Unsqueeze', [weight(g, sd, 'visual.class_embedding', [w]), g.constI64('class_axes', [0])]); // [W] -> [1, W]
  const clsRow = g.op('Pad', [cls, g.constI64('class_row_to_tokens', [0, 0, n - 1, 0])]); // [1, W] -> [N, W], zeros below
  const pos = weight(g, sd, 'visual.positional_embedding', [n, w]);
  const x0 = layerNorm(g, sd, g.op('Add', [padded, g.op('Add', [clsRow, pos])]), 'visual.ln_pre', w);

  const x = transformer(g, sd, x0, 'visual.transformer', w, arch.visionLayers);
  const first = g.op('Gather', [x, g.constI64('class_index', [0], [])], { axis: attr.i(1) }); // [B, N, W] -> [B, W]
  const pooled = layerNorm(g, sd, first, 'visual.ln_post', w);
  const embeds = g.op('MatMul', [pooled, weight(g, sd, 'visual.proj', [w, arch.embedDim])]); // [B, W] -> [B, D]
  g.output(embeds, 'image_embeds', 'float32', ['batch', arch.embedDim]);
  return g;
}

/** `CLIP.encode_text`: tokens + positions → causal transformer → ln_final → eot features @ text_projection. */
export function buildClipText(arch: ClipArch, sd: StateDict): GraphBuilder {
  validateClipArch(arch);
  const g = new GraphBuilder('clip_text');
  const w = arch.textWidth;
  const n = arch.contextLength;
  const ids = g.input('input_ids', 'int64', ['batch', n]);

  const table = weight(g, sd, 'token_embedding.weight', [arch.vocabSize, w]);
  const tokens = g.op('Gather', [table, ids], { axis: attr.i(0) }); // [B, N] -> [B, N, W]
  const x0 = g.op('Add', [tokens, weight(g, sd, 'positional_embedding', [n, w])]);
  const mask = g.constant('causal_mask', { dtype: 'float32', dims: [n, n], data: causalMask(n) });

  const x = layerNorm(g, sd, transformer(g, sd, x0, 'transformer', w, arch.textLayers, mask), 'ln_final', w);
  // The end-of-text token has the largest id, so its position is argmax(ids) (first one on ties, as torch).
  const eot = g.op('ArgMax', [ids], { axis: attr.i(-1), keepdims: attr.i(1) }, 'eot_position'); // [B, N] -> [B, 1]
  const pooled = g.op('GatherND', [x, eot], { batch_dims: attr.i(1) }); // [B, N, W] -> [B, W]
  const embeds = g.op('MatMul', [pooled, weight(g, sd, 'text_projection', [w, arch.embedDim])]); // [B, W] -> [B, D]
  g.output(embeds, 'text_embeds', 'float32', ['batch', arch.embedDim]);
  return g;
}
