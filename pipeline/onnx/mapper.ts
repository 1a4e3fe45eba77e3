/**
 * The latent mapper M_t (pipeline/core/mapper.ts has its tables) as ONNX subgraphs:
 *
 *   ws [B, num_ws, w_dim] ─ Slice per group ─ PixelNorm over the group's ws ─ 4 × EqualLinear+lrelu ─ Concat → delta
 *
 * The parameters are the official ones as stored (raw EqualLinear weights, scaled by
 * lr_mul/√w_dim inside the graph; biases by lr_mul), so a gradient with respect to them is the
 * gradient PyTorch gives its parameters, and Adam with the official learning rate steps them as
 * the official trainer does. Initializers keep the parameter names, so the gradient builder can
 * turn exactly them into inputs.
 */
import { MAPPER_ARCH, type MapperShape, type MapperWeights, mapperGroups, mapperParamName, mapperParamSpec } from '../core/mapper.ts';
import { fail } from '../core/errors.ts';
import { GraphBuilder, attr } from './graph.ts';
import { f32 } from './params.ts';

export const MAPPER_IO = { ws: 'ws', delta: 'delta', strength: 'strength', wsEdited: 'ws_edited' } as const;

/** Add every mapper parameter as a named initializer (checked against the spec). */
export function addMapperWeights(g: GraphBuilder, shape: MapperShape, weights: MapperWeights): void {
  const spec = mapperParamSpec(shape);
  for (const [name, dims] of spec) {
    const data = weights.get(name);
    const n = dims.reduce((a, b) => a * b, 1);
    if (!data) fail('E_SHAPE', `mapper weights: tensor ${name} is missing (expected shape [${dims.join(', ')}])`);
    if (data.length !== n) fail('E_SHAPE', `mapper weights: tensor ${name} holds ${data.length} values, expected [${dims.join(', ')}]`);
    g.initializer(name, f32(dims, Float32Array.from(data)));
  }
  const extra = [...weights.keys()].filter((k) => !spec.has(k));
  if (extra.length > 0) fail('E_SHAPE', `mapper weights: unexpected tensors ${extra.slice(0, 5).join(', ')} for a generator with ${shape.numWs} ws`);
}

/** PixelNorm as the official Mapper applies it: over axis 1 of x [B, k, D] (the group's ws). */
function pixelNorm(g: GraphBuilder, x: string): string {
  const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: attr.ints([1]), keepdims: attr.i(1) }); // [B, 1, D]
  return g.op('Div', [x, g.op('Sqrt', [g.op('Add', [ms, g.constF32('mapper_eps', [MAPPER_ARCH.pixelNormEps], [])])])], {}, 'mapper_pixel_norm');
}

/** EqualLinear(D → D, lr_mul) with fused leaky ReLU on x [B, k, D]. */
function equalLinear(g: GraphBuilder, x: string, weight: string, bias: string, wDim: number): string {
  const scale = MAPPER_ARCH.lrMul / Math.sqrt(wDim);
  const wT = g.op('Mul', [g.op('Transpose', [weight], { perm: attr.ints([1, 0]) }), g.constF32('mapper_scale', [scale], [])]); // [in, out]
  const b = g.op('Mul', [bias, g.constF32('mapper_lr_mul', [MAPPER_ARCH.lrMul], [])]);
  const y = g.op('Add', [g.op('MatMul', [x, wT]), b]); // [B, k, D]
  return g.op('Mul', [g.op('LeakyRelu', [y], { alpha: attr.f(MAPPER_ARCH.negativeSlope) }), g.constF32('mapper_gain', [MAPPER_ARCH.gain], [])]);
}

/** M_t(ws) [B, num_ws, w_dim] from ws, reading the parameters the builder already holds under their names. */
export function addMapper(g: GraphBuilder, ws: string, shape: MapperShape): string {
  const parts = mapperGroups(shape.numWs).map((grp) => {
    const rows = g.op('Slice', [ws, g.constI64('mapper_start', [grp.start]), g.constI64('mapper_end', [grp.end]), g.constI64('mapper_axis', [1])]); // [B, k, D]
    let x = pixelNorm(g, rows);
    for (let i = 1; i <= MAPPER_ARCH.layers; i++) {
      x = equalLinear(g, x, mapperParamName(grp.module, i, 'weight'), mapperParamName(grp.module, i, 'bias'), shape.wDim);
    }
    return x;
  });
  return parts.length === 1 ? g.op('Identity', parts, {}, 'mapper_delta') : g.op('Concat', parts, { axis: attr.i(1) }, 'mapper_delta');
}

/** ws' = ws + strength · 0.1 · M_t(ws); `strength` is a scalar value (1 = the trained edit). */
export function addMapperEdit(g: GraphBuilder, ws: string, delta: string, strength: string): string {
  const step = g.op('Mul', [delta, g.op('Mul', [strength, g.constF32('mapper_step_scale', [MAPPER_ARCH.stepScale], [])])]);
  return g.op('Add', [ws, step], {}, 'ws_edited');
}

/**
 * The mapper on its own (the catalogue's mapper.onnx download): ws [B, num_ws, w_dim] and a
 * strength [] → delta = M_t(ws) and ws_edited = ws + strength · 0.1 · delta.
 */
export function buildMapperModel(shape: MapperShape, weights: MapperWeights): GraphBuilder {
  const g = new GraphBuilder('styleclip_latent_mapper');
  const wsShape = ['batch', shape.numWs, shape.wDim];
  const ws = g.input(MAPPER_IO.ws, 'float32', wsShape);
  const strength = g.input(MAPPER_IO.strength, 'float32', []);
  addMapperWeights(g, shape, weights);
  const delta = addMapper(g, ws, shape);
  g.output(delta, MAPPER_IO.delta, 'float32', wsShape);
  g.output(addMapperEdit(g, ws, delta, strength), MAPPER_IO.wsEdited, 'float32', wsShape);
  return g;
}
