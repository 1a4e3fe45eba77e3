/**
 * Elementwise operators: broadcasting arithmetic, unary functions and activations, and the
 * comparisons and logic they are masked with (which have no derivative). Where PyTorch picks a
 * subgradient, these pick the same one: relu/leaky_relu/prelu at 0 take the negative side,
 * clamp passes the gradient on its bounds (min ≤ x ≤ max, inclusive), abs at 0 gives 0.
 */
import { attr } from '../../graph.ts';
import { DataType } from '../../proto.ts';
import type { Backward } from '../backward.ts';
import { isFloat } from '../backward.ts';
import { dtypeOfCode, type NodeView } from '../model.ts';
import { type Cotangent, type OpRule, input, where } from '../rule.ts';
import { type Meta, broadcast } from '../shapes.ts';

/** Output typed like input 0, shaped like it. */
const sameAsInput: OpRule['infer'] = (n, ins, label) => {
  const x = input(n, ins, 0, label);
  return [{ dtype: x.dtype, shape: x.shape }];
};

function broadcastAll(n: NodeView, ins: readonly (Meta | undefined)[], label: string, from = 0): Meta['shape'] {
  let shape: Meta['shape'] = [];
  for (let i = from; i < n.inputs.length; i++) {
    const s = input(n, ins, i, label).shape;
    if (!s || !shape) return undefined;
    shape = broadcast(shape, s, where(n, label));
  }
  return shape;
}

const broadcasting = (dtype?: 'bool'): OpRule['infer'] => (n, ins, label) => [
  { dtype: dtype ?? input(n, ins, 0, label).dtype, shape: broadcastAll(n, ins, label) },
];

/** Binary broadcasting arithmetic: each input's cotangent is a function of dy, summed back to its shape. */
function binary(parts: (b: Backward, n: NodeView, dy: string) => [() => string, () => string]): OpRule {
  return {
    infer: broadcasting(),
    vjp(b, n, [dy], need) {
      const yShape = b.shape(n.outputs[0], n);
      const [da, db] = parts(b, n, dy!);
      return [need[0] ? b.unbroadcast(da(), yShape, n.inputs[0], n) : undefined, need[1] ? b.unbroadcast(db(), yShape, n.inputs[1], n) : undefined];
    },
  };
}

/** Unary operators whose derivative is written from x, y and dy. */
function unary(dx: (b: Backward, dy: string, x: string, y: string) => string): OpRule {
  return { infer: sameAsInput, vjp: (b, n, [dy]) => [dx(b, dy!, n.inputs[0], n.outputs[0])] };
}

const dtypeOf = (b: Backward, v: string) => b.meta(v).dtype;
const positive = (b: Backward, x: string) => b.op('Greater', [x, b.scalar(0, dtypeOf(b, x))]);

export const ELEMENTWISE_RULES: Record<string, OpRule> = {
  Add: binary((_b, _n, dy) => [() => dy, () => dy]),
  Sub: binary((b, _n, dy) => [() => dy, () => b.neg(dy)]),
  Mul: binary((b, n, dy) => [() => b.op('Mul', [dy, n.inputs[1]]), () => b.op('Mul', [dy, n.inputs[0]])]),
  // d(a/b)/db = −y/b
  Div: binary((b, n, dy) => [() => b.op('Div', [dy, n.inputs[1]]), () => b.neg(b.op('Div', [b.op('Mul', [dy, n.outputs[0]]), n.inputs[1]]))]),
  Pow: {
    infer: broadcasting(),
    vjp(b, n, [dy], need) {
      if (need[1]) b.fail(n, 'the gradient with respect to the exponent is not supported (only constant exponents)');
      const [x, e] = n.inputs;
      const ex = b.op('Cast', [e], { to: attr.i(DataType[dtypeOf(b, x)]) });
      const slope = b.op('Mul', [ex, b.op('Pow', [x, b.op('Sub', [ex, b.scalar(1, dtypeOf(b, x))])])]);
      return [b.unbroadcast(b.op('Mul', [dy!, slope]), b.shape(n.outputs[0], n), x, n), undefined];
    },
  },
  Sum: {
    infer: broadcasting(),
    vjp: (b, n, [dy], need) => n.inputs.map((x, i) => (need[i] ? b.unbroadcast(dy!, b.shape(n.outputs[0], n), x, n) : undefined)),
  },
  Where: {
    infer: (n, ins, label) => [{ dtype: input(n, ins, 1, label).dtype, shape: broadcastAll(n, ins, label) }],
    vjp(b, n, [dy], need) {
      const [c, x, y] = n.inputs;
      const zero = b.scalar(0, dtypeOf(b, x));
      const yShape = b.shape(n.outputs[0], n);
      return [
        undefined,
        need[1] ? b.unbroadcast(b.op('Where', [c, dy!, zero]), yShape, x, n) : undefined,
        need[2] ? b.unbroadcast(b.op('Where', [c, zero, dy!]), yShape, y, n) : undefined,
      ];
    },
  },
  Identity: unary((_b, dy) => dy),
  Neg: unary((b, dy) => b.neg(dy)),
  Abs: unary((b, dy, x) => b.op('Mul', [dy, b.op('Sign', [x])])),
  Sqrt: unary((b, dy, _x, y) => b.op('Div', [b.op('Mul', [dy, b.scalar(0.5, dtypeOf(b, y))]), y])),
  Reciprocal: unary((b, dy, _x, y) => b.neg(b.op('Mul', [dy, b.op('Mul', [y, y])]))),
  Exp: unary((b, dy, _x, y) => b.op('Mul', [dy, y])),
  Log: unary((b, dy, x) => b.op('Div', [dy, x])),
  Tanh: unary((b, dy, _x, y) => b.op('Mul', [dy, b.op('Sub', [b.scalar(1, dtypeOf(b, y)), b.op('Mul', [y, y])])])),
  Sigmoid: unary((b, dy, _x, y) => b.op('Mul', [dy, b.op('Mul', [y, b.op('Sub', [b.scalar(1, dtypeOf(b, y)), y])])])),
  Relu: unary((b, dy, x) => b.op('Where', [positive(b, x), dy, b.scalar(0, dtypeOf(b, x))])),
  LeakyRelu: {
    infer: sameAsInput,
    vjp(b, n, [dy]) {
      const x = n.inputs[0];
      const alpha = b.scalar(n.attrs.float('alpha', 0.01), dtypeOf(b, x));
      return [b.op('Where', [positive(b, x), dy!, b.op('Mul', [dy!, alpha])])];
    },
  },
  PRelu: {
    infer: sameAsInput,
    vjp(b, n, [dy], need) {
      const [x, slope] = n.inputs;
      const pos = positive(b, x);
      const zero = b.scalar(0, dtypeOf(b, x));
      return [
        need[0] ? b.op('Where', [pos, dy!, b.op('Mul', [dy!, slope])]) : undefined,
        need[1] ? b.unbroadcast(b.op('Where', [pos, zero, b.op('Mul', [dy!, x])]), b.shape(x, n), slope, n) : undefined,
      ];
    },
  },
  Clip: {
    infer: sameAsInput,
    vjp(b, n, [dy], need) {
      if (need[1] || need[2]) b.fail(n, 'the gradient with respect to the bounds is not supported (only constant bounds)');
      const [x, lo, hi] = n.inputs;
      const conds = [lo ? b.op('GreaterOrEqual', [x, lo]) : '', hi ? b.op('LessOrEqual', [x, hi]) : ''].filter(Boolean);
      if (conds.length === 0) return [dy];
      const inside = conds.length === 2 ? b.op('And', conds) : conds[0];
      return [b.op('Where', [inside, dy!, b.scalar(0, dtypeOf(b, x))]), undefined, undefined];
    },
  },
  Cast: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      const dtype = dtypeOfCode(n.attrs.int('to', 0), where(n, label));
      return [{ dtype, shape: x.shape, value: dtype === 'int64' || dtype === 'int32' ? x.value : undefined }];
    },
    vjp(b, n, [dy]): Cotangent[] {
      const from = dtypeOf(b, n.inputs[0]);
      if (!isFloat(from)) return [undefined];
      return [from === dtypeOf(b, n.outputs[0]) ? dy : b.op('Cast', [dy!], { to: attr.i(DataType[from]) })];
    },
  },
  // No derivative: boolean results.
  Equal: { infer: broadcasting('bool') },
  Less: { infer: broadcasting('bool') },
  LessOrEqual: { infer: broadcasting('bool') },
  Greater: { infer: broadcasting('bool') },
  GreaterOrEqual: { infer: broadcasting('bool') },
  And: { infer: broadcasting('bool') },
  Or: { infer: broadcasting('bool') },
  Not: { infer: sameAsInput },
  Sign: { infer: sameAsInput },
};
