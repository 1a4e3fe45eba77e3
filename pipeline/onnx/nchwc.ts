/**
 * Writing graphs in onnxruntime's blocked NCHWc layout (its CPU kernels in the
 * `com.microsoft.nchwc` domain), for work its own NchwcTransformer cannot keep in that layout.
 *
 * A blocked tensor with logical dims [N, C, H, W] is stored [N][C/b][H][W][b] for the CPU's block
 * size b (16 with AVX-512, 8 with AVX2). The transformer only blocks a Conv whose weights are a
 * constant, keeps a Mul or Add blocked only when both operands are blocked tensors of one
 * shape, and fuses LeakyRelu into a convolution only before it fuses an Add into it: a
 * modulated convolution (per-sample scales, a noise map, then the activation) falls back to
 * NCHW around every operator. Written by hand instead, a convolution takes runtime weights
 * (pre-blocked), adds its `Sum` input, its bias and its activation in one pass, and the
 * elementwise operators between convolutions work on the blocked memory directly: any
 * elementwise op on tensors of one blocked shape, and broadcasting through the 5-D view
 * [N, C/b, H, W, b] (a Reshape: the bytes are already in that order).
 *
 * Graphs from here run only on onnxruntime's CPU execution provider (pipeline/models/runtime.ts
 * probes the block size and whether the kernels exist).
 */
import { GraphBuilder, attr, type Attr } from './graph.ts';
import { f32 } from './params.ts';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/** Filter [O, I, kh, kw] → [O/b][I/b][kh][kw][b_in][b_out] (I and O multiples of b). */
export function blockFilter(w: Float32Array, cout: number, cin: number, kh: number, kw: number, b: number): Float32Array {
  const out = new Float32Array(w.length);
  const kk = kh * kw;
  let p = 0;
  for (let ob = 0; ob < cout / b; ob++)
    for (let ib = 0; ib < cin / b; ib++)
      for (let q = 0; q < kk; q++)
        for (let bi = 0; bi < b; bi++) for (let bo = 0; bo < b; bo++) out[p++] = w[((ob * b + bo) * cin + ib * b + bi) * kk + q];
  return out;
}

/** Depthwise filter [C, 1, kh, kw] → [C/b][1][kh][kw][b] (also the layout for inputs of fewer than b channels). */
export function blockDepthwiseFilter(w: Float32Array, channels: number, kh: number, kw: number, b: number): Float32Array {
  const out = new Float32Array(w.length);
  const kk = kh * kw;
  let p = 0;
  for (let cb = 0; cb < channels / b; cb++) for (let q = 0; q < kk; q++) for (let c = 0; c < b; c++) out[p++] = w[(cb * b + c) * kk + q];
  return out;
}

/** Activation [N, C, H, W] → blocked (C a multiple of b). */
export function blockActivation(x: Float32Array, n: number, c: number, h: number, w: number, b: number): Float32Array {
  const out = new Float32Array(x.length);
  const hw = h * w;
  let p = 0;
  for (let i = 0; i < n; i++) for (let cb = 0; cb < c / b; cb++) for (let s = 0; s < hw; s++) for (let k = 0; k < b; k++) out[p++] = x[(i * c + cb * b + k) * hw + s];
  return out;
}

/** One kernel repeated for `times` channels (a depthwise filter that blurs every channel alike). */
export function repeatKernel(k: Float32Array, times: number): Float32Array {
  const out = new Float32Array(k.length * times);
  for (let i = 0; i < times; i++) out.set(k, i * k.length);
  return out;
}

/** Per-channel values [C] (e.g. a bias) padded with zeros to `padded` channels. */
export function padChannels(v: Float32Array, padded: number): Float32Array {
  const out = new Float32Array(padded);
  out.set(v);
  return out;
}

export interface NchwcConvOptions {
  pads?: readonly [number, number, number, number];
  group?: number;
  bias?: string;
  /** A blocked tensor of the output's shape, added before the activation. */
  sum?: string;
  activation?: { kind: 'LeakyRelu'; alpha: number } | { kind: 'Clip'; min: number; max: number };
  /** The node's name (made unique): what onnxruntime's profiler reports the kernel under. */
  name?: string;
}

/** A blocked convolution: x blocked, w pre-blocked ([O, I, kh, kw] dims), result blocked. */
export function nchwcConv(g: GraphBuilder, x: string, w: string, o: NchwcConvOptions = {}): string {
  const attrs: Record<string, Attr> = {};
  if (o.pads) attrs.pads = attr.ints(o.pads);
  if (o.group && o.group !== 1) attrs.group = attr.i(o.group);
  if (o.activation?.kind === 'LeakyRelu') {
    attrs.activation = attr.s('LeakyRelu');
    attrs.activation_params = attr.floats([o.activation.alpha]);
  } else if (o.activation?.kind === 'Clip') {
    attrs.activation = attr.s('Clip');
    attrs.activation_params = attr.floats([o.activation.min, o.activation.max]);
  }
  const inputs = [x, w];
  if (o.bias || o.sum) inputs.push(o.bias ?? '');
  if (o.sum) inputs.push(o.sum);
  return g.node('Conv', inputs, attrs, { domain: NCHWC_DOMAIN, ...(o.name ? { name: g.fresh(o.name) } : {}) })[0];
}

export function reorderInput(g: GraphBuilder, x: string): string {
  return g.node('ReorderInput', [x], {}, { domain: NCHWC_DOMAIN })[0];
}

/** Blocked → NCHW with the first `channels` channels (drops block padding). */
export function reorderOutput(g: GraphBuilder, x: string, channels: number): string {
  return g.node('ReorderOutput', [x], { channels: attr.i(channels) }, { domain: NCHWC_DOMAIN })[0];
}

/** The 5-D view [N, C/b, H, W, b] of a blocked [N, C, H, W] tensor (N inferred). */
export function view5(g: GraphBuilder, x: string, c: number, h: number, w: number, b: number): string {
  return g.op('Reshape', [x, g.constI64('shape5', [-1, c / b, h, w, b])]);
}

/** Back from the 5-D view to the logical [N, C, H, W] dims the blocked kernels expect. */
export function view4(g: GraphBuilder, x: string, c: number, h: number, w: number): string {
  return g.op('Reshape', [x, g.constI64('shape4', [-1, c, h, w])]);
}

/** Per-(sample, channel) values [N, C] as the broadcastable 5-D view [N, C/b, 1, 1, b]. */
export function channelView5(g: GraphBuilder, v: string, c: number, b: number): string {
  return g.op('Reshape', [v, g.constI64('chan5', [-1, c / b, 1, 1, b])]);
}

/**
 * Interleave four blocked phase outputs [N, C, h, w] (order (0,0), (0,1), (1,0), (1,1)) into
 * [N, C, 2h, 2w]: out[2i + a, 2j + b] = phase_ab[i, j]. Block lanes stay contiguous, so the
 * interleave moves b floats at a time: a Concat of whole phases per channel block (large
 * copies), then one Gather of b-float rows in output order. onnxruntime runs Gather on all
 * cores and its Transpose on one: this took 0.39× the time of a Concat + 6-D Transpose at
 * 1024² (docs/benchmarks.md). The indices are built from Range nodes the session folds once.
 * `name` names the Concat and Gather nodes (`name`_concat, `name`_gather) for the profiler.
 */
export function interleavePhases(g: GraphBuilder, ph: readonly string[], c: number, h: number, w: number, b: number, name = 'interleave'): string {
  const flat = ph.map((p) => g.op('Reshape', [p, g.constI64('phase_block', [-1, 1, h * w * b])])); // [N·C/b, 1, h·w·b]
  const concat = g.node('Concat', flat, { axis: attr.i(1) }, { name: g.fresh(`${name}_concat`) })[0];
  const stacked = g.op('Reshape', [concat, g.constI64('phase_rows', [-1, 4 * h * w, b])]);
  const out = g.node('Gather', [stacked, interleaveIndex(g, h, w)], { axis: attr.i(1) }, { name: g.fresh(`${name}_gather`) })[0];
  return g.op('Reshape', [out, g.constI64('interleaved', [-1, c, 2 * h, 2 * w])]);
}

/** int32 [4·h·w]: for output position (i, a, j, b) in row-major [h, 2, w, 2], the row (2a + b)·h·w + i·w + j. */
function interleaveIndex(g: GraphBuilder, h: number, w: number): string {
  const i32 = (hint: string, v: readonly number[], dims: readonly number[] = [v.length]) => g.constant(hint, { dtype: 'int32', dims, data: Int32Array.from(v) });
  const range = (n: number, step: number, dims: readonly number[]) =>
    g.op('Reshape', [g.op('Range', [i32('zero', [0], []), i32('limit', [n * step], []), i32('step', [step], [])]), g.constI64('range_dims', dims)]);
  const rows = g.op('Add', [range(h, w, [h, 1, 1, 1]), i32('phase_a', [0, 2 * h * w], [1, 2, 1, 1])]);
  const cols = g.op('Add', [range(w, 1, [1, 1, w, 1]), i32('phase_b', [0, h * w], [1, 1, 1, 2])]);
  return g.op('Reshape', [g.op('Add', [rows, cols]), g.constI64('flat', [-1])]);
}

/** A constant blocked tensor from NCHW data. */
export function blockedConstant(g: GraphBuilder, name: string, x: Float32Array, dims: readonly [number, number, number, number], b: number): string {
  const [n, c, h, w] = dims;
  return g.initializer(name, f32([n, c, h, w], blockActivation(x, n, c, h, w, b)));
}

/** Block sizes onnxruntime's CPU kernels use (MLAS: 16 with AVX-512, 8 with AVX/AVX2). */
export const NCHWC_BLOCK_SIZES = Object.freeze([16, 8] as const);

/**
 * A probe for one block size: x [1, 16, 1, 2] → a 1×1 blocked convolution whose filter is
 * laid out for block size `b` → y. With the CPU's real block size, y = W·x (`expected`); with
 * another one the filter is read in the wrong order and y differs.
 */
export function nchwcProbe(b: number): { model: Uint8Array; x: Float32Array; expected: Float32Array } {
  const c = 16;
  const w = Float32Array.from({ length: c * c }, (_, i) => ((i * 7919) % 97) / 97 - 0.5);
  const x = Float32Array.from({ length: c * 2 }, (_, i) => ((i * 104729) % 89) / 89 - 0.5);
  const expected = new Float32Array(c * 2);
  for (let o = 0; o < c; o++) for (let p = 0; p < 2; p++) for (let i = 0; i < c; i++) expected[o * 2 + p] += w[o * c + i] * x[i * 2 + p];
  const g = new GraphBuilder('nchwc_probe');
  const xi = g.input('x', 'float32', [1, c, 1, 2]);
  const y = nchwcConv(g, reorderInput(g, xi), g.initializer('w', f32([c, c, 1, 1], blockFilter(w, c, c, 1, 1, b))));
  g.output(reorderOutput(g, y, c), 'y', 'float32', [1, c, 1, 2]);
  return { model: g.toBytes(), x, expected };
}
