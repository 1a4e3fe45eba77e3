/**
 * The terms of StyleCLIP's objectives as ONNX subgraphs, per sample ([B] outputs), so one session
 * returns each term for a loss curve and their weighted sum for the gradient:
 *   D_CLIP(x, t) = 1 − cos(E_I(P(x)), E_T(t))   (the official code's 1 − logits/100 is the same for
 *                                                 CLIP's trained logit scale of 100; we use the cosine)
 *   L2           = ‖w − w_s‖²                    (summed over every ws row and channel)
 *   L_ID         = 1 − ⟨R(G(w_s)), R(G(w))⟩      (R's features are unit vectors)
 */
import { type GraphBuilder, attr } from './graph.ts';

/** Σ over `axes`, dropping them. */
function sumOver(g: GraphBuilder, x: string, axes: readonly number[]): string {
  return g.op('ReduceSum', [x, g.constI64('loss_axes', axes)], { keepdims: attr.i(0) });
}

/** 1 − cos(a_b, t_b) for a [B, D] against t [B or 1, D] → [B]. */
export function addCosineDistance(g: GraphBuilder, a: string, t: string, hint = 'clip_distance'): string {
  const dot = sumOver(g, g.op('Mul', [a, t]), [1]); // [B]
  const na = g.op('Sqrt', [sumOver(g, g.op('Mul', [a, a]), [1])]);
  const nt = g.op('Sqrt', [sumOver(g, g.op('Mul', [t, t]), [1])]);
  const cos = g.op('Div', [dot, g.op('Mul', [na, nt])]);
  return g.op('Sub', [g.constF32('one', [1], []), cos], {}, hint);
}

/** ‖x_b − y_b‖² over every axis but the batch, for x, y of rank `rank` → [B]. */
export function addSquaredDistance(g: GraphBuilder, x: string, y: string, rank: number, hint = 'l2_distance'): string {
  const d = g.op('Sub', [x, y]);
  return g.op('Identity', [sumOver(g, g.op('Mul', [d, d]), Array.from({ length: rank - 1 }, (_, i) => i + 1))], {}, hint);
}

/** 1 − ⟨f_b, f0_b⟩ for unit feature rows f, f0 [B, E] → [B]. */
export function addFeatureDistance(g: GraphBuilder, f: string, f0: string, hint = 'id_distance'): string {
  return g.op('Sub', [g.constF32('one', [1], []), sumOver(g, g.op('Mul', [f, f0]), [1])], {}, hint);
}

/** Σ_b of [B] per-sample losses: the scalar the gradient is taken of (samples stay independent). */
export function addBatchTotal(g: GraphBuilder, perSample: string, hint = 'loss_total'): string {
  return g.op('ReduceSum', [perSample], { keepdims: attr.i(0) }, hint);
}

/**
 * mean_b of [B] per-sample losses: the official mapper trainer's batch loss (every term a batch
 * mean). Σ / Σ 1 rather than ReduceMean, whose derivative would need the symbolic batch size, and
 * without Shape or Size: graphs compute no shapes at run time (CUDA places such nodes on the CPU).
 */
export function addBatchMean(g: GraphBuilder, perSample: string, hint = 'loss_mean'): string {
  const ones = g.op('Add', [g.op('Mul', [perSample, g.constF32('zero', [0], [])]), g.constF32('one', [1], [])]); // [B] of 1
  return g.op('Div', [addBatchTotal(g, perSample), addBatchTotal(g, ones)], {}, hint);
}
