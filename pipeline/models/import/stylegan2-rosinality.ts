/**
 * rosinality/stylegan2-pytorch checkpoints → the generator builder's weights. Its naming *is* the
 * builder's (`style.N.weight`, `conv1.conv.weight`, `convs.N…`, `to_rgbs.N…`, `noises.noise_N`), so
 * the work is deriving the architecture from the tensor shapes and checking everything else:
 *
 * - z and w sizes from `style.1.weight` [style_dim, z_dim], n_mlp from the `style.N` count;
 * - resolution from the number of `to_rgbs` (4·2^K), the width of every resolution from the convs,
 *   so any `channel_multiplier` (and any hand-edited table) imports;
 * - the mapping's lr_mul is not stored in a checkpoint: rosinality's default `lr_mlp=0.01` is used
 *   unless the caller says otherwise (and the manifest says which);
 * - the blur/up-sampling kernels are buffers; they are checked to be the [1,3,3,1] FIR and dropped;
 * - `latent_avg` becomes w_avg; without it, w_avg is estimated (a warning says so);
 * - a training checkpoint (train.py's {'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args', 'ada_aug_p'})
 *   gives its g_ema; `args` (an argparse.Namespace, read as an inert object) is checked against the
 *   shapes, and everything else is left alone.
 */
import { fail } from '../../core/errors.ts';
import type { StateDict } from '../../onnx/params.ts';
import { type StyleGAN2Arch, stylegan2ParamSpec, validateArch } from '../../onnx/stylegan2/arch.ts';
import { InertObject, Tensor, flattenTensors } from '../checkpoint/index.ts';
import type { Checkpoint } from '../checkpoint/index.ts';
import { type ImportedGenerator, checkFirKernel, dim, float32Of, numel, refuseLeftovers, take } from './common.ts';

/** rosinality's `Generator(lr_mlp=0.01)` default; checkpoints do not record it. */
export const ROSINALITY_LR_MLP = 0.01;

export interface RosinalityOptions {
  /** The mapping network's learning-rate multiplier the model was trained with (default 0.01). */
  mappingLrMul?: number;
}

interface Located {
  tensors: Map<string, Tensor>;
  latentAvg?: Tensor;
  source: string;
  /** train.py's `args`, when the checkpoint is a training checkpoint. */
  trainArgs?: InertObject;
  /** Top-level entries beside g_ema and latent_avg (g, d, optimiser states, …), left unused. */
  others: string[];
}

/** The `g_ema` state dict and `latent_avg` of a checkpoint, or a bare g_ema state dict. */
function locate({ value, size }: Checkpoint): Located {
  if (!(value instanceof Map)) fail('E_CHECKPOINT', 'a rosinality checkpoint holds a dict; this file holds something else');
  if (value.has('g_ema')) {
    const la = value.get('latent_avg');
    if (la !== undefined && la !== null && !(la instanceof Tensor)) fail('E_CHECKPOINT', 'latent_avg is not a tensor');
    const args = value.get('args');
    const trainArgs = args instanceof InertObject && args.qualifiedName === 'argparse.Namespace' ? args : undefined;
    const others = [...value.keys()].map(String).filter((k) => k !== 'g_ema' && k !== 'latent_avg');
    return { tensors: flattenTensors(value.get('g_ema') ?? null, size), latentAvg: la ?? undefined, source: "checkpoint['g_ema']", trainArgs, others };
  }
  const flat = flattenTensors(value, size);
  if (flat.has('style.1.weight')) return { tensors: flat, source: 'a bare g_ema state dict', others: [] };
  const keys = [...value.keys()].slice(0, 8).map(String).join(', ');
  return fail('E_CHECKPOINT', `no rosinality generator found: the checkpoint has neither a 'g_ema' entry nor 'style.1.weight' (top-level keys: ${keys})`,
    "save the generator with torch.save({'g_ema': g_ema.state_dict(), 'latent_avg': latent_avg}, 'ckpt.pt')");
}

/** How many indices `pattern` matches, if they run first, first + 1, …; -1 when there are gaps. */
function count(tensors: ReadonlyMap<string, unknown>, pattern: RegExp, first: number): number {
  const seen = new Set<number>();
  for (const k of tensors.keys()) {
    const m = pattern.exec(k);
    if (m) seen.add(Number(m[1]));
  }
  for (let i = 0; i < seen.size; i++) if (!seen.has(first + i)) return -1;
  return seen.size;
}

/** The architecture implied by the state dict's shapes. */
export function rosinalityArch(tensors: ReadonlyMap<string, Tensor>, mappingLrMul: number): StyleGAN2Arch {
  const nMlp = count(tensors, /^style\.(\d+)\.weight$/, 1);
  if (nMlp < 1) fail('E_SHAPE', 'checkpoint: the mapping layers style.1 … style.N are missing or not numbered consecutively');
  const rgbs = count(tensors, /^to_rgbs\.(\d+)\.conv\.weight$/, 0);
  if (rgbs < 1) fail('E_SHAPE', 'checkpoint: no to_rgbs.N layers, or not numbered consecutively; a StyleGAN2 generator has one per resolution above 4');
  const resolution = 4 * 2 ** rgbs;
  const why = 'it is needed to derive the architecture';
  const channels: Record<number, number> = { 4: dim(tensors, 'input.input', 4, 1, why) };
  for (let k = 0; k < rgbs; k++) channels[8 * 2 ** k] = dim(tensors, `convs.${2 * k}.conv.weight`, 5, 1, why);
  const arch: StyleGAN2Arch = {
    resolution,
    zDim: dim(tensors, 'style.1.weight', 2, 1, why),
    wDim: dim(tensors, 'style.1.weight', 2, 0, why),
    mappingLayers: nMlp,
    mappingLrMul,
    channels,
  };
  validateArch(arch);
  return arch;
}

/** w_avg from latent_avg: [W], [1, W], or [n_latent, W] with identical rows. */
function wAvgOf(t: Tensor, wDim: number): Float32Array {
  const data = float32Of(t, 'latent_avg');
  const n = numel(t.shape);
  if (n === wDim) return Float32Array.from(data);
  const rows = n / wDim;
  if (Number.isInteger(rows) && t.shape[t.shape.length - 1] === wDim) {
    for (let r = 1; r < rows; r++) {
      for (let i = 0; i < wDim; i++) {
        if (data[r * wDim + i] !== data[i]) fail('E_CHECKPOINT', `latent_avg [${t.shape.join(', ')}] has different rows; w_avg must be one vector of ${wDim}`);
      }
    }
    return Float32Array.from(data.subarray(0, wDim));
  }
  return fail('E_SHAPE', `checkpoint: latent_avg has shape [${t.shape.join(', ')}], expected [${wDim}]`);
}

/** train.py's arguments that fix the architecture, against the shapes (which are what is imported). */
function checkTrainArgs(args: InertObject, arch: StyleGAN2Arch, warnings: string[]): string {
  const derived: [string, number][] = [['size', arch.resolution], ['latent', arch.wDim], ['n_mlp', arch.mappingLayers]];
  const found: string[] = [];
  for (const [name, want] of derived) {
    const v = args.attributes.get(name);
    if (v === undefined) continue;
    found.push(`${name}=${String(v)}`);
    if (v !== want) warnings.push(`train.py's args.${name} is ${String(v)}, but the weights' shapes give ${want}; the shapes are imported`);
  }
  return found.join(', ');
}

export function importRosinality(checkpoint: Checkpoint, opts: RosinalityOptions = {}): ImportedGenerator {
  const { tensors, latentAvg, source, trainArgs, others } = locate(checkpoint);
  const lrMul = opts.mappingLrMul ?? ROSINALITY_LR_MLP;
  if (!(lrMul > 0)) fail('E_INPUT', `the mapping lr_mul must be positive, got ${lrMul}`);
  const arch = rosinalityArch(tensors, lrMul);
  const used = new Set<string>();
  for (const [name, t] of tensors) {
    // Blur (`convs.2k.conv.blur.kernel`) and skip up-sampling (`to_rgbs.k.upsample.kernel`) buffers hold the FIR ×4.
    if (/^convs\.\d+\.conv\.blur\.kernel$/.test(name) || /^to_rgbs\.\d+\.upsample\.kernel$/.test(name)) {
      checkFirKernel(t, name, 4);
      used.add(name);
    }
  }
  const weights: StateDict = new Map();
  for (const [name, shape] of stylegan2ParamSpec(arch)) {
    weights.set(name, take(tensors.get(name), name, shape));
    used.add(name);
  }
  refuseLeftovers(tensors.keys(), used, `rosinality generator (${source})`);
  const notes = [
    `rosinality/stylegan2-pytorch generator from ${source}`,
    `mapping lr_mul ${lrMul}${opts.mappingLrMul === undefined ? " (rosinality's default lr_mlp; checkpoints do not record it)" : ' (given)'}`,
  ];
  const warnings: string[] = [];
  if (trainArgs) {
    const checked = checkTrainArgs(trainArgs, arch, warnings);
    notes.push(`a train.py checkpoint: its args (an argparse.Namespace, read as data${checked ? `: ${checked}` : ''}) checked against the shapes`);
  }
  if (others.length > 0) notes.push(`left unused: ${others.join(', ')}`);
  let wAvg: Float32Array | undefined;
  if (latentAvg) {
    wAvg = wAvgOf(latentAvg, arch.wDim);
    notes.push('w_avg from latent_avg');
  } else {
    warnings.push('the checkpoint has no latent_avg: w_avg is estimated as the mean of mapping(z) over 4096 seeded z, as rosinality\'s mean_latent does');
  }
  return { arch, weights, wAvg, notes, warnings };
}
