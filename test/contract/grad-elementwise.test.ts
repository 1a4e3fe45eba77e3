/** Finite-difference checks of the elementwise rules (pipeline/onnx/grad/rules/elementwise.ts), in float64. */
import { type GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { type GradCase, gradientSuite } from '../helpers/grad-check.ts';

const f64 = (g: GraphBuilder, values: number[], dims: number[]) => g.constant('c', { dtype: 'float64', dims, data: Float64Array.from(values) });

const unary = (op: string, init: 'normal' | 'positive' | 'away' = 'normal', attrs = {}): GradCase => ({
  name: op,
  dtype: 'float64',
  inputs: [{ name: 'x', shape: [2, 3, 4], init, batch: true }],
  forward: (g, v) => g.op(op, [v.x], attrs),
});

const CASES: GradCase[] = [
  {
    name: 'Add (broadcast [2,3,4] + [3,1])',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 3, 4], batch: true }, { name: 'b', shape: [3, 1] }],
    forward: (g, v) => g.op('Add', [v.a, v.b]),
  },
  {
    name: 'Sub (broadcast [4] − [2,3,4])',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [4] }, { name: 'b', shape: [2, 3, 4] }],
    forward: (g, v) => g.op('Sub', [v.a, v.b]),
  },
  {
    name: 'Mul (broadcast [2,3,1,1] · [1,3,4,5])',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 3, 1, 1], batch: true }, { name: 'b', shape: [1, 3, 4, 5] }],
    forward: (g, v) => g.op('Mul', [v.a, v.b]),
  },
  {
    name: 'Mul (x · x)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [3, 4] }],
    forward: (g, v) => g.op('Mul', [v.x, v.x]),
  },
  {
    name: 'Div (broadcast [2,3] / [3])',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3], init: 'positive' }],
    forward: (g, v) => g.op('Div', [v.a, v.b]),
  },
  {
    name: 'Pow (constant exponent 3)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 5] }],
    forward: (g, v) => g.op('Pow', [v.x, f64(g, [3], [])]),
  },
  {
    name: 'Pow (constant exponent 0.5, float32 exponent)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 5], init: 'positive' }],
    forward: (g, v) => g.op('Pow', [v.x, g.constF32('half', [0.5], [])]),
  },
  {
    name: 'Sum (three inputs, broadcast)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }, { name: 'c', shape: [2, 1] }],
    forward: (g, v) => g.op('Sum', [v.a, v.b, v.c]),
  },
  {
    name: 'Where (constant condition, broadcast)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }],
    forward: (g, v) => g.op('Where', [g.op('Greater', [f64(g, [1, -1, 1, -1, -1, 1], [2, 3]), f64(g, [0], [])]), v.a, v.b]),
  },
  unary('Identity'),
  unary('Neg'),
  unary('Abs', 'away'),
  unary('Sqrt', 'positive'),
  unary('Reciprocal', 'positive'),
  unary('Exp'),
  unary('Log', 'positive'),
  unary('Tanh'),
  unary('Sigmoid'),
  unary('Relu', 'away'),
  unary('LeakyRelu', 'away', { alpha: attr.f(0.2) }),
  {
    name: 'PRelu (per-channel slope [3,1,1] as a parameter)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 3, 2, 2], init: 'away', batch: true }, { name: 'slope', shape: [3, 1, 1], param: true }],
    forward: (g, v) => g.op('PRelu', [v.x, v.slope]),
  },
  {
    name: 'Clip (both bounds; values inside, below and above)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [8], values: [-2.3, -1.4, -0.6, -0.2, 0.3, 0.7, 1.5, 2.2] }],
    forward: (g, v) => g.op('Clip', [v.x, f64(g, [-1], []), f64(g, [1], [])]),
  },
  {
    name: 'Clip (lower bound only)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [6], values: [-2.3, -0.6, -0.2, 0.3, 0.7, 1.5] }],
    forward: (g, v) => g.op('Clip', [v.x, f64(g, [0], [])]),
  },
  {
    name: 'Cast (float64 → float64)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 3] }],
    forward: (g, v) => g.op('Mul', [g.op('Cast', [v.x], { to: attr.i(11) }), v.x]),
  },
];

gradientSuite('elementwise', CASES);
