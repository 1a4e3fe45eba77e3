/**
 * The StyleGAN2 (config F) generator as a literal table: resolutions, channel widths, the
 * style layers of S-space, and the parameter shapes in rosinality/stylegan2-pytorch's state
 * dict naming (`style.1.weight`, `conv1.conv.modulation.weight`, `convs.0.conv.weight`, …).
 */
import { fail } from '../../core/errors.ts';

export interface StyleGAN2Arch {
  /** Output size in pixels (a power of two, ≥ 8). */
  resolution: number;
  zDim: number;
  /** w and style dimension (rosinality's `style_dim`). */
  wDim: number;
  mappingLayers: number;
  /** Learning-rate multiplier of the mapping MLP (0.01 in StyleGAN2). */
  mappingLrMul: number;
  /** Feature channels per resolution, 4 … resolution. */
  channels: Readonly<Record<number, number>>;
  /** stylegan2-ada-pytorch's conv_clamp: conv and toRGB outputs clamped to ±convClamp; absent: none. */
  convClamp?: number;
}

export type LayerKind = 'conv' | 'torgb';

/** One style layer: an affine from w to `channels` style values s_l. */
export interface StyleLayer {
  /** b4.conv1, b4.torgb, b8.conv0, b8.conv1, b8.torgb, … */
  name: string;
  kind: LayerKind;
  resolution: number;
  /** Style channels = the input channels the layer modulates. */
  channels: number;
  /** Which of the num_ws w vectors feeds its affine. */
  wIndex: number;
  /** Output channels of the layer's convolution (3 for toRGB). */
  outChannels: number;
  /** The first conv of a block upsamples (transposed conv + [1,3,3,1] blur). */
  upsample: boolean;
  /** rosinality module prefix: conv1, to_rgb1, convs.N, to_rgbs.N. */
  module: string;
  /** Noise buffer index for conv layers (noises.noise_N). */
  noiseIndex?: number;
}

/** rosinality's `channels` table for `channel_multiplier`. */
export function rosinalityChannels(resolution: number, channelMultiplier = 2): Record<number, number> {
  const table: Record<number, number> = {
    4: 512,
    8: 512,
    16: 512,
    32: 512,
    64: 256 * channelMultiplier,
    128: 128 * channelMultiplier,
    256: 64 * channelMultiplier,
    512: 32 * channelMultiplier,
    1024: 16 * channelMultiplier,
  };
  const out: Record<number, number> = {};
  for (let r = 4; r <= resolution; r *= 2) {
    if (!(r in table)) fail('E_INPUT', `StyleGAN2 resolution ${resolution} is above 1024`);
    out[r] = table[r];
  }
  return out;
}

/** FFHQ-1024 config F: 26 style layers, 18 ws, 9088 style channels (6048 in conv layers). */
export function ffhqArch(): StyleGAN2Arch {
  return { resolution: 1024, zDim: 512, wDim: 512, mappingLayers: 8, mappingLrMul: 0.01, channels: rosinalityChannels(1024, 2) };
}

export function log2Exact(n: number, what: string): number {
  const l = Math.log2(n);
  if (!Number.isInteger(l)) fail('E_INPUT', `${what} must be a power of two, got ${n}`);
  return l;
}

export function resolutions(arch: StyleGAN2Arch): number[] {
  const out: number[] = [];
  for (let r = 4; r <= arch.resolution; r *= 2) out.push(r);
  return out;
}

/** rosinality's n_latent: 2·log2(resolution) − 2. */
export function numWs(arch: StyleGAN2Arch): number {
  return 2 * log2Exact(arch.resolution, 'resolution') - 2;
}

export function validateArch(arch: StyleGAN2Arch): void {
  const l = log2Exact(arch.resolution, 'resolution');
  if (l < 3) fail('E_INPUT', `StyleGAN2 resolution must be at least 8, got ${arch.resolution}`);
  for (const r of resolutions(arch)) {
    const c = arch.channels[r];
    if (!Number.isInteger(c) || c < 1) fail('E_INPUT', `channels[${r}] must be a positive integer, got ${c}`);
  }
  for (const [k, v] of [['zDim', arch.zDim], ['wDim', arch.wDim], ['mappingLayers', arch.mappingLayers]] as const) {
    if (!Number.isInteger(v) || v < 1) fail('E_INPUT', `${k} must be a positive integer, got ${v}`);
  }
  if (arch.convClamp !== undefined && !(arch.convClamp > 0 && Number.isFinite(arch.convClamp))) {
    fail('E_INPUT', `convClamp must be a positive number, got ${arch.convClamp}`);
  }
}

/** The ordered style layers (StyleGAN2's order and w indices). */
export function styleLayers(arch: StyleGAN2Arch): StyleLayer[] {
  validateArch(arch);
  const c = arch.channels;
  const layers: StyleLayer[] = [
    { name: 'b4.conv1', kind: 'conv', resolution: 4, channels: c[4], wIndex: 0, outChannels: c[4], upsample: false, module: 'conv1', noiseIndex: 0 },
    { name: 'b4.torgb', kind: 'torgb', resolution: 4, channels: c[4], wIndex: 1, outChannels: 3, upsample: false, module: 'to_rgb1' },
  ];
  resolutions(arch)
    .slice(1)
    .forEach((r, k) => {
      const w = 1 + 2 * k;
      layers.push(
        { name: `b${r}.conv0`, kind: 'conv', resolution: r, channels: c[r / 2], wIndex: w, outChannels: c[r], upsample: true, module: `convs.${2 * k}`, noiseIndex: 1 + 2 * k },
        { name: `b${r}.conv1`, kind: 'conv', resolution: r, channels: c[r], wIndex: w + 1, outChannels: c[r], upsample: false, module: `convs.${2 * k + 1}`, noiseIndex: 2 + 2 * k },
        { name: `b${r}.torgb`, kind: 'torgb', resolution: r, channels: c[r], wIndex: w + 2, outChannels: 3, upsample: false, module: `to_rgbs.${k}` },
      );
    });
  return layers;
}

/** The parameter names and shapes of a rosinality `g_ema` state dict for this architecture. */
export function stylegan2ParamSpec(arch: StyleGAN2Arch): Map<string, number[]> {
  const spec = new Map<string, number[]>();
  for (let i = 1; i <= arch.mappingLayers; i++) {
    const inDim = i === 1 ? arch.zDim : arch.wDim;
    spec.set(`style.${i}.weight`, [arch.wDim, inDim]);
    spec.set(`style.${i}.bias`, [arch.wDim]);
  }
  spec.set('input.input', [1, arch.channels[4], 4, 4]);
  for (const l of styleLayers(arch)) {
    const k = l.kind === 'conv' ? 3 : 1;
    spec.set(`${l.module}.conv.weight`, [1, l.outChannels, l.channels, k, k]);
    spec.set(`${l.module}.conv.modulation.weight`, [l.channels, arch.wDim]);
    spec.set(`${l.module}.conv.modulation.bias`, [l.channels]);
    if (l.kind === 'conv') {
      spec.set(`${l.module}.noise.weight`, [1]);
      spec.set(`${l.module}.activate.bias`, [l.outChannels]);
    } else {
      spec.set(`${l.module}.bias`, [1, 3, 1, 1]);
    }
  }
  for (const l of styleLayers(arch)) {
    if (l.noiseIndex !== undefined) spec.set(`noises.noise_${l.noiseIndex}`, [1, 1, l.resolution, l.resolution]);
  }
  return spec;
}

/**
 * Multiply-accumulate FLOPs (2 per MAC) of one synthesis forward, counted from the table:
 * modulated convs (and the upsampling conv's transposed conv + blur), toRGBs and skip upsampling.
 */
export function synthesisFlops(arch: StyleGAN2Arch): number {
  return styleLayers(arch).reduce((sum, l) => sum + layerFlops(l), 0);
}

/** FLOPs of one style layer of one render (synthesisFlops' terms). */
export function layerFlops(l: StyleLayer): number {
  const r = l.resolution;
  if (l.kind === 'torgb') return 2 * r * r * l.channels * 3 + (r > 4 ? 2 * r * r * 3 * 16 : 0); // + skip upsample: 4x4 depthwise at output size
  if (l.upsample) {
    const h = r / 2;
    return 2 * h * h * l.channels * l.outChannels * 9 + 2 * r * r * l.outChannels * 16; // transposed conv per input pixel, blur
  }
  return 2 * r * r * l.channels * l.outChannels * 9;
}
