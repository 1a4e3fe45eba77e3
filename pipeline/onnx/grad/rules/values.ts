/**
 * Operators that make shapes, indices and constants rather than differentiable values: Shape,
 * Size, ConstantOfShape, Constant, ArgMax. They have no derivative; typing them (with their values,
 * which may be symbolic: Shape(x) is ['batch', 3, …]) lets shapes computed inside a graph be known
 * statically. StyleAtlas's own graphs no longer compute shapes, and the backward graphs never do.
 */
import { fail } from '../../../core/errors.ts';
import { dtypeOfCode, tensorNumbers } from '../model.ts';
import { type OpRule, inputShape, where } from '../rule.ts';
import { normAxis } from '../shapes.ts';

function shapeValue(n: Parameters<OpRule['infer']>[0], ins: Parameters<OpRule['infer']>[1], label: string) {
  const v = ins[0]?.value;
  if (!v) fail('E_GRAD', `${where(n, label)}: the shape (${n.inputs[0]}) must be a constant`);
  return v;
}

export const VALUE_RULES: Record<string, OpRule> = {
  Shape: {
    infer(n, ins, label) {
      const x = inputShape(n, ins, 0, label);
      const r = x.length;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
      const value = x.slice(clamp(n.attrs.int('start', 0)), clamp(n.attrs.int('end', r)));
      return [{ dtype: 'int64', shape: [value.length], value }];
    },
  },
  Size: { infer: () => [{ dtype: 'int64', shape: [] }] },
  ConstantOfShape: {
    infer(n, ins, label) {
      const t = n.attrs.tensor('value');
      return [{ dtype: t ? dtypeOfCode(t.data_type ?? 0, where(n, label)) : 'float32', shape: shapeValue(n, ins, label) }];
    },
  },
  Constant: {
    infer(n, _ins, label) {
      const t = n.attrs.tensor('value');
      if (!t) fail('E_GRAD', `${where(n, label)}: only tensor-valued Constant nodes are supported`);
      const { dtype, dims, values } = tensorNumbers(t, where(n, label));
      return [{ dtype, shape: dims, value: values.length <= 64 ? Array.from(values) : undefined }];
    },
  },
  ArgMax: {
    infer(n, ins, label) {
      const x = inputShape(n, ins, 0, label);
      const axis = normAxis(n.attrs.int('axis', 0), x.length, where(n, label));
      const keep = n.attrs.int('keepdims', 1) === 1;
      return [{ dtype: 'int64', shape: x.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])) }];
    },
  },
};
