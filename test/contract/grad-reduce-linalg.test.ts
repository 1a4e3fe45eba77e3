/** Finite-difference checks of the reduction, normalisation and matrix rules (rules/reduce.ts, rules/linalg.ts), in float64. */
import { attr } from '../../pipeline/onnx/graph.ts';
import { type GradCase, gradientSuite } from '../helpers/grad-check.ts';

const x234 = [{ name: 'x', shape: [2, 3, 4], batch: true }];

const CASES: GradCase[] = [
  { name: 'ReduceSum (axis 1, keepdims 0)', dtype: 'float64', inputs: x234, forward: (g, v) => g.op('ReduceSum', [v.x, g.constI64('axes', [1])], { keepdims: attr.i(0) }) },
  { name: 'ReduceSum (axes -1, 0, keepdims 1)', dtype: 'float64', inputs: x234, forward: (g, v) => g.op('ReduceSum', [v.x, g.constI64('axes', [-1, 0])]) },
  {
    name: 'ReduceSum (all axes, no axes input)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 3, 4] }],
    forward: (g, v) => g.op('Mul', [g.op('ReduceSum', [v.x], { keepdims: attr.i(0) }), v.x]),
  },
  { name: 'ReduceMean (axes 1, 2, keepdims 1)', dtype: 'float64', inputs: x234, forward: (g, v) => g.op('ReduceMean', [v.x], { axes: attr.ints([1, 2]) }) },
  { name: 'ReduceMean (axis -1, keepdims 0)', dtype: 'float64', inputs: x234, forward: (g, v) => g.op('ReduceMean', [v.x], { axes: attr.ints([-1]), keepdims: attr.i(0) }) },
  { name: 'ReduceMax (axis 1)', dtype: 'float64', inputs: [{ name: 'x', shape: [2, 3, 4], init: 'distinct' }], forward: (g, v) => g.op('ReduceMax', [v.x], { axes: attr.ints([1]) }) },
  {
    name: 'ReduceMin (axes 1, 2, keepdims 0)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 3, 4], init: 'distinct' }],
    forward: (g, v) => g.op('ReduceMin', [v.x], { axes: attr.ints([1, 2]), keepdims: attr.i(0) }),
  },
  { name: 'Softmax (axis -1)', dtype: 'float64', inputs: x234, forward: (g, v) => g.op('Softmax', [v.x], { axis: attr.i(-1) }) },
  { name: 'Softmax (axis 1)', dtype: 'float64', inputs: x234, forward: (g, v) => g.op('Softmax', [v.x], { axis: attr.i(1) }) },
  {
    name: 'LayerNormalization (axis -1; x, scale and bias)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 3, 5], batch: true }, { name: 'scale', shape: [5] }, { name: 'bias', shape: [5], param: true }],
    forward: (g, v) => g.op('LayerNormalization', [v.x, v.scale, v.bias], { axis: attr.i(-1), epsilon: attr.f(1e-5) }),
  },
  {
    name: 'LayerNormalization (axis 1 over [3, 4], no bias)',
    dtype: 'float64',
    inputs: [{ name: 'x', shape: [2, 3, 4] }, { name: 'scale', shape: [3, 4] }],
    forward: (g, v) => g.op('LayerNormalization', [v.x, v.scale], { axis: attr.i(1), epsilon: attr.f(1e-3) }),
  },
  {
    name: 'MatMul ([2,3] @ [3,4])',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 3], batch: true }, { name: 'b', shape: [3, 4] }],
    forward: (g, v) => g.op('MatMul', [v.a, v.b]),
  },
  {
    name: 'MatMul ([2,3,4,5] @ [5,2]: preprocessing width pass)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 3, 4, 5], batch: true }, { name: 'b', shape: [5, 2] }],
    forward: (g, v) => g.op('MatMul', [v.a, v.b]),
  },
  {
    name: 'MatMul ([2,4] @ [2,3,4,5]: preprocessing height pass)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 4] }, { name: 'b', shape: [2, 3, 4, 5] }],
    forward: (g, v) => g.op('MatMul', [v.a, v.b]),
  },
  {
    name: 'MatMul ([2,2,3,4] @ [2,2,4,3]: attention)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 2, 3, 4], batch: true }, { name: 'b', shape: [2, 2, 4, 3], batch: true }],
    forward: (g, v) => g.op('MatMul', [v.a, v.b]),
  },
  {
    name: 'MatMul ([2,1,3,4] @ [3,4,2]: batch broadcast both ways)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 1, 3, 4] }, { name: 'b', shape: [3, 4, 2] }],
    forward: (g, v) => g.op('MatMul', [v.a, v.b]),
  },
  ...[0, 1].flatMap((ta) =>
    [0, 1].map(
      (tb): GradCase => ({
        name: `Gemm (transA ${ta}, transB ${tb}, α 0.7, β 1.3, C [4])`,
        dtype: 'float64',
        inputs: [
          { name: 'a', shape: ta ? [3, 2] : [2, 3] },
          { name: 'b', shape: tb ? [4, 3] : [3, 4], param: true },
          { name: 'c', shape: [4], param: true },
        ],
        forward: (g, v) => g.op('Gemm', [v.a, v.b, v.c], { transA: attr.i(ta), transB: attr.i(tb), alpha: attr.f(0.7), beta: attr.f(1.3) }),
      }),
    ),
  ),
  {
    name: 'Gemm (transB 1, no C, symbolic batch: the mapping layers)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [3, 4], batch: true }, { name: 'b', shape: [5, 4] }],
    forward: (g, v) => g.op('Gemm', [v.a, v.b], { transB: attr.i(1) }),
  },
];

gradientSuite('reduce / normalise / linalg', CASES);
