/**
 * Reductions (ReduceSum with axes as an input, opset 13; ReduceMean/Max/Min with an `axes`
 * attribute, opset ≤ 17), Softmax and LayerNormalization. A max or min passes its cotangent to
 * every element equal to the result, split evenly between ties (as torch.amax/amin do).
 */
import { fail } from '../../../core/errors.ts';
import { attr } from '../../graph.ts';
import { DataType } from '../../proto.ts';
import type { Backward } from '../backward.ts';
import type { NodeView } from '../model.ts';
import { type OpRule, input, where } from '../rule.ts';
import { type Meta, isStatic, mulDims, normAxis } from '../shapes.ts';

/** The reduced axes of a node, normalised; every axis when none are given. */
function reducedAxes(n: NodeView, rank: number, given: number[] | undefined, label: string): number[] {
  if (!given || given.length === 0) return Array.from({ length: rank }, (_, i) => i);
  return [...new Set(given.map((a) => normAxis(a, rank, where(n, label))))].sort((a, b) => a - b);
}

function attrAxes(n: NodeView): number[] | undefined {
  return n.attrs.ints('axes');
}

function inputAxes(n: NodeView, ins: readonly (Meta | undefined)[], label: string): number[] | undefined {
  if (!n.inputs[1]) return undefined;
  const v = ins[1]?.value;
  if (!v || v.some((x) => typeof x !== 'number')) fail('E_GRAD', `${where(n, label)}: axes must be a constant`);
  return v as number[];
}

interface Reduction {
  axes: number[];
  keep: boolean;
  x: string;
}

function reduceInfer(axesOf: (n: NodeView, ins: readonly (Meta | undefined)[], label: string) => number[] | undefined): OpRule['infer'] {
  return (n, ins, label) => {
    const x = input(n, ins, 0, label);
    if (!x.shape) return [{ dtype: x.dtype }];
    const given = axesOf(n, ins, label);
    if ((!given || given.length === 0) && n.attrs.int('noop_with_empty_axes', 0) === 1) return [{ dtype: x.dtype, shape: x.shape }];
    const axes = reducedAxes(n, x.shape.length, given, label);
    const keep = n.attrs.int('keepdims', 1) === 1;
    const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
    return [{ dtype: x.dtype, shape }];
  };
}

function reduction(b: Backward, n: NodeView, given: number[] | undefined): Reduction {
  const x = n.inputs[0];
  if ((!given || given.length === 0) && n.attrs.int('noop_with_empty_axes', 0) === 1) b.fail(n, 'noop_with_empty_axes is not supported');
  return { axes: reducedAxes(n, b.shape(x, n).length, given, b.label), keep: n.attrs.int('keepdims', 1) === 1, x };
}

/** A reduced value (cotangent or result) with the reduced axes kept as size 1. */
function kept(b: Backward, r: Reduction, v: string): string {
  return r.keep ? v : b.op('Unsqueeze', [v, b.i64(r.axes)]);
}

function spread(b: Backward, n: NodeView, r: Reduction, dyKept: string): string {
  return b.broadcastLike(dyKept, r.x, r.axes, n);
}

function count(b: Backward, n: NodeView, r: Reduction): number {
  const shape = b.shape(r.x, n);
  const c = mulDims(r.axes.map((a) => shape[a]));
  if (typeof c !== 'number') b.fail(n, `the mean runs over axes of unknown size (${c})`);
  return c;
}

function extremum(): OpRule {
  return {
    infer: reduceInfer(attrAxes),
    vjp(b, n, [dy]) {
      const r = reduction(b, n, attrAxes(n));
      const dtype = b.meta(r.x).dtype;
      const hit = b.op('Cast', [b.op('Equal', [r.x, kept(b, r, n.outputs[0])])], { to: attr.i(DataType[dtype]) });
      const ties = b.op('ReduceSum', [hit, b.i64(r.axes)], { keepdims: attr.i(1) });
      return [b.op('Mul', [hit, b.op('Div', [kept(b, r, dy!), ties])])];
    },
  };
}

export const REDUCE_RULES: Record<string, OpRule> = {
  ReduceSum: {
    infer: reduceInfer(inputAxes),
    vjp(b, n, [dy]) {
      const given = n.inputs[1] ? b.ints(n.inputs[1], n, 'axes') : undefined;
      const r = reduction(b, n, given);
      return [spread(b, n, r, kept(b, r, dy!)), undefined];
    },
  },
  ReduceMean: {
    infer: reduceInfer(attrAxes),
    vjp(b, n, [dy]) {
      const r = reduction(b, n, attrAxes(n));
      const scale = b.scalar(1 / count(b, n, r), b.meta(r.x).dtype);
      return [spread(b, n, r, kept(b, r, b.op('Mul', [dy!, scale])))];
    },
  },
  ReduceMax: extremum(),
  ReduceMin: extremum(),
  Softmax: {
    infer: (n, ins, label) => [{ dtype: input(n, ins, 0, label).dtype, shape: input(n, ins, 0, label).shape }],
    vjp(b, n, [dy]) {
      // dx = y ⊙ (dy − Σ_axis dy ⊙ y)
      const y = n.outputs[0];
      const axis = normAxis(n.attrs.int('axis', -1), b.shape(y, n).length, b.label);
      const inner = b.op('ReduceSum', [b.op('Mul', [dy!, y]), b.i64([axis])], { keepdims: attr.i(1) });
      return [b.op('Mul', [y, b.op('Sub', [dy!, inner])])];
    },
  },
  LayerNormalization: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      const out: Meta[] = [{ dtype: x.dtype, shape: x.shape }];
      if (x.shape) {
        const axis = normAxis(n.attrs.int('axis', -1), x.shape.length, where(n, label));
        const stat = x.shape.map((d, i) => (i < axis ? d : 1));
        for (let k = 1; k < n.outputs.length; k++) out.push({ dtype: 'float32', shape: stat });
      }
      return out;
    },
    vjp(b, n, dys, need) {
      if (dys.slice(1).some(Boolean)) b.fail(n, 'only the normalised output (not Mean or InvStdDev) can carry a gradient');
      const [x, scale, bias] = n.inputs;
      const shape = b.shape(x, n);
      const axis = normAxis(n.attrs.int('axis', -1), shape.length, b.label);
      const axes = Array.from({ length: shape.length - axis }, (_, i) => axis + i);
      const size = mulDims(axes.map((a) => shape[a]));
      if (!isStatic([size])) b.fail(n, `the normalised axes have unknown size (${size})`);
      const dtype = b.meta(x).dtype;
      const mean = (v: string) => b.op('ReduceMean', [v], { axes: attr.ints(axes), keepdims: attr.i(1) });
      // Recomputed from x as the forward computes them: x̂ = (x − μ) · r, r = 1/√(var + ε).
      const centred = b.op('Sub', [x, mean(x)]);
      const variance = mean(b.op('Mul', [centred, centred]));
      const r = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.scalar(n.attrs.float('epsilon', 1e-5), dtype)])])]);
      const xhat = b.op('Mul', [centred, r]);
      const dy = dys[0]!;
      const out: (string | undefined)[] = [undefined, undefined, undefined];
      if (need[0]) {
        // dx = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)), ĝ = dy ⊙ scale
        const gh = b.op('Mul', [dy, scale]);
        out[0] = b.op('Mul', [r, b.op('Sub', [b.op('Sub', [gh, mean(gh)]), b.op('Mul', [xhat, mean(b.op('Mul', [gh, xhat]))])])]);
      }
      if (need[1]) out[1] = b.unbroadcast(b.op('Mul', [dy, xhat]), shape, scale, n);
      if (need[2] && bias) out[2] = b.unbroadcast(dy, shape, bias, n);
      return out;
    },
  },
};
