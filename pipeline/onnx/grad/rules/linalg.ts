/**
 * MatMul (numpy batching, both operands of rank ≥ 2) and Gemm (Y = α·op(A)·op(B) + β·C).
 * dA = dY·Bᵀ and dB = Aᵀ·dY, summed over the batch axes an operand was broadcast along.
 */
import { fail } from '../../../core/errors.ts';
import { attr } from '../../graph.ts';
import type { Backward } from '../backward.ts';
import { type OpRule, input, inputShape, where } from '../rule.ts';
import { broadcast } from '../shapes.ts';

/** v·factor, for a cotangent v of the forward value `like` (backward values have no recorded type). */
function scaled(b: Backward, v: string, factor: number, like: string): string {
  return factor === 1 ? v : b.op('Mul', [v, b.scalar(factor, b.meta(like).dtype)]);
}

export const LINALG_RULES: Record<string, OpRule> = {
  MatMul: {
    infer(n, ins, label) {
      const a = inputShape(n, ins, 0, label);
      const bs = inputShape(n, ins, 1, label);
      if (a.length < 2 || bs.length < 2) fail('E_GRAD', `${where(n, label)}: one-dimensional MatMul operands are not supported`);
      const batch = broadcast(a.slice(0, -2), bs.slice(0, -2), where(n, label));
      return [{ dtype: input(n, ins, 0, label).dtype, shape: [...batch, a[a.length - 2], bs[bs.length - 1]] }];
    },
    vjp(b, n, [dy], need) {
      const [x, w] = n.inputs;
      const xShape = b.shape(x, n);
      const wShape = b.shape(w, n);
      const yShape = b.shape(n.outputs[0], n);
      const out: (string | undefined)[] = [undefined, undefined];
      if (need[0]) {
        const d = b.op('MatMul', [dy!, b.transposeLast2(w, wShape.length)]); // [..., M, N] @ [..., N, K]
        out[0] = b.unbroadcast(d, [...yShape.slice(0, -1), xShape[xShape.length - 1]], x, n);
      }
      if (need[1]) {
        const d = b.op('MatMul', [b.transposeLast2(x, xShape.length), dy!]); // [..., K, M] @ [..., M, N]
        out[1] = b.unbroadcast(d, [...yShape.slice(0, -2), wShape[wShape.length - 2], yShape[yShape.length - 1]], w, n);
      }
      return out;
    },
  },
  Gemm: {
    infer(n, ins, label) {
      const a = inputShape(n, ins, 0, label);
      const bs = inputShape(n, ins, 1, label);
      const m = n.attrs.int('transA', 0) ? a[1] : a[0];
      const cols = n.attrs.int('transB', 0) ? bs[0] : bs[1];
      return [{ dtype: input(n, ins, 0, label).dtype, shape: [m, cols] }];
    },
    vjp(b, n, [dy], need) {
      const [a, w, c] = n.inputs;
      const ta = n.attrs.int('transA', 0) === 1;
      const tb = n.attrs.int('transB', 0) === 1;
      const alpha = n.attrs.float('alpha', 1);
      const beta = n.attrs.float('beta', 1);
      const gemm = (p: string, q: string, transA: boolean, transB: boolean) =>
        b.op('Gemm', [p, q], { transA: attr.i(transA ? 1 : 0), transB: attr.i(transB ? 1 : 0), alpha: attr.f(alpha) });
      const out: (string | undefined)[] = [undefined, undefined, undefined];
      // With A' = op(A), B' = op(B): dA' = α dY B'ᵀ, dB' = α A'ᵀ dY, and dA = dA'ᵀ when A was transposed.
      if (need[0]) out[0] = ta ? gemm(w, dy!, tb, true) : gemm(dy!, w, false, !tb);
      if (need[1]) out[1] = tb ? gemm(dy!, a, true, ta) : gemm(a, dy!, !ta, false);
      if (need[2] && c) out[2] = b.unbroadcast(scaled(b, dy!, beta, n.outputs[0]), b.shape(n.outputs[0], n), c, n);
      return out;
    },
  },
};
