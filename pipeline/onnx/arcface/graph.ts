/**
 * The IR-SE ArcFace backbone as an ONNX graph (the identity bundle's network.onnx):
 *   face [B, 3, 112, 112] in [-1, 1] → features [B, E], L2-normalised (TreB1eN's l2_norm, no ε)
 * in evaluation mode: each BatchNorm is the per-channel affine x·γ/√(var + ε) + (β − mean·γ/√(var + ε))
 * with its running statistics (folded in float64), Dropout is the identity, and the shortcut's
 * MaxPool2d(1, stride) — which keeps every stride-th pixel — is a depthwise 1×1 convolution with
 * weight 1 and that stride (exactly the same values).
 */
import { GraphBuilder, attr } from '../graph.ts';
import { type StateDict, f32, param } from '../params.ts';
import { type IrSeArch, type IrSeUnit, irSeOutputSide, irSeUnits, validateIrSeArch } from './arch.ts';

/** torch.nn.BatchNorm's default ε. */
export const BN_EPS = 1e-5;

export const FACE_INPUT = 'face';
export const FEATURES_OUTPUT = 'features';

/** Eval-mode BatchNorm of `prefix` on x (channels on axis 1, `rank` axes). */
function batchNorm(g: GraphBuilder, sd: StateDict, x: string, prefix: string, c: number, rank: number): string {
  const gamma = param(sd, `${prefix}.weight`, [c]);
  const beta = param(sd, `${prefix}.bias`, [c]);
  const mean = param(sd, `${prefix}.running_mean`, [c]);
  const variance = param(sd, `${prefix}.running_var`, [c]);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = gamma[i] / Math.sqrt(variance[i] + BN_EPS);
    scale[i] = s;
    shift[i] = beta[i] - mean[i] * s;
  }
  const dims = [c, ...Array.from({ length: rank - 2 }, () => 1)];
  const y = g.op('Mul', [x, g.initializer(`${prefix}.scale`, f32(dims, scale))]);
  return g.op('Add', [y, g.initializer(`${prefix}.shift`, f32(dims, shift))], {}, prefix.replace(/\./g, '_'));
}

function conv(g: GraphBuilder, sd: StateDict, x: string, name: string, shape: number[], stride: number, pad: number): string {
  const w = g.initializer(name, f32(shape, param(sd, name, shape)));
  return g.op('Conv', [x, w], { strides: attr.ints([stride, stride]), pads: attr.ints([pad, pad, pad, pad]) });
}

function prelu(g: GraphBuilder, sd: StateDict, x: string, name: string, c: number): string {
  return g.op('PRelu', [x, g.initializer(name, f32([c, 1, 1], param(sd, name, [c])))]);
}

/** bottleneck_IR_SE: BN → conv3×3 → PReLU → conv3×3 (stride) → BN → SE, plus the shortcut. */
function unit(g: GraphBuilder, sd: StateDict, x: string, u: IrSeUnit, reduction: number): string {
  const p = `body.${u.index}`;
  let shortcut: string;
  if (u.inChannels === u.depth) {
    shortcut = u.stride === 1 ? x : g.op('Conv', [x, g.constF32('stride_pick', new Array(u.depth).fill(1), [u.depth, 1, 1, 1])], { group: attr.i(u.depth), strides: attr.ints([u.stride, u.stride]) });
  } else {
    shortcut = batchNorm(g, sd, conv(g, sd, x, `${p}.shortcut_layer.0.weight`, [u.depth, u.inChannels, 1, 1], u.stride, 0), `${p}.shortcut_layer.1`, u.depth, 4);
  }
  let r = batchNorm(g, sd, x, `${p}.res_layer.0`, u.inChannels, 4);
  r = conv(g, sd, r, `${p}.res_layer.1.weight`, [u.depth, u.inChannels, 3, 3], 1, 1);
  r = prelu(g, sd, r, `${p}.res_layer.2.weight`, u.depth);
  r = conv(g, sd, r, `${p}.res_layer.3.weight`, [u.depth, u.depth, 3, 3], u.stride, 1);
  r = batchNorm(g, sd, r, `${p}.res_layer.4`, u.depth, 4);
  // SEModule: channel gates from the spatial mean.
  const squeezed = u.depth / reduction;
  let gate = g.op('ReduceMean', [r], { axes: attr.ints([2, 3]), keepdims: attr.i(1) }); // [B, C, 1, 1]
  gate = g.op('Relu', [conv(g, sd, gate, `${p}.res_layer.5.fc1.weight`, [squeezed, u.depth, 1, 1], 1, 0)]);
  gate = g.op('Sigmoid', [conv(g, sd, gate, `${p}.res_layer.5.fc2.weight`, [u.depth, squeezed, 1, 1], 1, 0)]);
  return g.op('Add', [g.op('Mul', [r, gate]), shortcut], {}, `body_${u.index}`);
}

export function buildIrSe(arch: IrSeArch, sd: StateDict): GraphBuilder {
  validateIrSeArch(arch);
  const g = new GraphBuilder('ir_se_backbone');
  const face = g.input(FACE_INPUT, 'float32', ['batch', 3, arch.inputSize, arch.inputSize]);
  let x = conv(g, sd, face, 'input_layer.0.weight', [arch.stem, 3, 3, 3], 1, 1);
  x = prelu(g, sd, batchNorm(g, sd, x, 'input_layer.1', arch.stem, 4), 'input_layer.2.weight', arch.stem);
  for (const u of irSeUnits(arch)) x = unit(g, sd, x, u, arch.seReduction);
  const last = arch.stages[arch.stages.length - 1].depth;
  const flat = last * irSeOutputSide(arch) ** 2;
  x = g.op('Flatten', [batchNorm(g, sd, x, 'output_layer.0', last, 4)]); // [B, C, 7, 7] -> [B, C·49] (Dropout: identity in eval)
  const w = g.initializer('output_layer.3.weight', f32([arch.embedDim, flat], param(sd, 'output_layer.3.weight', [arch.embedDim, flat])));
  const b = g.initializer('output_layer.3.bias', f32([arch.embedDim], param(sd, 'output_layer.3.bias', [arch.embedDim])));
  x = batchNorm(g, sd, g.op('Gemm', [x, w, b], { transB: attr.i(1) }), 'output_layer.4', arch.embedDim, 2); // [B, E]
  const norm = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [x, x]), g.constI64('feature_axis', [1])], { keepdims: attr.i(1) })]);
  g.output(g.op('Div', [x, norm]), FEATURES_OUTPUT, 'float32', ['batch', arch.embedDim]);
  return g;
}
