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
import { type FoldedLayer, type FoldedSynthesis, foldedInitializerNames, kernelSize, swapInOut } from './folded.ts';

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

/** A layer's folded weights as initializers (names: foldedInitializerNames). */
function layerWeights(g: GraphBuilder, f: FoldedLayer): LayerWeights {
  const l = f.layer;
  const k = kernelSize(l);
  const [cin, cout] = [l.channels, l.outChannels];
  const n = foldedInitializerNames(l);
  const out: Partial<LayerWeights> = {};
  // ConvTranspose wants [in, out, k, k]: rosinality's weight.transpose(0, 1).
  if (l.upsample) out.weight = g.initializer(n.weight, f32([cin, cout, k, k], swapInOut(f.weight, cout, cin, k * k)));
  else out.weight = g.initializer(n.weight, f32([cout, cin, k, k], f.weight));
  if (l.kind === 'conv') {
    out.weightSq = g.initializer(n.weightSq, f32([cin, cout], f.weightSq));
    out.bias = g.initializer(n.bias, f32([1, cout, 1, 1], f.bias));
    out.noise = g.initializer(n.noise, f32([1, 1, l.resolution, l.resolution], f.noise));
  } else {
    out.bias = g.initializer(n.bias, f32([1, 3, 1, 1], f.bias));
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

/** Values between layers: x after the last conv layer, skip after the last toRGB (none before b4.torgb). */
export interface LayerValues {
  x?: string;
  skip?: string;
}

/**
 * Style layers first … end − 1 (indices into styleLayers) appended to `g`. For first = 0 the
 * learned constant is the input; otherwise `start` holds the x (and skip) entering the range.
 * `styleOf(layer)` names the value holding s_<layer> [B or 1, C_l]; a batch-1 s or x broadcasts.
 * Each block's end is named (blockBoundaryNames), so a later stage can cut the graph there.
 */
export function addSynthesisLayers(
  g: GraphBuilder,
  folded: FoldedSynthesis,
  first: number,
  end: number,
  start: LayerValues,
  styleOf: (layer: string) => string,
): LayerValues {
  const arch = folded.arch;
  const all = styleLayers(arch);
  let { x, skip } = start;
  if (first === 0) x = g.initializer('input.input', f32([1, arch.channels[4], 4, 4], folded.input));
  if (!x) throw new Error(`synthesis layers from ${all[first].name} need the x entering them`);
  for (let i = first; i < end; i++) {
    const l = all[i];
    const w = layerWeights(g, folded.layers.get(l.name)!);
    if (l.kind === 'conv') x = styledConv(g, l, w, x, styleOf(l.name), arch.convClamp);
    else {
      skip = toRGB(g, l, w, x, styleOf(l.name), skip, arch.convClamp);
      const names = blockBoundaryNames(l.resolution);
      x = g.op('Identity', [x], {}, names.x);
      skip = g.op('Identity', [skip], {}, names.skip);
    }
  }
  return { x, skip };
}

/** Index one past the last layer of block `resolution` (its toRGB). */
export function blockEnd(arch: StyleGAN2Arch, resolution: number): number {
  return styleLayers(arch).findIndex((l) => l.kind === 'torgb' && l.resolution === resolution) + 1;
}

/** One resolution block: its layers, from the previous block's x and skip (none for 4×4). */
export function addSynthesisBlock(
  g: GraphBuilder,
  folded: FoldedSynthesis,
  resolution: number,
  prev: BlockValues | undefined,
  styleOf: (layer: string) => string,
): BlockValues {
  const arch = folded.arch;
  const first = styleLayers(arch).findIndex((l) => l.resolution === resolution);
  if (resolution > 4 && !prev) throw new Error(`block ${resolution} needs the previous block's x and skip`);
  const out = addSynthesisLayers(g, folded, first, blockEnd(arch, resolution), prev ?? {}, styleOf);
  return { x: out.x!, skip: out.skip! };
}

export function buildSynthesis(folded: FoldedSynthesis): GraphBuilder {
  const arch = folded.arch;
  const g = new GraphBuilder('stylegan2_synthesis');
  for (const l of styleLayers(arch)) g.input(styleInputName(l.name), 'float32', ['batch', l.channels]);
  let prev: BlockValues | undefined;
  for (const r of resolutions(arch)) prev = addSynthesisBlock(g, folded, r, prev, styleInputName);
  g.output(prev!.skip, 'image', 'float32', ['batch', 3, arch.resolution, arch.resolution]);
  return g;
}

/** One block as its own graph: inputs x, skip (absent for 4×4) and the block's styles. */
export function buildSynthesisBlockGraph(folded: FoldedSynthesis, resolution: number): GraphBuilder {
  const arch = folded.arch;
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
  const out = addSynthesisBlock(g, folded, resolution, prev, styleInputName);
  g.output(out.x, 'x', 'float32', ['batch', arch.channels[resolution], resolution, resolution]);
  g.output(out.skip, 'skip', 'float32', ['batch', 3, resolution, resolution]);
  return g;
}
