/**
 * The gradient builder as a whole (pipeline/onnx/grad/differentiate.ts): refusals by name at build
 * time, operators off the gradient's path, initializers as trainable parameters, a symbolic batch,
 * graphs read back from bytes, and coverage of every operator the shipped graph builders emit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { differentiableOps, differentiate } from '../../pipeline/onnx/grad/index.ts';
import { RULES } from '../../pipeline/onnx/grad/rules/index.ts';
import { viewModel } from '../../pipeline/onnx/grad/model.ts';
import { buildPreprocessGraph } from '../../pipeline/onnx/preprocess.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { Identity } from '../../pipeline/models/identity.ts';
import { encoderGraphs, generatorGraphs } from '../../pipeline/models/latent-graphs.ts';
import { buildLatentGradient } from '../../pipeline/onnx/latent-loss.ts';
import { modelDir } from '../helpers/bundles.ts';

function codeOf(f: () => unknown): { code?: string; message: string } {
  try {
    f();
  } catch (e) {
    return { code: isStyleAtlasError(e) ? e.code : undefined, message: (e as Error).message };
  }
  return { message: 'no error' };
}

/** x [batch, 4] → a small MLP like the mapping network → scalar Σ mean(y²). */
function mlp(extra?: (g: GraphBuilder, x: string) => string): GraphBuilder {
  const rng = new Xoshiro128(3, 0);
  const g = new GraphBuilder('mlp');
  let x = g.input('x', 'float32', ['batch', 4]);
  if (extra) x = extra(g, x);
  const w = g.initializer('layer.weight', { dtype: 'float32', dims: [3, 4], data: Float32Array.from({ length: 12 }, () => rng.nextNormal()) });
  const bias = g.initializer('layer.bias', { dtype: 'float32', dims: [3], data: Float32Array.from({ length: 3 }, () => rng.nextNormal()) });
  const y = g.op('LeakyRelu', [g.op('Gemm', [x, w, bias], { transB: attr.i(1) })], { alpha: attr.f(0.2) });
  const perSample = g.op('ReduceMean', [g.op('Mul', [y, y])], { axes: attr.ints([1]), keepdims: attr.i(0) });
  g.output(g.op('ReduceSum', [perSample], { keepdims: attr.i(0) }), 'loss', 'float32', []);
  return g;
}

const xs = (n: number) => Float32Array.from({ length: 4 * n }, (_, i) => Math.sin(i + 1) * 1.5);

describe('refusals', () => {
  it('refuses an operator without a gradient rule on the gradient path, by name, before building anything', () => {
    const r = codeOf(() => differentiate(mlp((g, x) => g.op('Erf', [x])), { loss: 'loss', wrt: ['x'] }));
    expect(r.code).toBe('E_GRAD');
    expect(r.message).toMatch(/cannot differentiate through Erf \(node node_erf\): no gradient rule/);
    expect(r.message).toContain('MatMul');
  });

  it('refuses an operator whose output carries a gradient but that has no derivative rule (Sign)', () => {
    const r = codeOf(() => differentiate(mlp((g, x) => g.op('Sign', [x])), { loss: 'loss', wrt: ['x'] }));
    expect(r.code).toBe('E_GRAD');
    expect(r.message).toMatch(/Sign .*no derivative rule/);
  });

  it('refuses an operator of another domain on the path by its full name (the render graphs\' NCHWc Conv)', () => {
    const g = mlp((gb, x) => gb.node('ReorderOutput', [x], { channels_last: attr.i(0) }, { domain: 'com.microsoft.nchwc' })[0]);
    const r = codeOf(() => differentiate(g, { loss: 'loss', wrt: ['x'] }));
    expect(r.code).toBe('E_GRAD');
    expect(r.message).toMatch(/cannot differentiate through com\.microsoft\.nchwc\.ReorderOutput/);
  });

  it('refuses a graph whose operator domain has no known opset, before differentiating', () => {
    const g = mlp((gb, x) => gb.node('FusedThing', [x], {}, { domain: 'com.example' })[0]);
    expect(codeOf(() => differentiate(g, { loss: 'loss', wrt: ['x'] })).message).toMatch(/operator domain com\.example has no known opset/);
  });

  it('refuses a non-scalar loss and an unknown value to differentiate against', () => {
    const g = new GraphBuilder('vector');
    const x = g.input('x', 'float32', [3]);
    g.output(g.op('Mul', [x, x]), 'y', 'float32', [3]);
    expect(codeOf(() => differentiate(g, { loss: 'y', wrt: ['x'] })).message).toMatch(/must be a scalar \(shape \[\]\), found \[3\]/);
    expect(codeOf(() => differentiate(mlp(), { loss: 'loss', wrt: ['nope'] })).message).toMatch(/nope is neither a graph input nor an initializer/);
  });

  it('refuses a weight gradient it cannot write (grouped convolution)', () => {
    const g = new GraphBuilder('grouped');
    const x = g.input('x', 'float32', [1, 2, 4, 4]);
    const w = g.initializer('w', { dtype: 'float32', dims: [2, 1, 3, 3], data: new Float32Array(18).fill(0.1) });
    g.output(g.op('ReduceSum', [g.op('Conv', [x, w], { group: attr.i(2) })], { keepdims: attr.i(0) }), 'loss', 'float32', []);
    expect(codeOf(() => differentiate(g, { loss: 'loss', wrt: ['w'] })).message).toMatch(/weight of a grouped convolution is not supported/);
    expect(() => differentiate(g, { loss: 'loss', wrt: ['x'] })).not.toThrow();
  });
});

describe('gradients', () => {
  it('lets operators without rules stay off the path, and names them when the path needs their shapes', async () => {
    // Off the path: an Erf whose output only feeds a kept output.
    const g = mlp((gb, x) => {
      gb.output(gb.op('Erf', [x]), 'erf_of_x', 'float32');
      return x;
    });
    const grad = differentiate(g, { loss: 'loss', wrt: ['x'], keep: { erf_of_x: 'erf_of_x' } });
    const s = await ModelSession.open(grad.builder.toBytes(), 'erf off path');
    const out = await s.run({ x: float32(xs(2), [2, 4]) });
    expect((out.grad_x.data as Float32Array).some((v) => v !== 0)).toBe(true);
    expect(out.erf_of_x.dims).toEqual([2, 4]);
    await s.release();
    // A constant's Erf scaling the path: not differentiated, but its shape is needed.
    const scaled = mlp((gb, x) => gb.op('Mul', [x, gb.op('Erf', [gb.input('c', 'float32', [4])])]));
    expect(codeOf(() => differentiate(scaled, { loss: 'loss', wrt: ['x'] })).message).toMatch(/reads erf, made by Erf \(node node_erf\), which StyleAtlas has no rule for/);
  });

  it('turns differentiated initializers into inputs with their initial values, and gives zeros for what the loss ignores', async () => {
    const g = mlp();
    g.input('unused', 'float32', [2]);
    const grad = differentiate(g, { loss: 'loss', wrt: ['layer.weight', 'layer.bias', 'unused'] });
    expect([...grad.parameters.keys()]).toEqual(['layer.weight', 'layer.bias']);
    expect(grad.parameters.get('layer.weight')!.dims).toEqual([3, 4]);
    expect(grad.gradOutputs).toEqual({ 'layer.weight': 'grad_layer.weight', 'layer.bias': 'grad_layer.bias', unused: 'grad_unused' });
    const s = await ModelSession.open(grad.builder.toBytes(), 'params');
    const p = grad.parameters;
    const out = await s.run({
      x: float32(xs(3), [3, 4]),
      unused: float32(Float32Array.of(1, 2), [2]),
      'layer.weight': float32(p.get('layer.weight')!.data as Float32Array, [3, 4]),
      'layer.bias': float32(p.get('layer.bias')!.data as Float32Array, [3]),
    });
    expect(out['grad_layer.weight'].dims).toEqual([3, 4]);
    expect(Array.from(out.grad_unused.data as Float32Array)).toEqual([0, 0]);
    await s.release();
  });

  it('runs one graph at any batch size, each sample’s gradient its own (the batch loss is a sum)', async () => {
    const grad = differentiate(mlp(), { loss: 'loss', wrt: ['x'] });
    const s = await ModelSession.open(grad.builder.toBytes(), 'batch');
    const three = await s.run({ x: float32(xs(3), [3, 4]) });
    for (let b = 0; b < 3; b++) {
      const one = await s.run({ x: float32(xs(3).slice(4 * b, 4 * b + 4), [1, 4]) });
      const got = Array.from((three.grad_x.data as Float32Array).slice(4 * b, 4 * b + 4));
      got.forEach((v, i) => expect(v).toBeCloseTo((one.grad_x.data as Float32Array)[i], 6));
    }
    await s.release();
  });

  it('gives the same gradient graph for a builder and for its serialised bytes', async () => {
    const fromBuilder = differentiate(mlp(), { loss: 'loss', wrt: ['x', 'layer.weight'] }).builder.toBytes();
    const fromBytes = differentiate(mlp().toBytes(), { loss: 'loss', wrt: ['x', 'layer.weight'] }).builder.toBytes();
    expect(Buffer.from(fromBytes).equals(Buffer.from(fromBuilder))).toBe(true);
  });
});

describe('coverage', () => {
  const graphs: [string, () => Uint8Array][] = [
    ...['mapping.onnx', 'styles.onnx', 'synthesis.onnx'].map((f): [string, () => Uint8Array] => [`tiny/${f}`, () => readFileSync(join(modelDir('tiny'), f))]),
    ['tiny-clip/visual.onnx', () => readFileSync(join(modelDir('tiny-clip'), 'visual.onnx'))],
    ['colour-world/visual.onnx', () => readFileSync(join(modelDir('colour-world'), 'visual.onnx'))],
    ['CLIP preprocessing', () => buildPreprocessGraph({ inSize: 64, outSize: 224, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] }).toBytes()],
  ];
  for (const [name, bytes] of graphs) {
    it(`has a rule for every operator of ${name}`, () => {
      const ops = new Set(viewModel(bytes(), name).nodes.map((n) => n.op));
      expect([...ops].filter((op) => !RULES[op])).toEqual([]);
    });
  }

  it('writes gradient graphs that compute no shapes at run time (a GPU provider would leave those on the CPU)', async () => {
    const gen = await Generator.open(modelDir('tiny'));
    try {
      for (const encoder of ['tiny-clip', 'colour-world']) {
        const enc = await Encoder.open(modelDir(encoder), { parts: [] });
        const identity = Identity.open(modelDir('tiny-ir-se')).graphFor(gen.arch.resolution);
        const g = buildLatentGradient(generatorGraphs(gen), encoderGraphs(enc, gen.arch.resolution), identity);
        const ops = new Set(viewModel(g.builder, encoder).nodes.map((n) => n.op));
        expect([...ops].filter((op) => ['Shape', 'Size', 'ConstantOfShape'].includes(op)), encoder).toEqual([]);
        await enc.release();
      }
    } finally {
      await gen.release();
    }
  });

  it('lists the operators it can differentiate', () => {
    expect(differentiableOps()).toEqual(expect.arrayContaining(['Conv', 'ConvTranspose', 'DepthToSpace', 'Gemm', 'LayerNormalization', 'MatMul', 'Softmax']));
  });
});
