import { describe, expect, it } from 'vitest';
import { GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';

async function run(g: GraphBuilder, feeds: Record<string, ReturnType<typeof float32>>) {
  const s = await ModelSession.open(g.toBytes({ metadata: { purpose: 'test' } }), g.name);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

describe('ONNX graph builder (run in onnxruntime-node)', () => {
  it('MatMul + bias + LeakyRelu equals the hand computation', async () => {
    const g = new GraphBuilder('mlp');
    const x = g.input('x', 'float32', ['batch', 3]);
    const y = g.op('LeakyRelu', [g.op('Add', [g.op('MatMul', [x, g.constF32('w', [1, 2, 3, 4, 5, 6], [3, 2])]), g.constF32('b', [0.5, -0.5])])], { alpha: attr.f(0.25) });
    g.output(y, 'y', 'float32', ['batch', 2]);
    const out = await run(g, { x: float32(Float32Array.from([1, -1, 0, -1, -2, -3]), [2, 3]) });
    // [1,-1,0]·W = [-2,-2] + b = [-1.5,-2.5] → ×0.25;  [-1,-2,-3]·W = [-22,-28] + b = [-21.5,-28.5] → ×0.25
    expect(Array.from(out.y.data as Float32Array)).toEqual([-0.375, -0.625, -5.375, -7.125]);
    expect(out.y.dims).toEqual([2, 2]);
  });

  it('Gemm with transB and an int attribute', async () => {
    const g = new GraphBuilder('gemm');
    const x = g.input('x', 'float32', [1, 2]);
    g.output(g.op('Gemm', [x, g.constF32('w', [1, 0, 2, 3, 4, 5], [3, 2]), g.constF32('b', [1, 1, 1])], { transB: attr.i(1) }), 'y', 'float32', [1, 3]);
    const out = await run(g, { x: float32(Float32Array.from([2, 10]), [1, 2]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([3, 35, 59]); // [2, 4+30, 8+50] + 1
  });

  it('3×3 convolution with padding matches a hand-computed output', async () => {
    const g = new GraphBuilder('conv');
    const x = g.input('x', 'float32', [1, 1, 3, 3]);
    const k = g.constF32('k', [0, 1, 0, 1, 1, 1, 0, 1, 0], [1, 1, 3, 3]); // plus-shaped sum
    g.output(g.op('Conv', [x, k], { pads: attr.ints([1, 1, 1, 1]) }), 'y', 'float32', [1, 1, 3, 3]);
    const out = await run(g, { x: float32(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([7, 11, 11, 17, 25, 23, 19, 29, 23]);
  });

  it('writes model metadata, opset 17 and IR 8, and the same bytes twice', () => {
    const make = () => {
      const g = new GraphBuilder('m');
      g.output(g.op('Relu', [g.input('x', 'float32', [2])]), 'y', 'float32', [2]);
      return g.toBytes({ metadata: { a: 'b' } });
    };
    expect(Buffer.from(make()).equals(Buffer.from(make()))).toBe(true);
  });

  it('shares small constants and keeps names unique', () => {
    const g = new GraphBuilder('c');
    const a = g.constF32('eps', [1e-8], []);
    const b = g.constF32('eps', [1e-8], []);
    const c = g.constF32('eps', [2e-8], []);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('refuses wiring mistakes', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [1]);
    expect(() => g.op('Relu', ['nope'])).toThrow(/unknown value nope/);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
    expect(() => g.initializer('w', { dtype: 'float32', dims: [2, 2], data: new Float32Array(3) })).toThrow(/hold 4 values/);
    expect(() => g.initializer('v', { dtype: 'int64', dims: [1], data: new Float32Array(1) })).toThrow(/8-byte/);
    expect(() => new GraphBuilder('empty').toBytes()).toThrow(/no outputs/);
  });
});
