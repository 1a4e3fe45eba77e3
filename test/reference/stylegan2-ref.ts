/**
 * An independent plain-TypeScript StyleGAN2 forward (no ONNX Runtime), written the way
 * rosinality's fused path reads: per-sample modulated *weights*, per-sample demodulation,
 * transposed convolution + upfirdn2d blur, upfirdn2d up-sampling of the skip. Slow and clear.
 * It shares no code with pipeline/onnx/stylegan2/graphs.ts except the architecture table.
 */
import type { StateDict } from '../../pipeline/onnx/params.ts';
import { type StyleGAN2Arch, numWs, styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';

type F = Float32Array;

function get(sd: StateDict, name: string): F {
  const t = sd.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return t.data as F;
}

function lrelu(v: number): number {
  return (v >= 0 ? v : 0.2 * v) * Math.SQRT2;
}

/** EqualLinear: y = x (W·scale)ᵀ + b·lrMul, optional fused leaky ReLU. */
function equalLinear(x: F, w: F, b: F, inDim: number, outDim: number, lrMul: number, act: boolean): F {
  const scale = lrMul / Math.sqrt(inDim);
  const y = new Float32Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let acc = 0;
    for (let i = 0; i < inDim; i++) acc += x[i] * w[o * inDim + i] * scale;
    const v = acc + b[o] * lrMul;
    y[o] = act ? lrelu(v) : v;
  }
  return y;
}

export function refMapping(arch: StyleGAN2Arch, sd: StateDict, z: F): F {
  let ms = 0;
  for (const v of z) ms += v * v;
  const norm = 1 / Math.sqrt(ms / z.length + 1e-8);
  let x: F = z.map((v) => v * norm);
  for (let i = 1; i <= arch.mappingLayers; i++) {
    const inDim = i === 1 ? arch.zDim : arch.wDim;
    x = equalLinear(x, get(sd, `style.${i}.weight`), get(sd, `style.${i}.bias`), inDim, arch.wDim, arch.mappingLrMul, true);
  }
  return x;
}

/** s for every layer from one w per layer (ws [numWs][wDim]). */
export function refStyles(arch: StyleGAN2Arch, sd: StateDict, ws: F[]): Map<string, F> {
  const out = new Map<string, F>();
  for (const l of styleLayers(arch)) {
    const m = l.module;
    out.set(l.name, equalLinear(ws[l.wIndex], get(sd, `${m}.conv.modulation.weight`), get(sd, `${m}.conv.modulation.bias`), arch.wDim, l.channels, 1, false));
  }
  return out;
}

export interface Img {
  c: number;
  h: number;
  w: number;
  d: F;
}

/** rosinality ModulatedConv2d (fused=True) for one sample: weight·style, demod, conv. */
function modulatedWeight(weight: F, style: F, cout: number, cin: number, k: number, demod: boolean): F {
  const scale = 1 / Math.sqrt(cin * k * k);
  const w = new Float32Array(cout * cin * k * k);
  for (let o = 0; o < cout; o++) {
    let sq = 0;
    for (let i = 0; i < cin; i++)
      for (let q = 0; q < k * k; q++) {
        const v = scale * weight[(o * cin + i) * k * k + q] * style[i];
        w[(o * cin + i) * k * k + q] = v;
        sq += v * v;
      }
    if (demod) {
      const d = 1 / Math.sqrt(sq + 1e-8);
      for (let j = 0; j < cin * k * k; j++) w[o * cin * k * k + j] *= d;
    }
  }
  return w;
}

export function conv2d(x: Img, w: F, cout: number, k: number, pad: number): Img {
  const h = x.h + 2 * pad - k + 1;
  const wd = x.w + 2 * pad - k + 1;
  const y = new Float32Array(cout * h * wd);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < x.c; i++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const wv = w[((o * x.c + i) * k + ky) * k + kx];
          for (let yy = 0; yy < h; yy++) {
            const sy = yy + ky - pad;
            if (sy < 0 || sy >= x.h) continue;
            for (let xx = 0; xx < wd; xx++) {
              const sx = xx + kx - pad;
              if (sx < 0 || sx >= x.w) continue;
              y[(o * h + yy) * wd + xx] += wv * x.d[(i * x.h + sy) * x.w + sx];
            }
          }
        }
  return { c: cout, h, w: wd, d: y };
}

/** conv_transpose2d, stride 2, no padding, with weight [out, in, k, k] used as [in, out, k, k]. */
export function convTranspose2(x: Img, w: F, cout: number, k: number): Img {
  const h = (x.h - 1) * 2 + k;
  const wd = (x.w - 1) * 2 + k;
  const y = new Float32Array(cout * h * wd);
  for (let i = 0; i < x.c; i++)
    for (let sy = 0; sy < x.h; sy++)
      for (let sx = 0; sx < x.w; sx++) {
        const v = x.d[(i * x.h + sy) * x.w + sx];
        for (let o = 0; o < cout; o++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) y[(o * h + sy * 2 + ky) * wd + sx * 2 + kx] += v * w[((o * x.c + i) * k + ky) * k + kx];
      }
  return { c: cout, h, w: wd, d: y };
}

/** upfirdn2d exactly as defined: zero-insert by `up`, pad (p0, p1), correlate with the flipped kernel. */
export function upfirdn2d(x: Img, kernel: F, kSize: number, up: number, p0: number, p1: number): Img {
  const uh = x.h * up + p0 + p1;
  const uw = x.w * up + p0 + p1;
  const oh = uh - kSize + 1;
  const ow = uw - kSize + 1;
  const y = new Float32Array(x.c * oh * ow);
  for (let c = 0; c < x.c; c++) {
    const u = new Float32Array(uh * uw);
    for (let i = 0; i < x.h; i++) for (let j = 0; j < x.w; j++) u[(i * up + p0) * uw + j * up + p0] = x.d[(c * x.h + i) * x.w + j];
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let acc = 0;
        for (let a = 0; a < kSize; a++)
          for (let b = 0; b < kSize; b++) acc += u[(i + a) * uw + j + b] * kernel[(kSize - 1 - a) * kSize + (kSize - 1 - b)];
        y[(c * oh + i) * ow + j] = acc;
      }
  }
  return { c: x.c, h: oh, w: ow, d: y };
}

export function makeKernel(gain: number): F {
  const k1 = [1, 3, 3, 1];
  const k = new Float32Array(16);
  for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) k[a * 4 + b] = (k1[a] * k1[b] * gain) / 64;
  return k;
}

/** The synthesis of one sample from its styles; returns [3, H, W]. */
export function refSynthesis(arch: StyleGAN2Arch, sd: StateDict, styles: Map<string, F>): F {
  const c4 = arch.channels[4];
  let x: Img = { c: c4, h: 4, w: 4, d: get(sd, 'input.input').slice() };
  let skip: Img | undefined;
  for (const l of styleLayers(arch)) {
    const m = l.module;
    const s = styles.get(l.name)!;
    if (l.kind === 'conv') {
      const w = modulatedWeight(get(sd, `${m}.conv.weight`), s, l.outChannels, l.channels, 3, true);
      let y: Img;
      if (l.upsample) {
        y = convTranspose2(x, w, l.outChannels, 3);
        y = upfirdn2d(y, makeKernel(4), 4, 1, 1, 1);
      } else {
        y = conv2d(x, w, l.outChannels, 3, 1);
      }
      const noise = get(sd, `noises.noise_${l.noiseIndex}`);
      const strength = get(sd, `${m}.noise.weight`)[0];
      const bias = get(sd, `${m}.activate.bias`);
      const plane = y.h * y.w;
      for (let o = 0; o < y.c; o++) for (let p = 0; p < plane; p++) y.d[o * plane + p] = lrelu(y.d[o * plane + p] + strength * noise[p] + bias[o]);
      x = y;
    } else {
      const w = modulatedWeight(get(sd, `${m}.conv.weight`), s, 3, l.channels, 1, false);
      const y = conv2d(x, w, 3, 1, 0);
      const bias = get(sd, `${m}.bias`);
      const plane = y.h * y.w;
      for (let o = 0; o < 3; o++) for (let p = 0; p < plane; p++) y.d[o * plane + p] += bias[o];
      if (skip) {
        const up = upfirdn2d(skip, makeKernel(4), 4, 2, 2, 1);
        for (let p = 0; p < y.d.length; p++) y.d[p] += up.d[p];
      }
      skip = y;
    }
  }
  return skip!.d;
}

/** z → image, with truncation towards wAvg. */
export function refGenerate(arch: StyleGAN2Arch, sd: StateDict, z: F, wAvg: F, psi: number): F {
  const w = refMapping(arch, sd, z).map((v, i) => wAvg[i] + psi * (v - wAvg[i]));
  const ws = Array.from({ length: numWs(arch) }, () => w);
  return refSynthesis(arch, sd, refStyles(arch, sd, ws));
}
