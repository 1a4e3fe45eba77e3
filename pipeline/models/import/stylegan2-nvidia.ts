/**
 * NVIDIA stylegan2-ada-pytorch network pickles (`G_ema`, read as data) → rosinality-named weights.
 * The conventions of training/networks.py, and how each lands in the builder's (rosinality's) terms:
 *
 * - mapping `fc{i}` (FullyConnectedLayer): y = lrelu(x·(W·weight_gain)ᵀ + b·bias_gain)·√2 with
 *   weight_gain = lr/√in, bias_gain = lr — rosinality's EqualLinear with lr_mul = lr, so W and b copy
 *   over and the architecture's mappingLrMul is the pickle's lr_multiplier (read from bias_gain).
 * - `affine` (bias_init 1, lr 1) is rosinality's `modulation`; s = affine(w) is the S-space code of
 *   both. toRGB multiplies s by weight_gain = 1/√Cin before its (undemodulated) conv, which is where
 *   rosinality's 1/√fan_in goes, so toRGB weights copy over.
 * - Modulated convs apply no fan-in gain: W·s is demodulated with rsqrt(Σ(W·s)² + 1e-8). The gain
 *   cancels in demodulation except inside ε, so we store W·√fan_in, which the builder's 1/√fan_in
 *   folds back to W: ε then sits exactly where NVIDIA has it.
 * - noise_const [R, R] · noise_strength [] → noises.noise_N [1,1,R,R] and noise.weight [1].
 * - Up-sampling: conv2d_resample's transposed path uses the weight unflipped, as rosinality does;
 *   resample_filter buffers are checked to be the [1,3,3,1] FIR.
 * - conv_clamp (±256 in ada-pytorch's training configs, None in converted config-F models) becomes
 *   the architecture's convClamp: the graph clamps where bias_act does (each conv layer's output
 *   after bias, lrelu and gain; each toRGB's output after its bias). One value for every layer, as
 *   SynthesisNetwork passes it to every block; a pickle with layers that differ is refused.
 */
import { fail } from '../../core/errors.ts';
import { type StateDict, f32 } from '../../onnx/params.ts';
import { type StyleGAN2Arch, styleLayers, validateArch } from '../../onnx/stylegan2/arch.ts';
import { type ModuleNode, type NvidiaPickle, type PyValue, type Tensor, moduleStateDict } from '../checkpoint/index.ts';
import { describe } from '../checkpoint/values.ts';
import { type ImportedGenerator, checkFirKernel, dim, refuseLeftovers, take } from './common.ts';

function child(node: ModuleNode, path: string): ModuleNode {
  let cur = node;
  for (const part of path.split('.')) {
    const next = cur.submodules.get(part);
    if (!next) return fail('E_CHECKPOINT', `G_ema has no module ${path}; this is not a stylegan2-ada-pytorch StyleGAN2 generator`);
    cur = next;
  }
  return cur;
}

function attr(node: ModuleNode, name: string): PyValue | undefined {
  return node.attributes.get(name);
}

function numberAttr(node: ModuleNode, name: string, where: string): number {
  const v = attr(node, name);
  if (typeof v !== 'number') return fail('E_CHECKPOINT', `${where}.${name} is missing or not a number`);
  return v;
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}

function pickGenerator(pkl: NvidiaPickle, warnings: string[]): ModuleNode {
  const ema = pkl.networks.get('G_ema');
  if (ema) return ema;
  const g = pkl.networks.get('G');
  if (!g) return fail('E_CHECKPOINT', `the pickle has no G_ema (networks: ${[...pkl.networks.keys()].join(', ') || 'none'})`);
  warnings.push("the pickle has no G_ema; importing the training generator G (its weights are not the averaged ones NVIDIA's tools use)");
  return g;
}

/** Refuses what is not unconditional StyleGAN2 with the 'skip' generator. */
function checkKind(G: ModuleNode): void {
  const syn = child(G, 'synthesis');
  if (syn.submodules.has('input') || !syn.submodules.has('b4')) {
    fail('E_CHECKPOINT', 'this generator is not StyleGAN2 (no synthesis.b4; StyleGAN3 has synthesis.input and L-layers), which StyleAtlas does not support');
  }
  const map = child(G, 'mapping');
  const cDim = attr(G, 'c_dim') ?? attr(map, 'c_dim') ?? 0;
  if ((typeof cDim === 'number' && cDim > 0) || map.submodules.has('embed')) {
    fail('E_CHECKPOINT', `this is a class-conditional generator (c_dim ${String(cDim)}); StyleAtlas supports unconditional generators only`);
  }
}

function mappingArch(map: ModuleNode, tensors: ReadonlyMap<string, Tensor>): { layers: number; lr: number; zDim: number; wDim: number } {
  let layers = 0;
  while (map.submodules.has(`fc${layers}`)) layers++;
  if (layers === 0) fail('E_CHECKPOINT', 'mapping has no fc0 layer');
  const zDim = dim(tensors, 'mapping.fc0.weight', 2, 1, 'it gives z_dim');
  const wDim = dim(tensors, `mapping.fc${layers - 1}.weight`, 2, 0, 'it gives w_dim');
  let lr = NaN;
  for (let i = 0; i < layers; i++) {
    const fc = child(map, `fc${i}`);
    const where = `mapping.fc${i}`;
    const act = attr(fc, 'activation');
    if (act !== 'lrelu') fail('E_CHECKPOINT', `${where}.activation is ${JSON.stringify(act)}; StyleGAN2's mapping uses 'lrelu'`);
    const biasGain = numberAttr(fc, 'bias_gain', where);
    const inDim = i === 0 ? zDim : wDim;
    if (!close(numberAttr(fc, 'weight_gain', where), biasGain / Math.sqrt(inDim))) {
      fail('E_CHECKPOINT', `${where}.weight_gain is not lr_multiplier/√in_features; not a FullyConnectedLayer as StyleGAN2 builds it`);
    }
    if (i > 0 && !close(biasGain, lr)) fail('E_CHECKPOINT', `mapping layers use different lr_multipliers (${lr} and ${biasGain})`);
    lr = biasGain;
  }
  return { layers, lr, zDim, wDim };
}

export function nvidiaArch(G: ModuleNode, tensors: ReadonlyMap<string, Tensor>): StyleGAN2Arch {
  checkKind(G);
  const m = mappingArch(child(G, 'mapping'), tensors);
  const syn = child(G, 'synthesis');
  const blocks = [...syn.submodules.keys()].filter((k) => /^b\d+$/.test(k)).map((k) => Number(k.slice(1))).sort((a, b) => a - b);
  const resolution = blocks[blocks.length - 1];
  const why = 'it gives the channel width of its resolution';
  const channels: Record<number, number> = { 4: dim(tensors, 'synthesis.b4.const', 3, 0, why) };
  for (let r = 8; r <= resolution; r *= 2) {
    if (!blocks.includes(r)) fail('E_CHECKPOINT', `synthesis has no block b${r} below its last block b${resolution}`);
    channels[r] = dim(tensors, `synthesis.b${r}.conv1.weight`, 4, 0, why);
  }
  for (const r of blocks) {
    const block = child(syn, `b${r}`);
    const kind = attr(block, 'architecture') ?? 'skip';
    if (kind !== 'skip' || !block.submodules.has('torgb')) {
      fail('E_CHECKPOINT', `synthesis.b${r} uses the ${JSON.stringify(kind)} architecture; StyleAtlas supports StyleGAN2's 'skip' generator (config F) only`);
    }
  }
  const arch = { resolution, zDim: m.zDim, wDim: m.wDim, mappingLayers: m.layers, mappingLrMul: m.lr, channels };
  validateArch(arch);
  return arch;
}

/** Checks every style layer against StyleGAN2's conventions; returns the layers' conv_clamp (undefined: none). */
function layerChecks(G: ModuleNode, arch: StyleGAN2Arch, notes: string[]): number | undefined {
  const clamps = new Set<number | null>();
  let fp16 = 0;
  for (const l of styleLayers(arch)) {
    const node = child(G, `synthesis.${l.name}`);
    const affine = child(node, 'affine');
    const where = `synthesis.${l.name}.affine`;
    if (!close(numberAttr(affine, 'bias_gain', where), 1) || !close(numberAttr(affine, 'weight_gain', where), 1 / Math.sqrt(arch.wDim))) {
      fail('E_CHECKPOINT', `${where} is not a FullyConnectedLayer with lr_multiplier 1, as StyleGAN2's affines are`);
    }
    if (l.kind === 'conv' && (attr(node, 'activation') ?? 'lrelu') !== 'lrelu') {
      fail('E_CHECKPOINT', `synthesis.${l.name}.activation is ${JSON.stringify(attr(node, 'activation'))}; StyleGAN2 uses 'lrelu'`);
    }
    if (l.kind === 'torgb' && attr(node, 'weight_gain') !== undefined && !close(numberAttr(node, 'weight_gain', `synthesis.${l.name}`), 1 / Math.sqrt(l.channels))) {
      fail('E_CHECKPOINT', `synthesis.${l.name}.weight_gain is not 1/√in_channels`);
    }
    const clamp = attr(node, 'conv_clamp') ?? null;
    if (clamp !== null && !(typeof clamp === 'number' && clamp > 0 && Number.isFinite(clamp))) {
      fail('E_CHECKPOINT', `synthesis.${l.name}.conv_clamp is ${describe(clamp)}; expected a positive number or None`);
    }
    clamps.add(clamp);
  }
  for (let r = 4; r <= arch.resolution; r *= 2) if (attr(child(G, `synthesis.b${r}`), 'use_fp16') === true) fp16++;
  if (fp16 > 0) notes.push(`trained with FP16 in ${fp16} blocks; the bundle computes in FP32 (NVIDIA's force_fp32)`);
  if (clamps.size > 1) {
    fail('E_CHECKPOINT', `the synthesis layers use different conv_clamp values (${[...clamps].map((c) => c ?? 'None').join(', ')})`,
      'stylegan2-ada-pytorch gives every layer the same conv_clamp; the graph applies one value');
  }
  const [clamp] = clamps;
  if (clamp !== null && clamp !== undefined) notes.push(`conv_clamp ±${clamp} applied as NVIDIA's bias_act does (conv outputs and toRGB)`);
  return clamp ?? undefined;
}

export function importNvidia(pkl: NvidiaPickle): ImportedGenerator {
  const warnings: string[] = [];
  const notes: string[] = [];
  const G = pickGenerator(pkl, warnings);
  const tensors = moduleStateDict(G, pkl.size);
  const shapes = nvidiaArch(G, tensors);
  const convClamp = layerChecks(G, shapes, notes);
  const arch: StyleGAN2Arch = convClamp === undefined ? shapes : { ...shapes, convClamp };
  const used = new Set<string>();
  const get = (name: string) => {
    used.add(name);
    return tensors.get(name);
  };
  for (const [name, t] of tensors) {
    if (name.endsWith('resample_filter')) {
      checkFirKernel(t, name, 1);
      used.add(name);
    }
  }
  const sd: StateDict = new Map();
  const { wDim, zDim } = arch;
  for (let i = 0; i < arch.mappingLayers; i++) {
    const inDim = i === 0 ? zDim : wDim;
    sd.set(`style.${i + 1}.weight`, take(get(`mapping.fc${i}.weight`), `mapping.fc${i}.weight`, [wDim, inDim]));
    sd.set(`style.${i + 1}.bias`, take(get(`mapping.fc${i}.bias`), `mapping.fc${i}.bias`, [wDim]));
  }
  const c4 = arch.channels[4];
  sd.set('input.input', take(get('synthesis.b4.const'), 'synthesis.b4.const', [c4, 4, 4], [1, c4, 4, 4]));
  for (const l of styleLayers(arch)) {
    const nv = `synthesis.${l.name}`;
    const m = l.module;
    sd.set(`${m}.conv.modulation.weight`, take(get(`${nv}.affine.weight`), `${nv}.affine.weight`, [l.channels, wDim]));
    sd.set(`${m}.conv.modulation.bias`, take(get(`${nv}.affine.bias`), `${nv}.affine.bias`, [l.channels]));
    if (l.kind === 'torgb') {
      sd.set(`${m}.conv.weight`, take(get(`${nv}.weight`), `${nv}.weight`, [3, l.channels, 1, 1], [1, 3, l.channels, 1, 1]));
      sd.set(`${m}.bias`, take(get(`${nv}.bias`), `${nv}.bias`, [3], [1, 3, 1, 1]));
      continue;
    }
    const w = take(get(`${nv}.weight`), `${nv}.weight`, [l.outChannels, l.channels, 3, 3]);
    const gain = Math.sqrt(l.channels * 9);
    sd.set(`${m}.conv.weight`, f32([1, l.outChannels, l.channels, 3, 3], (w.data as Float32Array).map((v) => v * gain)));
    sd.set(`${m}.activate.bias`, take(get(`${nv}.bias`), `${nv}.bias`, [l.outChannels]));
    const r = l.resolution;
    const noise = get(`${nv}.noise_const`);
    const strength = get(`${nv}.noise_strength`);
    if (noise || strength) {
      sd.set(`noises.noise_${l.noiseIndex}`, take(noise, `${nv}.noise_const`, [r, r], [1, 1, r, r]));
      sd.set(`${m}.noise.weight`, take(strength, `${nv}.noise_strength`, [], [1]));
    } else {
      // use_noise=False: no noise input at all, which is zero noise.
      sd.set(`noises.noise_${l.noiseIndex}`, f32([1, 1, r, r]));
      sd.set(`${m}.noise.weight`, f32([1]));
      if (!notes.includes('no noise inputs (use_noise=False)')) notes.push('no noise inputs (use_noise=False)');
    }
  }
  const wAvgT = get('mapping.w_avg');
  refuseLeftovers(tensors.keys(), used, 'NVIDIA generator');
  notes.unshift(`NVIDIA stylegan2-ada-pytorch ${pkl.networks.has('G_ema') ? 'G_ema' : 'G'}; mapping lr_multiplier ${arch.mappingLrMul} (from the pickle)`);
  let wAvg: Float32Array | undefined;
  if (wAvgT) {
    wAvg = Float32Array.from(take(wAvgT, 'mapping.w_avg', [wDim]).data as Float32Array);
    notes.push('w_avg from mapping.w_avg');
  } else {
    warnings.push('the pickle has no mapping.w_avg: w_avg is estimated as the mean of mapping(z) over 4096 seeded z');
  }
  return { arch, weights: sd, wAvg, notes, warnings };
}
