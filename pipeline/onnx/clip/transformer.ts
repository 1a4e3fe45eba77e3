/**
 * The pieces both CLIP towers share, as ONNX subgraphs: LayerNorm, Linear, multi-head attention and
 * model.py's pre-LN `ResidualAttentionBlock`. Activations stay batch-first ([B, N, W]); model.py
 * permutes to [N, B, W] only because nn.MultiheadAttention wants it, which changes nothing.
 *
 * Weights are stored under their state-dict names and in their state-dict layouts (Linear weights
 * [out, in]); the graph transposes them, and onnxruntime folds those transposes once at load.
 */
import { type GraphBuilder, attr } from '../graph.ts';
import { type StateDict, f32, param } from '../params.ts';
import { HEAD_DIM } from './arch.ts';

/** model.py's LayerNorm is torch's, eps 1e-5, computed in float32. */
export const LN_EPS = 1e-5;

/** A state-dict tensor as a graph initializer under its own name, after the shape check. */
export function weight(g: GraphBuilder, sd: StateDict, name: string, shape: readonly number[]): string {
  return g.initializer(name, f32(shape, param(sd, name, shape)));
}

/** LayerNorm over the last axis with `<prefix>.weight` / `<prefix>.bias`. */
export function layerNorm(g: GraphBuilder, sd: StateDict, x: string, prefix: string, width: number): string {
  const scale = weight(g, sd, `${prefix}.weight`, [width]);
  const bias = weight(g, sd, `${prefix}.bias`, [width]);
  return g.op('LayerNormalization', [x, scale, bias], { axis: attr.i(-1), epsilon: attr.f(LN_EPS) }, prefix.replace(/\./g, '_'));
}

/** torch Linear: x @ W^T + b, for W [out, in] stored as given. */
function linear(g: GraphBuilder, x: string, w: string, b: string): string {
  const wT = g.op('Transpose', [w], { perm: attr.ints([1, 0]) }); // [out, in] -> [in, out]
  return g.op('Add', [g.op('MatMul', [x, wT]), b]);
}

function linearParams(g: GraphBuilder, sd: StateDict, x: string, prefix: string, outDim: number, inDim: number): string {
  const w = weight(g, sd, `${prefix}.weight`, [outDim, inDim]);
  const b = weight(g, sd, `${prefix}.bias`, [outDim]);
  return linear(g, x, w, b);
}

/**
 * nn.MultiheadAttention(x, x, x) with in_proj_weight [3W, W] (q, k, v stacked) and out_proj,
 * heads = W / 64, scores scaled by 1/√64; `mask` is an additive [N, N] constant or undefined.
 */
function attention(g: GraphBuilder, sd: StateDict, x: string, prefix: string, width: number, mask: string | undefined): string {
  const heads = width / HEAD_DIM;
  const inW = weight(g, sd, `${prefix}.in_proj_weight`, [3 * width, width]);
  const inB = weight(g, sd, `${prefix}.in_proj_bias`, [3 * width]);
  const qkv = linear(g, x, inW, inB); // [B, N, W] -> [B, N, 3W]
  const [q, k, v] = g.node('Split', [qkv, g.constI64('qkv_split', [width, width, width])], { axis: attr.i(-1) }, { outputs: 3 });
  const toHeads = g.constI64('heads_shape', [0, 0, heads, HEAD_DIM]);
  const split = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, toHeads])], { perm: attr.ints(perm) });
  const qh = split(q, [0, 2, 1, 3]); // [B, N, W] -> [B, N, H, 64] -> [B, H, N, 64]
  const kt = split(k, [0, 2, 3, 1]); // [B, N, W] -> [B, H, 64, N]
  const vh = split(v, [0, 2, 1, 3]); // [B, N, W] -> [B, H, N, 64]
  const scale = g.constF32('attn_scale', [1 / Math.sqrt(HEAD_DIM)], []);
  let scores = g.op('MatMul', [g.op('Mul', [qh, scale]), kt]); // [B, H, N, N]
  if (mask) scores = g.op('Add', [scores, mask]);
  const probs = g.op('Softmax', [scores], { axis: attr.i(-1) });
  const ctx = g.op('Transpose', [g.op('MatMul', [probs, vh])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, H, N, 64] -> [B, N, H, 64]
  const merged = g.op('Reshape', [ctx, g.constI64('merge_heads_shape', [0, 0, width])]); // [B, N, H, 64] -> [B, N, W]
  return linearParams(g, sd, merged, `${prefix}.out_proj`, width, width);
}

/** QuickGELU: x·σ(1.702x). */
function quickGelu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.constF32('quick_gelu_k', [1.702], [])])])]);
}

/** x + attn(ln_1(x)); then x + mlp(ln_2(x)), with the mlp c_fc → QuickGELU → c_proj. */
function residualAttentionBlock(g: GraphBuilder, sd: StateDict, x: string, prefix: string, width: number, mask: string | undefined): string {
  const a = attention(g, sd, layerNorm(g, sd, x, `${prefix}.ln_1`, width), `${prefix}.attn`, width, mask);
  const x1 = g.op('Add', [x, a]);
  const hidden = quickGelu(g, linearParams(g, sd, layerNorm(g, sd, x1, `${prefix}.ln_2`, width), `${prefix}.mlp.c_fc`, 4 * width, width)); // [B, N, 4W]
  const m = linearParams(g, sd, hidden, `${prefix}.mlp.c_proj`, width, 4 * width); // [B, N, 4W] -> [B, N, W]
  return g.op('Add', [x1, m], {}, `${prefix.replace(/\./g, '_')}_out`);
}

/** model.py's `Transformer`: `layers` blocks under `<prefix>.resblocks.<i>`. */
export function transformer(g: GraphBuilder, sd: StateDict, x: string, prefix: string, width: number, layers: number, mask?: string): string {
  let y = x;
  for (let i = 0; i < layers; i++) y = residualAttentionBlock(g, sd, y, `${prefix}.resblocks.${i}`, width, mask);
  return y;
}
