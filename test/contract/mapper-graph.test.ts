/**
 * The latent mapper's graph (pipeline/onnx/mapper.ts) against a plain float64 TypeScript forward
 * written from the official code (test/reference/mapper-ref.ts), its groups against the official
 * slicing, and its weight checks.
 */
import { describe, expect, it } from 'vitest';
import { initialMapperWeights, mapperGroups, mapperParamCount, mapperParamSpec, type MapperWeights } from '../../pipeline/core/mapper.ts';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { Identity } from '../../pipeline/models/identity.ts';
import { encoderGraphs, generatorGraphs } from '../../pipeline/models/latent-graphs.ts';
import { decodeModel } from '../../pipeline/onnx/compose.ts';
import { viewModel } from '../../pipeline/onnx/grad/model.ts';
import { buildIdentityFeatures, buildMapperGradient } from '../../pipeline/onnx/mapper-loss.ts';
import { GraphBuilder } from '../../pipeline/onnx/graph.ts';
import { addBatchMean } from '../../pipeline/onnx/losses.ts';
import { MAPPER_IO, buildMapperModel } from '../../pipeline/onnx/mapper.ts';
import { modelDir } from '../helpers/bundles.ts';
import { thrownBy } from '../helpers/errors.ts';
import { relErr } from '../helpers/numeric.ts';
import { refMapper } from '../reference/mapper-ref.ts';

function randomWeights(numWs: number, wDim: number, seed: number): MapperWeights {
  const rng = new Xoshiro128(seed, 1);
  const w: MapperWeights = new Map();
  for (const [name, dims] of mapperParamSpec({ numWs, wDim })) {
    const n = dims.reduce((a, b) => a * b, 1);
    // Official-scale weights (N(0,1)/lr_mul) and biases away from 0, so every term of the forward shows.
    w.set(name, Float32Array.from({ length: n }, () => rng.nextNormal() * (name.endsWith('weight') ? 100 : 30)));
  }
  return w;
}

async function runMapper(numWs: number, wDim: number, weights: MapperWeights, ws: Float32Array, batch: number, strength: number) {
  const s = await ModelSession.open(buildMapperModel({ numWs, wDim }, weights).toBytes(), 'mapper');
  try {
    const out = await s.run({ [MAPPER_IO.ws]: float32(ws, [batch, numWs, wDim]), [MAPPER_IO.strength]: float32(Float32Array.of(strength), []) });
    return { delta: out[MAPPER_IO.delta].data as Float32Array, edited: out[MAPPER_IO.wsEdited].data as Float32Array };
  } finally {
    await s.release();
  }
}

describe('mapper groups', () => {
  it('cut W+ as the official LevelsMapper does (ws 0–3, 4–7, 8–), leaving out empty groups', () => {
    const cut = (n: number) => mapperGroups(n).map((g) => [g.name, g.start, g.end]);
    expect(cut(18)).toEqual([['coarse', 0, 4], ['medium', 4, 8], ['fine', 8, 18]]);
    expect(cut(14)).toEqual([['coarse', 0, 4], ['medium', 4, 8], ['fine', 8, 14]]);
    expect(cut(10)).toEqual([['coarse', 0, 4], ['medium', 4, 8], ['fine', 8, 10]]); // tiny, 64²
    expect(cut(8)).toEqual([['coarse', 0, 4], ['medium', 4, 8]]); // 32²: no fine group
    expect(cut(4)).toEqual([['coarse', 0, 4]]);
  });

  it('has the official parameter names and count (3 × 4 × (512² + 512) for FFHQ)', () => {
    const spec = mapperParamSpec({ numWs: 18, wDim: 512 });
    expect([...spec.keys()].slice(0, 3)).toEqual(['course_mapping.mapping.1.weight', 'course_mapping.mapping.1.bias', 'course_mapping.mapping.2.weight']);
    expect([...spec.keys()].at(-1)).toBe('fine_mapping.mapping.4.bias');
    expect(mapperParamCount({ numWs: 18, wDim: 512 })).toBe(3 * 4 * (512 * 512 + 512));
  });

  it('initialises as the official EqualLinear does: weights N(0, 1)/0.01, biases 0, the same for the same seed', () => {
    const a = initialMapperWeights({ numWs: 10, wDim: 64 }, 7);
    const b = initialMapperWeights({ numWs: 10, wDim: 64 }, 7);
    const w = a.get('medium_mapping.mapping.2.weight')!;
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(5);
    expect(std).toBeGreaterThan(95);
    expect(std).toBeLessThan(105);
    expect(a.get('fine_mapping.mapping.4.bias')!.every((v) => v === 0)).toBe(true);
    expect(b.get('medium_mapping.mapping.2.weight')).toEqual(w);
    expect(initialMapperWeights({ numWs: 10, wDim: 64 }, 8).get('medium_mapping.mapping.2.weight')).not.toEqual(w);
  });
});

describe('mapper graph', () => {
  it('computes the official forward (float64 reference) for codes whose ws rows differ, and ws + s·0.1·M(ws)', async () => {
    const [numWs, wDim, batch] = [10, 16, 3];
    const weights = randomWeights(numWs, wDim, 3);
    const rng = new Xoshiro128(5, 2);
    const ws = Float32Array.from({ length: batch * numWs * wDim }, () => rng.nextNormal());
    const { delta, edited } = await runMapper(numWs, wDim, weights, ws, batch, 0.7);
    const ref = refMapper(weights, ws, batch, numWs, wDim);
    expect(relErr(delta, ref)).toBeLessThan(1e-5);
    expect(relErr(edited, ws.map((v, i) => v + 0.7 * 0.1 * ref[i]))).toBeLessThan(1e-6);
    // The groups really are separate mappers: changing the fine weights leaves coarse and medium rows alone.
    const other = new Map(weights);
    other.set('fine_mapping.mapping.1.weight', weights.get('fine_mapping.mapping.1.weight')!.map((v) => -v));
    const changed = (await runMapper(numWs, wDim, other, ws, batch, 1)).delta;
    for (let b = 0; b < batch; b++) {
      const rows = (lo: number, hi: number, a: Float32Array) => a.subarray((b * numWs + lo) * wDim, (b * numWs + hi) * wDim);
      expect(rows(0, 8, changed)).toEqual(rows(0, 8, delta));
      expect(relErr(rows(8, 10, changed), rows(8, 10, delta))).toBeGreaterThan(0.1);
    }
  });

  it('normalises across a group\'s ws: for sampled codes (equal rows) M(ws) depends only on sign(w)', async () => {
    const [numWs, wDim] = [10, 16];
    const weights = randomWeights(numWs, wDim, 4);
    const rng = new Xoshiro128(6, 2);
    const w = Float32Array.from({ length: wDim }, () => rng.nextNormal());
    const broadcast = (v: Float32Array) => Float32Array.from({ length: numWs * wDim }, (_, i) => v[i % wDim]);
    const a = await runMapper(numWs, wDim, weights, broadcast(w), 1, 1);
    const b = await runMapper(numWs, wDim, weights, broadcast(w.map((v) => v * (1.5 + Math.abs(v)))), 1, 1);
    expect(relErr(b.delta, a.delta)).toBeLessThan(1e-5);
    expect(relErr(a.delta, refMapper(weights, broadcast(w), 1, numWs, wDim))).toBeLessThan(1e-5);
  });

  it('builds for a generator without a fine group (num_ws 8)', async () => {
    const weights = randomWeights(8, 8, 9);
    const ws = Float32Array.from({ length: 2 * 8 * 8 }, (_, i) => Math.sin(i));
    expect(relErr((await runMapper(8, 8, weights, ws, 2, 1)).delta, refMapper(weights, ws, 2, 8, 8))).toBeLessThan(1e-5);
  });

  it('computes no shapes at run time (no Shape or Size nodes: CUDA would leave them on the CPU)', () => {
    const ops = (bytes: Uint8Array) => new Set(decodeModel(bytes, 'mapper').graph.node.map((n) => n.op_type));
    const mapperOps = ops(buildMapperModel({ numWs: 10, wDim: 16 }, randomWeights(10, 16, 1)).toBytes());
    expect(mapperOps.has('MatMul')).toBe(true);
    expect(mapperOps.has('Shape') || mapperOps.has('Size')).toBe(false);
    const g = new GraphBuilder('mean');
    g.output(addBatchMean(g, g.input('x', 'float32', ['batch'])), 'm', 'float32', []);
    const meanOps = ops(g.toBytes());
    expect(meanOps.has('Shape') || meanOps.has('Size')).toBe(false);
  });

  it('writes a training gradient graph (and identity-features graph) without Shape, Size or ConstantOfShape', async () => {
    const gen = await Generator.open(modelDir('tiny'));
    const enc = await Encoder.open(modelDir('tiny-clip'), { parts: [] });
    try {
      const identity = Identity.open(modelDir('tiny-ir-se')).graphFor(gen.arch.resolution);
      const gg = generatorGraphs(gen);
      const grad = buildMapperGradient(gg, encoderGraphs(enc, gen.arch.resolution), initialMapperWeights({ numWs: 10, wDim: 64 }, 0), identity);
      for (const [what, nodes] of [['gradient', viewModel(grad.builder, 'mapper gradient').nodes], ['identity features', viewModel(buildIdentityFeatures(gg, identity), 'identity features').nodes]] as const) {
        expect(nodes.filter((n) => ['Shape', 'Size', 'ConstantOfShape'].includes(n.op)).map((n) => n.op), what).toEqual([]);
      }
    } finally {
      await enc.release();
      await gen.release();
    }
  });

  it('refuses weights that do not fit the generator, naming the tensor', () => {
    const weights = randomWeights(10, 16, 1);
    const missing = new Map(weights);
    missing.delete('medium_mapping.mapping.3.bias');
    expect(thrownBy(() => buildMapperModel({ numWs: 10, wDim: 16 }, missing)).message).toMatch(/medium_mapping\.mapping\.3\.bias is missing/);
    expect(thrownBy(() => buildMapperModel({ numWs: 10, wDim: 32 }, weights)).code).toBe('E_SHAPE');
    expect(thrownBy(() => buildMapperModel({ numWs: 8, wDim: 16 }, weights)).message).toMatch(/unexpected tensors fine_mapping/);
  });
});
