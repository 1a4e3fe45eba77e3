/**
 * StyleGAN2 in S-space as three ONNX graphs: mapping (z → w), styles (ws → s_<layer>) and
 * synthesis (s_<layer>… → image). The synthesis is a chain of per-resolution blocks
 * (x, skip, s_b… → x, skip) so a block can also be written as its own graph.
 *
 * The equalised-learning-rate constants of rosinality's EqualLinear / ModulatedConv2d are folded
 * into the stored weights; modulation is applied to the activations (x·s, then a convolution
 * shared by the whole batch) and demodulation as 1/√((s²)·Σ_k W² + 1e-8), which equals
 * rosinality's per-sample weight demodulation exactly in real arithmetic.
 */
import { GraphBuilder, attr } from '../graph.ts';
import { type StateDict, f32, param } from '../params.ts';
import { type StyleGAN2Arch, type StyleLayer, numWs, resolutions, styleLayers } from './arch.ts';

const SQRT2 = Math.SQRT2;
/** [1,3,3,1] ⊗ [1,3,3,1] / 64: the FIR low-pass of StyleGAN2's up-sampling. */
export const BLUR_1D = [1, 3, 3, 1];

export function blurKernel2d(gain: number): Float32Array {
  const k = new Float32Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) k[i * 4 + j] = (BLUR_1D[i] * BLUR_1D[j] * gain) / 64;
  return k;
}

export function styleInputName(layer: string): string {
  return `s_${layer}`;
}

// ---------------------------------------------------------------- mapping

export function buildMapping(arch: StyleGAN2Arch, sd: StateDict): GraphBuilder {
  const g = new GraphBuilder('stylegan2_mapping');
  const z = g.input('z', 'float32', ['batch', arch.zDim]);
  // PixelNorm: z / sqrt(mean(z²) + 1e-8)
  const ms = g.op('ReduceMean', [g.op('Mul', [z, z])], { axes: attr.ints([1]), keepdims: attr.i(1) });
  let x = g.op('Div', [z, g.op('Sqrt', [g.op('Add', [ms, g.constF32('eps', [1e-8])])])], {}, 'pixel_norm');
  for (let i = 1; i <= arch.mappingLayers; i++) {
    const inDim = i === 1 ? arch.zDim : arch.wDim;
    const w = param(sd, `style.${i}.weight`, [arch.wDim, inDim]);
    const b = param(sd, `style.${i}.bias`, [arch.wDim]);
    const scale = arch.mappingLrMul / Math.sqrt(inDim);
    const wName = g.initializer(`style.${i}.weight`, f32([arch.wDim, inDim], w.map((v) => v * scale)));
    const bName = g.initializer(`style.${i}.bias`, f32([arch.wDim], b.map((v) => v * arch.mappingLrMul)));
    const y = g.op('Gemm', [x, wName, bName], { transB: attr.i(1) });
    x = g.op('Mul', [g.op('LeakyRelu', [y], { alpha: attr.f(0.2) }), g.constF32('sqrt2', [SQRT2], [])], {}, `mapping_${i}`);
  }
  g.output(x, 'w', 'float32', ['batch', arch.wDim]);
  return g;
}

// ---------------------------------------------------------------- styles

export function buildStyles(arch: StyleGAN2Arch, sd: StateDict): GraphBuilder {
  const g = new GraphBuilder('stylegan2_styles');
  const ws = g.input('ws', 'float32', ['batch', numWs(arch), arch.wDim]);
  const scale = 1 / Math.sqrt(arch.wDim);
  for (const l of styleLayers(arch)) {
    const a = param(sd, `${l.module}.conv.modulation.weight`, [l.channels, arch.wDim]);
    const b = param(sd, `${l.module}.conv.modulation.bias`, [l.channels]);
    const aName = g.initializer(`${l.module}.conv.modulation.weight`, f32([l.channels, arch.wDim], a.map((v) => v * scale)));
    const bName = g.initializer(`${l.module}.conv.modulation.bias`, f32([l.channels], b));
    const w = g.op('Gather', [ws, g.constI64(`w_index_${l.wIndex}`, [l.wIndex], [])], { axis: attr.i(1) }); // [B, wDim]
    const s = g.op('Gemm', [w, aName, bName], { transB: attr.i(1) }); // [B, C_l]
    g.output(s, styleInputName(l.name), 'float32', ['batch', l.channels]);
  }
  return g;
}

// ---------------------------------------------------------------- synthesis

interface LayerWeights {
  /** Folded conv weight [out, in, k, k] (or [in, out, 3, 3] for the upsampling conv). */
  weight: string;
  /** Σ_k W² laid out [in, out], for demodulation. */
  weightSq?: string;
  bias: string;
  noise?: string;
}

function layerWeights(g: GraphBuilder, sd: StateDict, l: StyleLayer): LayerWeights {
  const k = l.kind === 'conv' ? 3 : 1;
  const cin = l.channels;
  const cout = l.outChannels;
  const raw = param(sd, `${l.module}.conv.weight`, [1, cout, cin, k, k]); // [1, out, in, k, k]
  const scale = 1 / Math.sqrt(cin * k * k);
  const folded = raw.map((v) => v * scale);
  const out: Partial<LayerWeights> = {};
  if (l.upsample) {
    // ConvTranspose wants [in, out, k, k]: rosinality's weight.transpose(0, 1).
    const t = new Float32Array(folded.length);
    for (let o = 0; o < cout; o++)
      for (let i = 0; i < cin; i++)
        for (let q = 0; q < k * k; q++) t[(i * cout + o) * k * k + q] = folded[(o * cin + i) * k * k + q];
    out.weight = g.initializer(`${l.module}.conv.weight`, f32([cin, cout, k, k], t));
  } else {
    out.weight = g.initializer(`${l.module}.conv.weight`, f32([cout, cin, k, k], folded));
  }
  if (l.kind === 'conv') {
    const sq = new Float32Array(cin * cout); // [in, out]
    for (let o = 0; o < cout; o++)
      for (let i = 0; i < cin; i++) {
        let acc = 0;
        for (let q = 0; q < k * k; q++) acc += folded[(o * cin + i) * k * k + q] ** 2;
        sq[i * cout + o] = acc;
      }
    out.weightSq = g.initializer(`${l.module}.conv.weight_sq`, f32([cin, cout], sq));
    const bias = param(sd, `${l.module}.activate.bias`, [cout]);
    out.bias = g.initializer(`${l.module}.activate.bias`, f32([1, cout, 1, 1], bias));
    const strength = param(sd, `${l.module}.noise.weight`, [1])[0];
    const r = l.resolution;
    const noise = param(sd, `noises.noise_${l.noiseIndex}`, [1, 1, r, r]);
    out.noise = g.initializer(`${l.module}.noise.scaled`, f32([1, 1, r, r], noise.map((v) => v * strength)));
  } else {
    out.bias = g.initializer(`${l.module}.bias`, f32([1, 3, 1, 1], param(sd, `${l.module}.bias`, [1, 3, 1, 1])));
  }
  return out as LayerWeights;
}

/** x·s for s [B, C] against x [B or 1, C, H, W]. */
function modulate(g: GraphBuilder, x: string, s: string): string {
  const s4 = g.op('Unsqueeze', [s, g.constI64('axes_hw', [2, 3])]); // [B, C] -> [B, C, 1, 1]
  return g.op('Mul', [x, s4]);
}

/**
 * stylegan2-ada-pytorch's conv_clamp: bias_act clamps each styled conv's output (after bias,
 * activation and gain) and each toRGB's output (after its bias, before the skip is added) to
 * ±clamp. Undefined: no clamp (rosinality's generators and converted config-F models).
 */
function clampActivations(g: GraphBuilder, y: string, clamp: number, name?: string): string {
  return g.op('Clip', [y, g.constF32('conv_clamp_lo', [-clamp], []), g.constF32('conv_clamp_hi', [clamp], [])], {}, name);
}

function styledConv(g: GraphBuilder, l: StyleLayer, w: LayerWeights, x: string, s: string, clamp: number | undefined): string {
  const xs = modulate(g, x, s);
  let y: string;
  if (l.upsample) {
    const up = g.op('ConvTranspose', [xs, w.weight], { strides: attr.ints([2, 2]) }); // [B, out, 2H+1, 2W+1]
    const blur = g.constF32('blur_kernel', Array.from({ length: l.outChannels }, () => [...blurKernel2d(4)]).flat(), [l.outChannels, 1, 4, 4]);
    y = g.op('Conv', [up, blur], { group: attr.i(l.outChannels), pads: attr.ints([1, 1, 1, 1]) }); // [B, out, 2H, 2W]
  } else {
    y = g.op('Conv', [xs, w.weight], { pads: attr.ints([1, 1, 1, 1]) });
  }
  // demod[b, o] = 1 / sqrt(Σ_i s[b,i]² Σ_k W[o,i,k]² + 1e-8)
  const energy = g.op('MatMul', [g.op('Mul', [s, s]), w.weightSq!]); // [B, out]
  const demod = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [energy, g.constF32('eps', [1e-8], [])])])]);
  y = g.op('Mul', [y, g.op('Unsqueeze', [demod, g.constI64('axes_hw', [2, 3])])]);
  y = g.op('Add', [y, w.noise!]);
  y = g.op('LeakyRelu', [g.op('Add', [y, w.bias])], { alpha: attr.f(0.2) });
  const name = l.name.replace('.', '_');
  y = g.op('Mul', [y, g.constF32('sqrt2', [SQRT2], [])], {}, clamp === undefined ? name : undefined);
  return clamp === undefined ? y : clampActivations(g, y, clamp, name);
}

function toRGB(g: GraphBuilder, l: StyleLayer, w: LayerWeights, x: string, s: string, skip: string | undefined, clamp: number | undefined): string {
  let y = g.op('Add', [g.op('Conv', [modulate(g, x, s), w.weight]), w.bias]); // [B, 3, H, W]
  if (clamp !== undefined) y = clampActivations(g, y, clamp);
  if (skip) {
    // rosinality Upsample: upfirdn2d(up=2, pad=(2, 1)) with the blur ×4 == stride-2 ConvTranspose, pads 1.
    const k = g.constF32('upsample_kernel', [...blurKernel2d(4), ...blurKernel2d(4), ...blurKernel2d(4)], [3, 1, 4, 4]);
    const up = g.op('ConvTranspose', [skip, k], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), group: attr.i(3) });
    y = g.op('Add', [y, up]);
  }
  return y;
}

/** Value names of a block's outputs inside the full synthesis graph. */
export function blockBoundaryNames(resolution: number): { x: string; skip: string } {
  return { x: `block${resolution}_x`, skip: `block${resolution}_skip` };
}

export interface BlockValues {
  x: string;
  skip: string;
}

/**
 * One resolution block. For 4×4, `prev` is undefined and the learned constant is the input.
 * `styleOf(layer)` names the value holding s_<layer> [B, C_l].
 */
export function addSynthesisBlock(
  g: GraphBuilder,
  arch: StyleGAN2Arch,
  sd: StateDict,
  resolution: number,
  prev: BlockValues | undefined,
  styleOf: (layer: string) => string,
): BlockValues {
  const layers = styleLayers(arch).filter((l) => l.resolution === resolution);
  let x: string;
  if (resolution === 4) {
    x = g.initializer('input.input', f32([1, arch.channels[4], 4, 4], param(sd, 'input.input', [1, arch.channels[4], 4, 4])));
  } else {
    if (!prev) throw new Error(`block ${resolution} needs the previous block's x and skip`);
    x = prev.x;
  }
  let skip: string | undefined = prev?.skip;
  for (const l of layers) {
    const w = layerWeights(g, sd, l);
    if (l.kind === 'conv') x = styledConv(g, l, w, x, styleOf(l.name), arch.convClamp);
    else skip = toRGB(g, l, w, x, styleOf(l.name), skip, arch.convClamp);
  }
  // Named block boundaries: a later stage can cut the graph here (see blockBoundaryNames).
  const names = blockBoundaryNames(resolution);
  return { x: g.op('Identity', [x], {}, names.x), skip: g.op('Identity', [skip!], {}, names.skip) };
}

export function buildSynthesis(arch: StyleGAN2Arch, sd: StateDict): GraphBuilder {
  const g = new GraphBuilder('stylegan2_synthesis');
  for (const l of styleLayers(arch)) g.input(styleInputName(l.name), 'float32', ['batch', l.channels]);
  let prev: BlockValues | undefined;
  for (const r of resolutions(arch)) prev = addSynthesisBlock(g, arch, sd, r, prev, styleInputName);
  g.output(prev!.skip, 'image', 'float32', ['batch', 3, arch.resolution, arch.resolution]);
  return g;
}

/** One block as its own graph: inputs x, skip (absent for 4×4) and the block's styles. */
export function buildSynthesisBlockGraph(arch: StyleGAN2Arch, sd: StateDict, resolution: number): GraphBuilder {
  const g = new GraphBuilder(`stylegan2_block_${resolution}`);
  let prev: BlockValues | undefined;
  if (resolution > 4) {
    const h = resolution / 2;
    prev = {
      x: g.input('x_in', 'float32', ['batch', arch.channels[h], h, h]),
      skip: g.input('skip_in', 'float32', ['batch', 3, h, h]),
    };
  }
  for (const l of styleLayers(arch).filter((q) => q.resolution === resolution)) {
    g.input(styleInputName(l.name), 'float32', ['batch', l.channels]);
  }
  const out = addSynthesisBlock(g, arch, sd, resolution, prev, styleInputName);
  g.output(out.x, 'x', 'float32', ['batch', arch.channels[resolution], resolution, resolution]);
  g.output(out.skip, 'skip', 'float32', ['batch', 3, resolution, resolution]);
  return g;
}
