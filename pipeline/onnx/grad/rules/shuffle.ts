/**
 * Index movements: Gather with constant indices (a scalar picks one slice — ws[:, k] in the styles
 * graph, CLIP's class token — and a list of indices gathers several), Tile, and the sub-pixel shuffles
 * DepthToSpace (DCR and CRD) and SpaceToDepth. A gather's cotangent is a one-hot contraction (exact:
 * every product is dy·1 or dy·0); a shuffle's is the inverse shuffle, written as reshape → transpose
 * → reshape.
 */
import { fail } from '../../../core/errors.ts';
import { type Dim, attr } from '../../graph.ts';
import type { Backward } from '../backward.ts';
import type { NodeView } from '../model.ts';
import { type OpRule, input, inputShape, where } from '../rule.ts';
import { type Meta, divDim, mulDims, normAxis } from '../shapes.ts';

function gatherInfer(n: NodeView, ins: readonly (Meta | undefined)[], label: string): Meta[] {
  const x = input(n, ins, 0, label);
  const idx = input(n, ins, 1, label);
  if (!x.shape || !idx.shape) return [{ dtype: x.dtype }];
  const axis = normAxis(n.attrs.int('axis', 0), x.shape.length, where(n, label));
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  let value: Dim[] | undefined;
  if (x.value && x.shape.length === 1 && idx.value?.every((v) => typeof v === 'number')) {
    value = (idx.value as number[]).map((i) => x.value![i < 0 ? i + x.value!.length : i]);
  }
  return [{ dtype: x.dtype, shape, value }];
}

function gatherVjp(b: Backward, n: NodeView, dy: string): string {
  const [x, idx] = n.inputs;
  const xShape = b.shape(x, n);
  const rank = xShape.length;
  const axis = normAxis(n.attrs.int('axis', 0), rank, b.label);
  const size = xShape[axis];
  if (typeof size !== 'number') b.fail(n, `the gathered axis has unknown size ${size}`);
  const idxRank = b.shape(idx, n).length;
  if (idxRank > 1) b.fail(n, 'only scalar or one-dimensional constant indices are supported');
  const indices = b.ints(idx, n, 'the indices').map((i) => (i < 0 ? i + size : i));
  const dtype = b.meta(x).dtype;
  const picked = idxRank === 0 ? b.op('Unsqueeze', [dy, b.i64([axis])]) : dy; // x[:a] + [L] + x[a+1:]
  if (indices.length === 1) {
    // One slice: dy broadcast against a one-hot along the axis.
    const dims = xShape.map((_, i) => (i === axis ? size : 1));
    const hot = new Array<number>(size).fill(0);
    hot[indices[0]] = 1;
    return b.op('Mul', [picked, b.floats(hot, dims, dtype)]);
  }
  // Several: move the axis last, contract with the [L, N] one-hot, move it back.
  const hot = new Array<number>(indices.length * size).fill(0);
  indices.forEach((i, j) => (hot[j * size + i] = 1));
  const toLast = [...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis), axis];
  const back = new Array<number>(rank);
  toLast.forEach((p, i) => (back[p] = i));
  const moved = b.op('Transpose', [picked], { perm: attr.ints(toLast) });
  const spread = b.op('MatMul', [moved, b.floats(hot, [indices.length, size], dtype)]);
  return b.op('Transpose', [spread], { perm: attr.ints(back) });
}

type Mode = 'DCR' | 'CRD' | 'S2D';

/** The 6-D view and transpose that DepthToSpace (per mode) or SpaceToDepth performs. */
function shuffle(mode: Mode, c: Dim, h: Dim, w: Dim, k: number): { view: Dim[]; perm: number[] } {
  if (mode === 'DCR') return { view: [0, k, k, c, h, w], perm: [0, 3, 4, 1, 5, 2] };
  if (mode === 'CRD') return { view: [0, c, k, k, h, w], perm: [0, 1, 4, 2, 5, 3] };
  return { view: [0, c, h, k, w, k], perm: [0, 3, 5, 1, 2, 4] };
}

function shuffleRule(toSpace: boolean): OpRule {
  const mode = (n: NodeView): Mode => (toSpace ? (n.attrs.string('mode', 'DCR') as Mode) : 'S2D');
  return {
    infer(n, ins, label) {
      const x = inputShape(n, ins, 0, label);
      const k = n.attrs.int('blocksize', 0);
      const [batch, c, h, w] = x;
      const m = mode(n);
      if (m !== 'DCR' && m !== 'CRD' && m !== 'S2D') fail('E_GRAD', `${where(n, label)}: unknown mode ${m}`);
      const out = toSpace
        ? [batch, divDim(c, k * k), mulDims([h, k]), mulDims([w, k])]
        : [batch, mulDims([c, k * k]), divDim(h, k), divDim(w, k)];
      if (out.some((d) => d === undefined)) fail('E_GRAD', `${where(n, label)}: [${x.join(', ')}] does not divide by blocksize ${k}`);
      return [{ dtype: input(n, ins, 0, label).dtype, shape: out as Dim[] }];
    },
    vjp(b, n, [dy]) {
      const x = b.shape(n.inputs[0], n).slice(1);
      if (x.some((d) => typeof d !== 'number')) b.fail(n, `the gradient needs fixed channel and spatial sizes, found [${x.join(', ')}]`);
      const k = n.attrs.int('blocksize', 0);
      const m = mode(n);
      // The forward view is written in the input's terms; the output's 6-D view is its permutation.
      const [c, h, w] = x.map(Number);
      const { view, perm } = toSpace ? shuffle(m, c / (k * k), h, w, k) : shuffle(m, c, h / k, w / k, k);
      const outView = perm.map((p) => view[p]);
      const inverse = new Array<number>(6);
      perm.forEach((p, i) => (inverse[p] = i));
      const viewed = b.op('Reshape', [dy!, b.i64(outView.map(Number))]);
      return [b.reshapeLike(b.op('Transpose', [viewed], { perm: attr.ints(inverse) }), n.inputs[0], n)];
    },
  };
}

/** Tile with constant repeats: dx sums dy over the copies, seen as [r0, d0, r1, d1, …]. */
const TILE: OpRule = {
  infer(n, ins, label) {
    const x = input(n, ins, 0, label);
    const reps = ins[1]?.value;
    if (!x.shape || !reps || reps.length !== x.shape.length) return [{ dtype: x.dtype }];
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => mulDims([d, reps[i]])) }];
  },
  vjp(b, n, [dy]) {
    const x = b.staticShape(n.inputs[0], n);
    const reps = b.ints(n.inputs[1], n, 'the repeats');
    const viewed = b.op('Reshape', [dy!, b.i64(x.flatMap((d, i) => [reps[i], d]))]);
    const summed = b.op('ReduceSum', [viewed, b.i64(x.map((_, i) => 2 * i))], { keepdims: attr.i(0) });
    return [summed, undefined];
  },
};

export const SHUFFLE_RULES: Record<string, OpRule> = {
  Tile: TILE,
  Gather: { infer: gatherInfer, vjp: (b, n, [dy]) => [gatherVjp(b, n, dy!), undefined] },
  DepthToSpace: shuffleRule(true),
  SpaceToDepth: shuffleRule(false),
};
