/**
 * StyleCLIP's latent mapper (method 2, the seed's Eq. 4–5) as tables and pure maths: which ws
 * each of the three mappers reads, the names and shapes of its parameters, their official
 * initialisation, and the deterministic order in which training codes are visited.
 *
 * The official `mapper/latent_mappers.py` (LevelsMapper): W+ is cut into a coarse (ws 0–3), a
 * medium (ws 4–7) and a fine (ws 8–) group, and each group has its own Mapper — PixelNorm, then
 * four EqualLinear(w_dim → w_dim, lr_mul 0.01) with fused leaky ReLU (slope 0.2, gain √2);
 * the edit is w' = w + 0.1 · M_t(w). The cut is by ws index, which in every StyleGAN2 means the
 * same resolutions (4²–8², 16²–32², 64² and up), so it is derived from num_ws: a generator of
 * 32² or less has no fine group, one of 8² no medium group either.
 *
 * Note what the official PixelNorm does there: it normalises over dim 1 of the group's
 * [B, k, w_dim] codes, i.e. across the group's ws for each channel, not across channels. For
 * codes sampled from the mapping network (every ws row the same w) that is x / √(x² + 1e-8),
 * about sign(x). StyleAtlas computes exactly what the official code computes, so official
 * mapper weights give the official edit (docs/latent-mapper.md).
 */
import { Xoshiro128 } from './rng.ts';

export const MAPPER_ARCH = Object.freeze({
  layers: 4,
  lrMul: 0.01,
  negativeSlope: 0.2,
  gain: Math.SQRT2,
  pixelNormEps: 1e-8,
  /** w' = w + stepScale · M_t(w) (coach.py). */
  stepScale: 0.1,
});

export type MapperGroupName = 'coarse' | 'medium' | 'fine';

export interface MapperGroup {
  name: MapperGroupName;
  /** The official module's attribute name (its spelling, "course", kept so state dicts load). */
  module: 'course_mapping' | 'medium_mapping' | 'fine_mapping';
  /** ws rows [start, end) of W+. */
  start: number;
  end: number;
}

export interface MapperShape {
  numWs: number;
  wDim: number;
}

const GROUPS: readonly { name: MapperGroupName; module: MapperGroup['module']; start: number; end: number }[] = [
  { name: 'coarse', module: 'course_mapping', start: 0, end: 4 },
  { name: 'medium', module: 'medium_mapping', start: 4, end: 8 },
  { name: 'fine', module: 'fine_mapping', start: 8, end: Infinity },
];

/** The groups of a generator with `numWs` ws; groups with no ws are left out. */
export function mapperGroups(numWs: number): MapperGroup[] {
  if (!Number.isInteger(numWs) || numWs < 1) throw new RangeError(`num_ws must be a positive integer, got ${numWs}`);
  return GROUPS.filter((g) => g.start < numWs).map((g) => ({ ...g, end: Math.min(g.end, numWs) }));
}

/** `course_mapping.mapping.1.weight`: the official state-dict key of group `module`, layer i (1…4). */
export function mapperParamName(module: MapperGroup['module'], layer: number, kind: 'weight' | 'bias'): string {
  return `${module}.mapping.${layer}.${kind}`;
}

/** Every parameter, in order: per group, per layer, weight [w_dim, w_dim] (out × in) then bias [w_dim]. */
export function mapperParamSpec(shape: MapperShape): Map<string, number[]> {
  const spec = new Map<string, number[]>();
  for (const g of mapperGroups(shape.numWs)) {
    for (let i = 1; i <= MAPPER_ARCH.layers; i++) {
      spec.set(mapperParamName(g.module, i, 'weight'), [shape.wDim, shape.wDim]);
      spec.set(mapperParamName(g.module, i, 'bias'), [shape.wDim]);
    }
  }
  return spec;
}

export function mapperParamCount(shape: MapperShape): number {
  let n = 0;
  for (const dims of mapperParamSpec(shape).values()) n += dims.reduce((a, b) => a * b, 1);
  return n;
}

/** Mapper parameters by name, each a float32 array of its spec's shape. */
export type MapperWeights = Map<string, Float32Array>;

/**
 * The official initialisation: EqualLinear weights N(0, 1) / lr_mul, biases 0; drawn in spec
 * order from one seeded stream, so a seed gives the same weights everywhere.
 */
export function initialMapperWeights(shape: MapperShape, seed: number): MapperWeights {
  const rng = new Xoshiro128(seed, 0x6d617070); // 'mapp': a stream of its own, apart from the z streams
  const weights: MapperWeights = new Map();
  for (const [name, dims] of mapperParamSpec(shape)) {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    if (name.endsWith('.weight')) for (let i = 0; i < data.length; i++) data[i] = rng.nextNormal() / MAPPER_ARCH.lrMul;
    weights.set(name, data);
  }
  return weights;
}

/** All parameters as one flat vector (spec order), as Adam steps them. */
export function flattenMapperWeights(shape: MapperShape, weights: MapperWeights): Float32Array {
  const flat = new Float32Array(mapperParamCount(shape));
  let at = 0;
  for (const [name, dims] of mapperParamSpec(shape)) {
    const t = weights.get(name);
    const n = dims.reduce((a, b) => a * b, 1);
    if (!t || t.length !== n) throw new RangeError(`mapper weights: ${name} must hold ${n} values, found ${t?.length ?? 'none'}`);
    flat.set(t, at);
    at += n;
  }
  return flat;
}

/** Views of a flat vector as named parameters (no copy). */
export function mapperWeightViews(shape: MapperShape, flat: Float32Array): MapperWeights {
  const views: MapperWeights = new Map();
  let at = 0;
  for (const [name, dims] of mapperParamSpec(shape)) {
    const n = dims.reduce((a, b) => a * b, 1);
    views.set(name, flat.subarray(at, at + n));
    at += n;
  }
  if (at !== flat.length) throw new RangeError(`mapper weights: expected ${at} values, found ${flat.length}`);
  return views;
}

/**
 * The training codes of step `step` (0-based): batches of `batch` indices into `count` codes,
 * epoch by epoch, each epoch a seeded permutation with the incomplete last batch dropped (the
 * official DataLoader's shuffle=True, drop_last=True). A pure function of its arguments, so a
 * resumed run visits exactly the codes an uninterrupted one does.
 */
export function trainingBatch(seed: number, step: number, count: number, batch: number): number[] {
  const perEpoch = Math.floor(count / batch);
  if (perEpoch < 1) throw new RangeError(`${count} training codes cannot fill one batch of ${batch}`);
  const epoch = Math.floor(step / perEpoch);
  const order = epochPermutation(seed, epoch, count);
  const first = (step % perEpoch) * batch;
  return Array.from(order.subarray(first, first + batch));
}

/** Fisher–Yates over 0…count−1 from the (seed, epoch) stream. */
export function epochPermutation(seed: number, epoch: number, count: number): Uint32Array {
  const rng = new Xoshiro128(seed ^ 0x5348554c, epoch); // 'SHUL': apart from the z and weight streams
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng.nextUniform() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** [N·A, num_ws·w_dim], row (n, a) = ws_n + strengths[a] · 0.1 · delta_n: the edit at a row of strengths (1 = trained). */
export function mapperEdits(ws: Float32Array, delta: Float32Array, n: number, strengths: readonly number[]): Float32Array {
  if (ws.length !== delta.length || ws.length % n !== 0) throw new RangeError(`mapper edits: ${ws.length} code values, ${delta.length} step values for ${n} codes`);
  const row = ws.length / n;
  const out = new Float32Array(n * strengths.length * row);
  for (let i = 0; i < n; i++)
    strengths.forEach((a, k) => {
      const at = (i * strengths.length + k) * row;
      for (let j = 0; j < row; j++) out[at + j] = ws[i * row + j] + a * MAPPER_ARCH.stepScale * delta[i * row + j];
    });
  return out;
}
