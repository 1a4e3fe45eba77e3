/**
 * What a relevance build computes, as data: its configuration (everything that changes the
 * numbers), the channel set, and the split of channels into chunks and shards. Pure.
 */
import { fail } from '../core/errors.ts';
import type { StyleLayout } from '../core/styles.ts';

/** Which style channels get a relevance row (DESIGN §1 "Channel set"). */
export const CHANNEL_SETS = Object.freeze({
  conv: 'all conv layers (6048 channels for FFHQ-1024)',
  reference: "the reference's subset: conv layers up to 128² (5376 channels for FFHQ-1024)",
  all: 'conv and toRGB layers (9088 channels for FFHQ-1024)',
} as const);
export type ChannelSet = keyof typeof CHANNEL_SETS;

export function parseChannelSet(name: string): ChannelSet {
  if (!Object.hasOwn(CHANNEL_SETS, name)) fail('E_INPUT', `unknown channel set "${name}"; valid sets: ${Object.keys(CHANNEL_SETS).join(', ')}`);
  return name as ChannelSet;
}

/** Global indices (into s [C_total]) of the set's channels, ascending. */
export function channelsOf(layout: StyleLayout, set: ChannelSet): number[] {
  const out: number[] = [];
  for (const l of layout.layers) {
    const take = set === 'all' || (l.kind === 'conv' && (set === 'conv' || l.resolution <= 128));
    if (take) for (let c = 0; c < l.channels; c++) out.push(l.offset + c);
  }
  return out;
}

/**
 * The synthesis the relevance stage renders with (models/fused.ts, models/prefix-render.ts). The
 * default, auto, is prefix reuse wherever the bundle's synthesis holds StyleGAN2 weights StyleAtlas
 * can cut (every bundle it builds or imports), written in onnxruntime's blocked NCHWc layout on
 * the CPU provider where it has those kernels and in the portable layout elsewhere; else the
 * bundle's whole graph — said in the log and recorded (docs/benchmarks.md has the measurements).
 */
export const RENDER_GRAPHS = Object.freeze({
  auto: 'prefix-nchwc on the CPU provider, else prefix where the synthesis can be cut, else portable (default)',
  prefix: "the portable graph cut at each perturbed layer: the layers before it run once per sample, not per variant (exact; refused where the synthesis holds no weights StyleAtlas can read)",
  'prefix-nchwc': "prefix reuse with the cut graphs in onnxruntime's blocked NCHWc layout: CPU only (refused elsewhere); at FFHQ-1024 its suffixes take ~0.7-0.85x prefix's time, on tiny its build loop ~0.87x",
  portable: "the bundle's whole synthesis.onnx per variant, on every execution provider",
  nchwc: "the whole synthesis written in onnxruntime's blocked NCHWc layout from the bundle's weights: CPU only, faster, more memory",
} as const);
export type RenderGraphName = keyof typeof RENDER_GRAPHS;

export function parseRenderGraph(name: string): RenderGraphName {
  if (!Object.hasOwn(RENDER_GRAPHS, name)) fail('E_INPUT', `unknown render graph "${name}"; valid render graphs: ${Object.keys(RENDER_GRAPHS).join(', ')}`);
  return name as RenderGraphName;
}

/**
 * The relevance command's defaults (DESIGN §1: N = 100, α_p = 5, ψ = 0.7, M = 100 000), beside
 * the plan they configure: the CLI, the demo and the benchmark read them here. `batch: 'auto'`
 * means defaultBatch(resolution); `inflight` is how the loop runs, not what it computes.
 */
export const RELEVANCE_DEFAULTS = Object.freeze({
  samples: 100,
  alphaP: 5,
  psi: 0.7,
  sampleSeed: 0,
  statsSamples: 100_000,
  statsSeed: 1_000_000,
  channelSet: 'conv' as ChannelSet,
  chunk: 32,
  batch: 'auto' as number | 'auto',
  inflight: 2,
  renderGraph: 'auto' as RenderGraphName,
});

/** Everything that determines the numbers of a build. Two runs with equal configs give equal bytes. */
export interface RelevanceConfig {
  generator: { id: string; manifestSha256: string };
  encoder: { id: string; manifestSha256: string };
  /** N: samples per channel. */
  samples: number;
  /** α_p: the perturbation in units of σ_c. */
  alphaP: number;
  psi: number;
  /** Relevance samples use seeds sampleSeed … sampleSeed+N−1. */
  sampleSeed: number;
  /** M samples for μ, σ, with seeds statsSeed … statsSeed+M−1. */
  statsSamples: number;
  statsSeed: number;
  /** sha256 of the statistics file (store/stats-file.ts) every chunk was computed with. */
  statsSha256: string;
  channelSet: ChannelSet;
  /** Channels per committed chunk; chunks are the unit of resume and of sharding. */
  chunkChannels: number;
  /** Renders per onnxruntime call (even: a ± pair never splits). Part of the config because
   *  batch composition can change the last bits of a result. */
  batch: number;
  /** The render graph the build ran ('prefix', 'prefix-nchwc' or 'nchwc': the last bits of Δi
   *  differ from the whole portable graph's by float reordering); absent for the bundle's whole
   *  synthesis.onnx, so configs from before these existed compare equal. */
  renderGraph?: 'nchwc' | 'prefix' | 'prefix-nchwc';
  /** --render-to R: channels of layers at ≤ R² measured on block R's image (approximate). */
  renderTo?: number;
}

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(raw: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  if (!m) fail('E_INPUT', `--shard "${raw}" must look like i/n, e.g. 0/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) fail('E_INPUT', `--shard ${raw}: need 0 ≤ i < n`);
  return { index, count };
}

export interface Chunk {
  index: number;
  channels: number[];
}

/** Chunks are cut from the whole channel set, so every shard layout has the same chunks. */
export function planChunks(channels: readonly number[], chunkChannels: number, shard: Shard = { index: 0, count: 1 }): Chunk[] {
  const chunks: Chunk[] = [];
  for (let i = 0, k = 0; i < channels.length; i += chunkChannels, k++) {
    if (k % shard.count === shard.index) chunks.push({ index: k, channels: channels.slice(i, i + chunkChannels) });
  }
  return chunks;
}

/**
 * Renders per call when the user does not say: 16 for generators up to 256 px, fewer above, so
 * the fused session's activations stay a few GiB (measured on FFHQ-1024 + ViT-B/32 on CPU: batch 2
 * holds 4.8 GiB, batch 4 7.5 GiB, batch 16 would need ~22 GiB — and batch 2 was also the fastest).
 */
export function defaultBatch(resolution: number): number {
  const b = Math.floor((16 * 256 * 256) / (resolution * resolution));
  return Math.max(2, Math.min(16, b - (b % 2)));
}

export function validateConfig(c: RelevanceConfig): void {
  const intIn = (v: number, lo: number, hi: number, what: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) fail('E_INPUT', `${what} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  intIn(c.samples, 1, 1_000_000, '--samples');
  intIn(c.statsSamples, 2, 100_000_000, '--stats-samples');
  intIn(c.chunkChannels, 1, 1_000_000, '--chunk');
  intIn(c.batch, 2, 1_000_000, '--batch');
  if (c.batch % 2 !== 0) fail('E_INPUT', `--batch must be even (a ± pair never splits), got ${c.batch}`);
  if (!(c.alphaP > 0 && c.alphaP <= 100)) fail('E_INPUT', `--alpha-p must be in (0, 100], got ${c.alphaP}`);
  if (!(c.psi >= 0 && c.psi <= 1)) fail('E_INPUT', `--psi must be in [0, 1], got ${c.psi}`);
}

/** Keys whose values differ between two configs (for E_RESUME / merge errors). */
export function configDifferences(a: RelevanceConfig, b: RelevanceConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof RelevanceConfig>;
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`);
}
