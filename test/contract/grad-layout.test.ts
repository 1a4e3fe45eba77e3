/** Finite-difference checks of the layout and index rules (rules/layout.ts, rules/shuffle.ts), in float64. */
import { attr } from '../../pipeline/onnx/graph.ts';
import { type GradCase, gradientSuite } from '../helpers/grad-check.ts';

const x = (shape: number[], batch = false) => [{ name: 'x', shape, batch }];

const CASES: GradCase[] = [
  { name: 'Reshape (0 and -1)', dtype: 'float64', inputs: x([2, 3, 4], true), forward: (g, v) => g.op('Reshape', [v.x, g.constI64('s', [0, -1, 2])]) },
  { name: 'Flatten (axis 2)', dtype: 'float64', inputs: x([2, 3, 2, 2]), forward: (g, v) => g.op('Flatten', [v.x], { axis: attr.i(2) }) },
  { name: 'Squeeze (axis 1)', dtype: 'float64', inputs: x([2, 1, 3]), forward: (g, v) => g.op('Squeeze', [v.x, g.constI64('a', [1])]) },
  { name: 'Unsqueeze (axes 2, 3)', dtype: 'float64', inputs: x([2, 3], true), forward: (g, v) => g.op('Unsqueeze', [v.x, g.constI64('a', [2, 3])]) },
  { name: 'Transpose (perm 0, 2, 3, 1)', dtype: 'float64', inputs: x([2, 3, 2, 4], true), forward: (g, v) => g.op('Transpose', [v.x], { perm: attr.ints([0, 2, 3, 1]) }) },
  { name: 'Transpose (default: reversed)', dtype: 'float64', inputs: x([2, 3, 4]), forward: (g, v) => g.op('Transpose', [v.x]) },
  {
    name: 'Concat (axis 1, three inputs)',
    dtype: 'float64',
    inputs: [{ name: 'a', shape: [2, 1, 3], batch: true }, { name: 'b', shape: [2, 4, 3], batch: true }, { name: 'c', shape: [2, 2, 3], batch: true }],
    forward: (g, v) => g.op('Concat', [v.a, v.b, v.c], { axis: attr.i(1) }),
  },
  {
    name: 'Split (three parts, the middle one unused)',
    dtype: 'float64',
    inputs: x([2, 6], true),
    forward: (g, v) => {
      const [p, , q] = g.node('Split', [v.x, g.constI64('sizes', [2, 3, 1])], { axis: attr.i(-1) }, { outputs: 3 });
      return g.op('Concat', [q, p], { axis: attr.i(1) });
    },
  },
  { name: 'Split (even, no sizes)', dtype: 'float64', inputs: x([4, 3]), forward: (g, v) => g.op('Mul', g.node('Split', [v.x], { axis: attr.i(0) }, { outputs: 2 })) },
  {
    name: 'Slice (axes 1 and -1, negative start)',
    dtype: 'float64',
    inputs: x([2, 5, 6], true),
    forward: (g, v) => g.op('Slice', [v.x, g.constI64('st', [1, -4]), g.constI64('en', [4, 100]), g.constI64('ax', [1, -1])]),
  },
  { name: 'Pad (constant, both ends)', dtype: 'float64', inputs: x([2, 3], true), forward: (g, v) => g.op('Pad', [v.x, g.constI64('p', [0, 2, 0, 1])]) },
  {
    name: "Expand (CLIP's class token: [W] → Shape/Concat → [B, 1, W])",
    dtype: 'float64',
    inputs: [{ name: 'cls', shape: [4] }, { name: 'x', shape: [3, 5, 4], batch: true }],
    forward: (g, v) => {
      const batch = g.op('Shape', [v.x], { start: attr.i(0), end: attr.i(1) });
      const shape = g.op('Concat', [batch, g.constI64('one_w', [1, 4])], { axis: attr.i(0) });
      return g.op('Concat', [g.op('Expand', [v.cls, shape]), v.x], { axis: attr.i(1) });
    },
  },
  { name: 'Gather (axis 1, scalar index: ws[:, k])', dtype: 'float64', inputs: x([2, 4, 3], true), forward: (g, v) => g.op('Gather', [v.x, g.constI64('i', [2], [])], { axis: attr.i(1) }) },
  { name: 'Gather (axis 0, indices with repeats and a negative)', dtype: 'float64', inputs: x([4, 3]), forward: (g, v) => g.op('Gather', [v.x, g.constI64('i', [3, 0, 3, -3])], { axis: attr.i(0) }) },
  { name: 'Gather (axis 2, one index in a list)', dtype: 'float64', inputs: x([2, 3, 4]), forward: (g, v) => g.op('Gather', [v.x, g.constI64('i', [1])], { axis: attr.i(2) }) },
  { name: 'Tile (repeats 2, 1, 3)', dtype: 'float64', inputs: x([2, 3, 2]), forward: (g, v) => g.op('Tile', [v.x, g.constI64('reps', [2, 1, 3])]) },
  { name: 'DepthToSpace (DCR, blocksize 2)', dtype: 'float64', inputs: x([2, 8, 2, 3], true), forward: (g, v) => g.op('DepthToSpace', [v.x], { blocksize: attr.i(2) }) },
  { name: 'DepthToSpace (CRD, blocksize 2)', dtype: 'float64', inputs: x([2, 8, 3, 2]), forward: (g, v) => g.op('DepthToSpace', [v.x], { blocksize: attr.i(2), mode: attr.s('CRD') }) },
  { name: 'SpaceToDepth (blocksize 2)', dtype: 'float64', inputs: x([2, 3, 4, 6], true), forward: (g, v) => g.op('SpaceToDepth', [v.x], { blocksize: attr.i(2) }) },
];

gradientSuite('layout', CASES);
