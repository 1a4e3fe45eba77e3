/**
 * The synthesis weights as the graphs use them: rosinality's equalised-learning-rate scales
 * folded into the convolution weights, the noise strength into the noise map, Σ_k W² precomputed
 * for demodulation. One value per style layer, whichever graph (portable or the CPU's NCHWc one)
 * is written from it.
 *
 * Two sources give the same numbers: a rosinality-named state dict (recipes and importers, when
 * a bundle is written) and the initializers of a bundle's synthesis.onnx (the relevance stage,
 * which writes its own render graphs from a bundle it did not build).
 */
import { fail } from '../../core/errors.ts';
import { param, type StateDict } from '../params.ts';
import { type StyleGAN2Arch, type StyleLayer, styleLayers } from './arch.ts';

export interface FoldedLayer {
  layer: StyleLayer;
  /** [out, in, k, k] with 1/√(in·k²) folded in (k = 3 for conv layers, 1 for toRGB). */
  weight: Float32Array;
  /** Conv layers: Σ_k weight² laid out [in, out], for demodulation. */
  weightSq?: Float32Array;
  /** [out]: the conv layer's activation bias, or toRGB's bias. */
  bias: Float32Array;
  /** Conv layers: the fixed noise map [r, r] times the layer's noise strength. */
  noise?: Float32Array;
}

export interface FoldedSynthesis {
  arch: StyleGAN2Arch;
  /** The learned 4×4 constant [C4, 4, 4]. */
  input: Float32Array;
  layers: ReadonlyMap<string, FoldedLayer>;
}

export function kernelSize(l: StyleLayer): number {
  return l.kind === 'conv' ? 3 : 1;
}

/** Σ_k w[o, i, k]² as [in, out] (the same rounding as the graph: float32 weights, float64 sums). */
export function weightEnergy(weight: Float32Array, cout: number, cin: number, kk: number): Float32Array {
  const sq = new Float32Array(cin * cout);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++) {
      let acc = 0;
      for (let q = 0; q < kk; q++) acc += weight[(o * cin + i) * kk + q] ** 2;
      sq[i * cout + o] = acc;
    }
  return sq;
}

/** Fold a rosinality `g_ema` state dict (see stylegan2ParamSpec). */
export function foldSynthesis(arch: StyleGAN2Arch, sd: StateDict): FoldedSynthesis {
  const layers = new Map<string, FoldedLayer>();
  for (const l of styleLayers(arch)) {
    const k = kernelSize(l);
    const raw = param(sd, `${l.module}.conv.weight`, [1, l.outChannels, l.channels, k, k]);
    const scale = 1 / Math.sqrt(l.channels * k * k);
    const weight = raw.map((v) => v * scale);
    if (l.kind === 'conv') {
      const strength = param(sd, `${l.module}.noise.weight`, [1])[0];
      const noise = param(sd, `noises.noise_${l.noiseIndex}`, [1, 1, l.resolution, l.resolution]).map((v) => v * strength);
      const bias = param(sd, `${l.module}.activate.bias`, [l.outChannels]).slice();
      layers.set(l.name, { layer: l, weight, weightSq: weightEnergy(weight, l.outChannels, l.channels, k * k), bias, noise });
    } else {
      layers.set(l.name, { layer: l, weight, bias: param(sd, `${l.module}.bias`, [1, 3, 1, 1]).slice() });
    }
  }
  const c4 = arch.channels[4];
  return { arch, input: param(sd, 'input.input', [1, c4, 4, 4]).slice(), layers };
}

/** Names of the initializers the portable synthesis graph stores for a layer (graphs.ts writes them). */
export function foldedInitializerNames(l: StyleLayer): { weight: string; weightSq: string; bias: string; noise: string } {
  return {
    weight: `${l.module}.conv.weight`,
    weightSq: `${l.module}.conv.weight_sq`,
    bias: l.kind === 'conv' ? `${l.module}.activate.bias` : `${l.module}.bias`,
    noise: `${l.module}.noise.scaled`,
  };
}

/** [in, out, k, k] ⇄ [out, in, k, k] (the upsampling conv is stored for ConvTranspose). */
export function swapInOut(w: Float32Array, a: number, b: number, kk: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let q = 0; q < kk; q++) t[(j * a + i) * kk + q] = w[(i * b + j) * kk + q];
  return t;
}

/**
 * Read the folded weights back from a portable synthesis graph's initializers. `get(name)`
 * returns an initializer's dims and data, or undefined. A missing or misshapen tensor is
 * E_MANIFEST: the bundle was not written by this builder (rebuild or re-import it).
 */
export function readFoldedSynthesis(
  arch: StyleGAN2Arch,
  get: (name: string) => { dims: readonly number[]; data: Float32Array } | undefined,
  label: string,
): FoldedSynthesis {
  const need = (name: string, shape: readonly number[]): Float32Array => {
    const t = get(name);
    const ok = t && t.dims.length === shape.length && t.dims.every((d, i) => d === shape[i]);
    if (!ok) {
      fail(
        'E_MANIFEST',
        `${label}: initializer ${name} ${t ? `has shape [${t.dims.join(', ')}]` : 'is missing'}, expected [${shape.join(', ')}]`,
        'the bundle was not written by this version of StyleAtlas: rebuild it (`styleatlas models build`) or import the checkpoint again',
      );
    }
    return t.data;
  };
  const layers = new Map<string, FoldedLayer>();
  for (const l of styleLayers(arch)) {
    const n = foldedInitializerNames(l);
    const k = kernelSize(l);
    const [cin, cout, r] = [l.channels, l.outChannels, l.resolution];
    if (l.kind === 'conv') {
      const stored = l.upsample ? swapInOut(need(n.weight, [cin, cout, k, k]), cin, cout, k * k) : need(n.weight, [cout, cin, k, k]);
      layers.set(l.name, {
        layer: l,
        weight: stored,
        weightSq: need(n.weightSq, [cin, cout]),
        bias: need(n.bias, [1, cout, 1, 1]),
        noise: need(n.noise, [1, 1, r, r]),
      });
    } else {
      layers.set(l.name, { layer: l, weight: need(n.weight, [cout, cin, k, k]), bias: need(n.bias, [1, 3, 1, 1]) });
    }
  }
  return { arch, input: need('input.input', [1, arch.channels[4], 4, 4]), layers };
}
