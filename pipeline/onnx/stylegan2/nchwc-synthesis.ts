/**
 * A range of StyleGAN2 synthesis layers in onnxruntime's blocked NCHWc layout (../nchwc.ts):
 * activations stay blocked from the first layer to the last, and each styled convolution is
 * one convolution kernel that adds the noise map (its Sum input), the bias and applies the
 * leaky ReLU in the same pass over its output.
 *
 * Size budget: one writer class whose layer methods share its per-graph state (the batch of
 * ones, the skip filters, the block size); split apart they would pass it all around.
 *
 * Styles come in two batch shapes: a *variant* layer has s [B, C] (one row per rendered
 * variant), a *shared* one s [1, C] (the same codes for the whole batch, as in the relevance
 * stage, where only the perturbed layer differs between variants). Tensors stay at batch 1 until
 * a variant layer makes them [B, …]. Per layer, the modulation goes into one of two places:
 *   weights     W·s (and ·d for demodulation) computed in the graph, as a blocked filter; a
 *               shared style gives one filter for the batch, a variant style a stack of B
 *               filters applied to a batch-1 input (one convolution with B·O outputs);
 *   activations x·s before and y·d after a convolution with the constant filter, through the
 *               5-D view; used where the filter is larger than the layer's output (low
 *               resolutions) and for a variant style on an input that is already [B, …].
 * Up-sampling uses the sub-pixel phases (subpixel.ts): four convolutions, an interleave, and
 * the blur convolution that carries the bias, noise and activation. The activation gain √2 is
 * folded into the next layer's style, so tensors between layers are the portable graph's x/√2
 * (the relevance stage's prefix and suffix both come from here, so the seam matches).
 */
import { GraphBuilder, attr } from '../graph.ts';
import { blockDepthwiseFilter, blockFilter, blockedConstant, channelView5, interleavePhases, nchwcConv, padChannels, repeatKernel, view4, view5 } from '../nchwc.ts';
import { f32 } from '../params.ts';
import { type StyleGAN2Arch, type StyleLayer, styleLayers } from './arch.ts';
import type { FoldedLayer, FoldedSynthesis } from './folded.ts';
import { blurKernel2d } from './graphs.ts';
import { CONV_PHASES, PHASE_BLUR_PADS, SKIP_PHASES, phaseWeight } from './subpixel.ts';

const LRELU = { kind: 'LeakyRelu', alpha: 0.2 } as const;
/** rosinality's FusedLeakyReLU scale: applied by the next layer's style (see the module comment). */
export const ACTIVATION_GAIN = Math.SQRT2;
/**
 * Largest noise + bias map (floats) stored as one blocked constant; above it the two broadcast
 * instead: an FFHQ-1024 graph whose every layer modulated its activations stored 250 MiB of them.
 */
const NOISE_BIAS_MAX = 1 << 18;

/**
 * Each pass's role is in its node's name, `<module>#<role>[_detail]`: onnxruntime's profiler
 * reports kernels under their node's name, and the bench splits the synthesis's time by role.
 */
export const NCHWC_PASS_ROLES = Object.freeze({
  conv: 'modulated convolutions (3×3 and up-sampling phases)',
  blur: 'blur after up-sampling (4×4 depthwise; adds noise and bias, applies the activation)',
  interleave: 'phase interleave (Concat + Gather)',
  noise: 'noise fan-out (1×1 convolution, one channel to C)',
  rgb: 'toRGB and skip up-sampling (phases, interleave)',
} as const);
export type NchwcPassRole = keyof typeof NCHWC_PASS_ROLES;
const passName = (module: string, role: NchwcPassRole, detail?: string): string => `${module}#${role}${detail ? `_${detail}` : ''}`;

/** The role in a node name that passName wrote, or undefined for any other node. */
export function nchwcPassRole(node: string): NchwcPassRole | undefined {
  const m = /#([a-z]+)(?:_[a-z0-9]+)*$/.exec(node);
  return m && Object.hasOwn(NCHWC_PASS_ROLES, m[1]) ? (m[1] as NchwcPassRole) : undefined;
}

/** Why the NCHWc writer cannot take this architecture at block size b, or undefined. */
export function nchwcUnsupported(arch: StyleGAN2Arch, b: number): string | undefined {
  if (!Number.isInteger(b) || b < 2) return `block size ${b}`;
  const odd = styleLayers(arch).filter((l) => l.channels % b !== 0 || (l.kind === 'conv' && l.outChannels % b !== 0));
  return odd.length ? `layers ${odd.map((l) => l.name).join(', ')} have channel counts that are not multiples of ${b}` : undefined;
}

export interface NchwcRange {
  blockSize: number;
  /** Index into styleLayers(arch) of the first layer computed (0: start from the 4×4 constant). */
  first: number;
  /** Index one past the last layer computed. */
  end: number;
  /** Layers whose style is [B, C]; every other layer's is [1, C]. */
  variant: ReadonlySet<string>;
  /**
   * B, when the graph is written for one batch size: a variant style on an input that is
   * already [B, …] then modulates B stacked filters too, applied as one grouped convolution
   * (the batch folded into the channels: [B, C, H, W] blocked is [1, B·C, H, W] blocked, the
   * same bytes). Without it such a layer modulates its activations.
   */
  batch?: number;
}

/** Values between layers: x after the last conv layer, skip after the last toRGB (both blocked). */
export interface NchwcState {
  x?: string;
  xBatched: boolean;
  skip?: string;
  skipBatched: boolean;
}


class Writer {
  private ones?: string;
  private skipFilters?: string[];

  constructor(
    private readonly g: GraphBuilder,
    private readonly folded: FoldedSynthesis,
    private readonly range: NchwcRange,
    private readonly styleOf: (layer: string) => string,
  ) {}

  private get b(): number {
    return this.range.blockSize;
  }

  /**
   * Ones [B, 1, 1, 1], from a variant style by arithmetic (s·0 + 1; styles are checked finite
   * before they come in): what broadcasts a batch-1 tensor to the batch without a Shape node.
   */
  private batchOnes(): string {
    if (!this.ones) {
      const v = [...this.range.variant][0];
      if (!v) throw new Error('nchwc synthesis: a batched tensor without a variant layer');
      const g = this.g;
      const one = g.op('Add', [g.op('Mul', [this.styleOf(v), g.constF32('zero', [0], [])]), g.constF32('one', [1], [])]); // [B, C]
      this.ones = g.op('ReduceMax', [one], { axes: attr.ints([1]), keepdims: attr.i(1) }); // [B, 1]
      this.ones = g.op('Unsqueeze', [this.ones, g.constI64('axes_hw', [2, 3])]); // [B, 1, 1, 1]
    }
    return this.ones;
  }

  private isVariant(l: StyleLayer): boolean {
    return this.range.variant.has(l.name);
  }

  /** The style with the previous layer's activation gain folded in (toRGB and conv read x/√2). */
  private style(l: StyleLayer, afterActivation: boolean): string {
    const s = this.styleOf(l.name);
    return afterActivation ? this.g.op('Mul', [s, this.g.constF32('activation_gain', [ACTIVATION_GAIN], [])]) : s;
  }

  /** demod [Ns, O] = 1/√((s²)·Σ_k W² + 1e-8), from the style without the gain (as the portable graph). */
  private demod(f: FoldedLayer): string {
    const g = this.g;
    const s = this.styleOf(f.layer.name);
    const l = f.layer;
    const sq = g.initializer(`${l.module}.nchwc.weight_sq`, f32([l.channels, l.outChannels], f.weightSq));
    const energy = g.op('MatMul', [g.op('Mul', [s, s]), sq]);
    return g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [energy, g.constF32('eps', [1e-8], [])])])]);
  }

  /**
   * W·s (·d) as a blocked filter: [O, I, kh, kw] for a shared style, [B·O, I, kh, kw] (B
   * filters stacked along the outputs) for a variant one. `w` is [O, I, kh, kw] (O padded).
   */
  private modulatedFilter(name: string, w: Float32Array, dims: [number, number, number, number], s: string, d: string | undefined, variant: boolean): string {
    const g = this.g;
    const b = this.b;
    const [o, i, kh, kw] = dims;
    const lead = variant ? [1] : [];
    const blocked = g.initializer(name, f32([...lead, o / b, i / b, kh * kw, b, b], blockFilter(w, o, i, kh, kw, b)));
    const sv = g.op('Reshape', [s, g.constI64('filter_in', variant ? [-1, 1, i / b, 1, b, 1] : [1, i / b, 1, b, 1])]);
    let wm = g.op('Mul', [blocked, sv]);
    if (d) wm = g.op('Mul', [wm, g.op('Reshape', [d, g.constI64('filter_out', variant ? [-1, o / b, 1, 1, 1, b] : [o / b, 1, 1, 1, b])])]);
    return g.op('Reshape', [wm, g.constI64('filter', [-1, i, kh, kw])]);
  }

  /** The layer's noise map added to every channel, as a blocked [N, O, H, W] tensor (a convolution's Sum input). */
  private noise(f: FoldedLayer, batched: boolean): string {
    const g = this.g;
    const l = f.layer;
    const r = l.resolution;
    let src = g.initializer(`${l.module}.nchwc.noise`, f32([1, 1, r, r], f.noise));
    if (batched) src = g.op('Mul', [src, this.batchOnes()]); // [B, 1, r, r]
    const ones = g.initializer(`${l.module}.nchwc.noise_fanout`, f32([l.outChannels, 1, 1, 1], new Float32Array(l.outChannels).fill(1)));
    return nchwcConv(g, src, ones, { name: passName(l.module, 'noise') });
  }

  private bias(f: FoldedLayer, padded: number, stacked: boolean): string {
    const g = this.g;
    const b = g.initializer(`${f.layer.module}.nchwc.bias`, f32([padded], padChannels(f.bias, padded)));
    // [B·padded] for B stacked filters: the bias per variant, by broadcasting.
    return stacked ? g.op('Reshape', [g.op('Mul', [g.op('Reshape', [this.batchOnes(), g.constI64('ones_b1', [-1, 1])]), g.op('Reshape', [b, g.constI64('bias_row', [1, padded])])]), g.constI64('flat', [-1])]) : b;
  }

  /** x·s through the 5-D view (broadcasts a batch-1 side). */
  private scale(x: string, v: string, c: number, h: number): string {
    const g = this.g;
    return view4(g, g.op('Mul', [view5(g, x, c, h, h, this.b), channelView5(g, v, c, this.b)]), c, h, h);
  }

  /** Weights, or activations, carry the modulation (see the module comment). */
  private modulateWeights(l: StyleLayer, xBatched: boolean, outPixels: number, taps: number): boolean {
    return !(xBatched && this.isVariant(l) && this.range.batch === undefined) && l.channels * taps <= outPixels;
  }

  /** Groups of a weight-modulated convolution: B for B filters on a [B, …] input, else 1. */
  private groups(l: StyleLayer, xBatched: boolean): number {
    return xBatched && this.isVariant(l) ? this.range.batch! : 1;
  }

  /** A blocked [B, C, h, h] tensor as [1, B·C, h, h] (no data moves). */
  private foldBatch(x: string, groups: number, c: number, h: number): string {
    return groups === 1 ? x : this.g.op('Reshape', [x, this.g.constI64('batch_in_channels', [1, groups * c, h, h])]);
  }

  conv(f: FoldedLayer, st: NchwcState, afterActivation: boolean): NchwcState {
    const g = this.g;
    const l = f.layer;
    const [cin, cout, r] = [l.channels, l.outChannels, l.resolution];
    const variant = this.isVariant(l);
    const batched = st.xBatched || variant;
    const s = this.style(l, afterActivation);
    const d = this.demod(f);
    const stacked = variant && !st.xBatched;
    const byWeights = this.modulateWeights(l, st.xBatched, r * r, 9);
    const hin = l.upsample ? r / 2 : r;
    const groups = byWeights ? this.groups(l, st.xBatched) : 1;
    // One output per filter stack: B·O channels from a batch-1 input (stacked) or B groups (grouped).
    const perVariant = stacked || groups > 1;
    const x = byWeights ? this.foldBatch(st.x!, groups, cin, hin) : this.scale(st.x!, s, cin, hin);
    const filter = (name: string, w: Float32Array, kh: number, kw: number) =>
      byWeights ? this.modulatedFilter(name, w, [cout, cin, kh, kw], s, d, variant) : g.initializer(name, f32([cout, cin, kh, kw], blockFilter(w, cout, cin, kh, kw, this.b)));
    let y: string;
    if (l.upsample) {
      const h = r / 2;
      const ph = CONV_PHASES.map((p, k) =>
        nchwcConv(g, x, filter(`${l.module}.nchwc.phase${p.a}${p.b}`, phaseWeight(f.weight, cout, cin, 3, p), p.rows.length, p.cols.length), {
          pads: p.pads,
          group: groups,
          name: passName(l.module, 'conv', `phase${p.a}${p.b}`),
        }),
      );
      let u = interleavePhases(g, ph, cout, h + 1, h + 1, this.b, passName(l.module, 'interleave')); // [N, O, r+2, r+2]
      if (!byWeights) u = this.scale(u, d, cout, r + 2);
      const blur = g.initializer(`${l.module}.nchwc.blur`, f32([cout, 1, 4, 4], blockDepthwiseFilter(repeatKernel(blurKernel2d(4), cout), cout, 4, 4, this.b)));
      y = nchwcConv(g, u, blur, { pads: PHASE_BLUR_PADS, group: cout, bias: this.bias(f, cout, false), sum: this.noise(f, batched), activation: LRELU, name: passName(l.module, 'blur') });
    } else if (byWeights) {
      const w = filter(`${l.module}.nchwc.weight`, f.weight, 3, 3);
      const noise = this.noise(f, batched);
      const sum = perVariant ? g.op('Reshape', [noise, g.constI64('stacked', [1, -1, r, r])]) : noise;
      y = nchwcConv(g, x, w, { pads: [1, 1, 1, 1], group: groups, bias: this.bias(f, cout, perVariant), sum, activation: LRELU, name: passName(l.module, 'conv') });
      if (perVariant) y = view4(g, y, cout, r, r);
    } else {
      const conv = nchwcConv(g, x, filter(`${l.module}.nchwc.weight`, f.weight, 3, 3), { pads: [1, 1, 1, 1], name: passName(l.module, 'conv') });
      if (cout * r * r <= NOISE_BIAS_MAX) {
        // noise + bias as one blocked constant: small at the resolutions this path serves by the cost rule.
        const nb = new Float32Array(cout * r * r);
        for (let o = 0; o < cout; o++) for (let p = 0; p < r * r; p++) nb[o * r * r + p] = f.noise![p] + f.bias[o];
        const noiseBias = blockedConstant(g, `${l.module}.nchwc.noise_bias`, nb, [1, cout, r, r], this.b);
        y = g.op('LeakyRelu', [g.op('Add', [this.scale(conv, d, cout, r), noiseBias])], { alpha: attr.f(LRELU.alpha) });
      } else {
        // Larger ones broadcast through the 5-D view: the noise map [1, 1, r, r, 1], the bias [1, C/b, 1, 1, b].
        const b = this.b;
        let y5 = g.op('Mul', [view5(g, conv, cout, r, r, b), channelView5(g, d, cout, b)]);
        y5 = g.op('Add', [y5, g.initializer(`${l.module}.nchwc.noise5`, f32([1, 1, r, r, 1], f.noise!))]);
        y5 = g.op('Add', [y5, g.initializer(`${l.module}.nchwc.bias5`, f32([1, cout / b, 1, 1, b], f.bias))]);
        y = view4(g, g.op('LeakyRelu', [y5], { alpha: attr.f(LRELU.alpha) }), cout, r, r);
      }
    }
    return { ...st, x: this.clamp(y, ACTIVATION_GAIN), xBatched: batched };
  }

  /**
   * conv_clamp (graphs.ts clampActivations): the portable graph clamps lrelu(·)·√2 to ±c; tensors
   * here are that value over `gain` (√2 after a conv layer, 1 for toRGB), so the bound is c/gain.
   * One Clip on the blocked memory (elementwise: the layout does not matter).
   */
  private clamp(y: string, gain: number): string {
    const c = this.folded.arch.convClamp;
    if (c === undefined) return y;
    const g = this.g;
    return g.op('Clip', [y, g.constF32('conv_clamp_lo', [-c / gain], []), g.constF32('conv_clamp_hi', [c / gain], [])]);
  }

  /** The previous skip image up-sampled ×2 (sub-pixel phases of the 4×4 blur). */
  private upsampleSkip(skip: string, h: number, module: string): string {
    const g = this.g;
    const b = this.b;
    const k = blurKernel2d(4);
    this.skipFilters ??= SKIP_PHASES.map((p) =>
      g.initializer(`skip_up.nchwc.phase${p.a}${p.b}`, f32([b, 1, 2, 2], blockDepthwiseFilter(repeatKernel(phaseWeight(k, 1, 1, 4, p), b), b, 2, 2, b))),
    );
    const filters = this.skipFilters;
    const ph = SKIP_PHASES.map((p, i) => nchwcConv(g, skip, filters[i], { pads: p.pads, group: b, name: passName(module, 'rgb', `skip_phase${p.a}${p.b}`) }));
    return interleavePhases(g, ph, b, h, h, b, passName(module, 'rgb', 'skip'));
  }

  toRGB(f: FoldedLayer, st: NchwcState): NchwcState {
    const g = this.g;
    const l = f.layer;
    const [cin, r, b] = [l.channels, l.resolution, this.b];
    const variant = this.isVariant(l);
    const batched = st.xBatched || variant;
    const s = this.style(l, true);
    const stacked = variant && !st.xBatched;
    const byWeights = this.modulateWeights(l, st.xBatched, r * r, 1);
    const groups = byWeights ? this.groups(l, st.xBatched) : 1;
    const perVariant = stacked || groups > 1;
    const wPad = new Float32Array(b * cin); // [b, I, 1, 1]: 3 real output channels, the rest zero
    wPad.set(f.weight);
    const x = byWeights ? this.foldBatch(st.x!, groups, cin, r) : this.scale(st.x!, s, cin, r);
    const w = byWeights ? this.modulatedFilter(`${l.module}.nchwc.weight`, wPad, [b, cin, 1, 1], s, undefined, variant) : g.initializer(`${l.module}.nchwc.weight`, f32([b, cin, 1, 1], blockFilter(wPad, b, cin, 1, 1, b)));
    const up = st.skip ? this.upsampleSkip(st.skip, r / 2, l.module) : undefined;
    const skipBatched = batched || st.skipBatched;
    // With conv_clamp the toRGB output is clamped before the skip is added: no Sum input then.
    const clamped = this.folded.arch.convClamp !== undefined;
    const sumFits = up !== undefined && !perVariant && st.skipBatched === batched && !clamped;
    let y = nchwcConv(g, x, w, { group: groups, bias: this.bias(f, b, perVariant), sum: sumFits ? up : undefined, name: passName(l.module, 'rgb') });
    if (perVariant) y = view4(g, y, b, r, r);
    y = this.clamp(y, 1);
    if (up && !sumFits) y = view4(g, g.op('Add', [view5(g, y, b, r, r, b), view5(g, up, b, r, r, b)]), b, r, r);
    return { ...st, skip: y, skipBatched };
  }
}

/**
 * Append the layers of `range` to `g`. `start` holds the blocked x (and skip) entering the
 * range (x is the 4×4 constant when range.first is 0); styleOf names each layer's style value.
 */
export function addNchwcLayers(g: GraphBuilder, folded: FoldedSynthesis, range: NchwcRange, start: NchwcState, styleOf: (layer: string) => string): NchwcState {
  const arch = folded.arch;
  const w = new Writer(g, folded, range, styleOf);
  let st = start;
  if (range.first === 0) {
    const c4 = arch.channels[4];
    st = { x: blockedConstant(g, 'input.nchwc', folded.input, [1, c4, 4, 4], range.blockSize), xBatched: false, skipBatched: false };
  }
  const all = styleLayers(arch);
  for (let i = range.first; i < range.end; i++) {
    const f = folded.layers.get(all[i].name)!;
    // x/√2 enters every layer but the first (the constant input has no activation before it).
    st = all[i].kind === 'conv' ? w.conv(f, st, i > 0) : w.toRGB(f, st);
  }
  return st;
}
