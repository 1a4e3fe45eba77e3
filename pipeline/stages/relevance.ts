/**
 * The relevance stage (DESIGN §1): for every channel c of the set and every sample n,
 *   s⁺ = s⁽ⁿ⁾ with s_c := μ_c + α_p σ_c,  s⁻ = s⁽ⁿ⁾ with s_c := μ_c − α_p σ_c,
 *   d_n = n(E_I(P(G(s⁺)))) − n(E_I(P(G(s⁻)))),  Δi_c = n(mean_n n(d_n)).
 * Each channel is perturbed from the sample's own codes, independently of every other channel
 * (the reference mutates its codes in place, pinning earlier channels to their means; we don't).
 *
 * Work runs chunk by chunk; a chunk's results are committed to SQLite in one transaction.
 * Inside a chunk, batches of (sample, channel, ±) variants go through one fused session
 * (synthesis → preprocessing → visual encoder) in a worker thread, while the main thread
 * prepares the next batch and folds finished ones in, in submission order (so the sums, and
 * so the bytes, never depend on timing).
 */
import PQueue from 'p-queue';
import { StyleAtlasError, isStyleAtlasError } from '../core/errors.ts';
import { RelevanceAccumulator } from '../core/relevance.ts';
import type { Generator } from '../models/generator.ts';
import type { LayerRenderer, LayerRuns } from '../models/prefix-render.ts';
import type { InferenceRunner, TensorValue } from '../models/runtime.ts';
import type { ChannelResultRow } from '../store/build-db.ts';
import type { Chunk, RelevanceConfig } from './relevance-plan.ts';

interface Batch {
  codes: Float32Array; // [filled, C_total], or [filled, C_l] of one layer (prefix reuse)
  filled: number;
  /** Index into the chunk's channels of each ± pair in the batch. */
  pairChannel: number[];
  /** Prefix reuse: the layer's runs, and the sample's seam and own codes the variants start from. */
  cut?: { runs: LayerRuns; seam: Record<string, TensorValue>; own: Float32Array };
}

export interface ChunkContext {
  gen: Generator;
  /** The whole render per variant (the bundle's or the NCHWc synthesis, fused with the encoder)… */
  session?: InferenceRunner;
  /** …or prefix reuse: per-layer models (models/prefix-render.ts). Exactly one of the two. */
  layers?: LayerRenderer;
  config: RelevanceConfig;
  mu: Float64Array;
  sigma: Float64Array;
  dim: number;
  /** Runs in flight at once (≥ 1): the next batch is prepared while these compute. */
  inflight: number;
  /**
   * The session takes exactly this many renders per run (a model written for one batch size,
   * models/fused.ts renderBatch): a shorter last batch is padded with copies of its first row,
   * whose results are not read. Undefined: any batch.
   */
  fixedBatch?: number;
  /** Called after each batch with the number of renders it held. */
  onRenders?: (renders: number) => void;
}

/** Samples whose codes are computed together (mapping + styles): small, so memory stays flat. */
const SAMPLE_GROUP = 16;

/** Each sample's own codes [C_total], n = 0 … N−1 (mapping + styles SAMPLE_GROUP at a time). */
async function* sampleCodes(ctx: ChunkContext): AsyncGenerator<Float32Array> {
  const { gen, config } = ctx;
  const total = gen.layout.total;
  for (let n0 = 0; n0 < config.samples; n0 += SAMPLE_GROUP) {
    const count = Math.min(SAMPLE_GROUP, config.samples - n0);
    const seeds = Array.from({ length: count }, (_, i) => config.sampleSeed + n0 + i);
    const codes = await gen.stylesForSeeds(seeds, config.psi); // [count, C_total]
    for (let n = 0; n < count; n++) yield codes.slice(n * total, (n + 1) * total);
  }
}

/**
 * Appends channel c's ± pair to `batch`, rows of `width` values starting as `base`, c at
 * `at` in the row; true when the batch is full.
 */
function addPair(ctx: ChunkContext, batch: Batch, base: Float32Array, at: number, c: number, k: number): boolean {
  const width = base.length;
  for (const sign of [1, -1]) {
    const row = batch.codes.subarray(batch.filled * width, (batch.filled + 1) * width);
    row.set(base);
    row[at] = ctx.mu[c] + sign * ctx.config.alphaP * ctx.sigma[c];
    batch.filled++;
  }
  batch.pairChannel.push(k);
  return batch.filled === ctx.config.batch;
}

/**
 * Prefix reuse: the chunk's channels layer by layer; for each sample its seam once, then batches
 * of the layer's variants (a batch never spans two samples or layers). Each channel still meets
 * its samples in order 0 … N−1, so what is summed per channel, and in which order, is as in
 * chunkBatches.
 */
async function* cutBatches(ctx: ChunkContext, layers: LayerRenderer, chunk: Chunk, settle: () => Promise<void>): AsyncGenerator<Batch> {
  for (const run of layerRuns(layers, chunk)) {
    // Another layer's worker replaces this one: every batch given out so far is folded in first.
    if (layers.openLayer !== run.layer) await settle();
    const runs = await layers.open(run.layer);
    const slot = ctx.gen.layout.layers.find((l) => run.channels[0].c >= l.offset && run.channels[0].c < l.offset + l.channels)!;
    const width = slot.channels;
    // The next sample's prefix is asked for before this sample's variants are handed out, so it
    // queues behind them in the worker and the worker never waits for the main thread.
    const samples = sampleCodes(ctx);
    const ahead = async () => {
      const next = await samples.next();
      if (next.done) return undefined;
      const seam = runs.seam(next.value);
      seam.catch(() => {}); // observed when awaited (or with the chunk's failure)
      return { own: next.value, seam };
    };
    for (let next = await ahead(); next; ) {
      const { own, seam } = next;
      next = await ahead();
      const cut = { runs, seam: await seam, own };
      const base = own.slice(slot.offset, slot.offset + width);
      const fresh = (): Batch => ({ codes: new Float32Array(ctx.config.batch * width), filled: 0, pairChannel: [], cut });
      let batch = fresh();
      for (const { k, c } of run.channels) {
        if (addPair(ctx, batch, base, c - slot.offset, c, k)) {
          yield batch;
          batch = fresh();
        }
      }
      if (batch.filled > 0) yield { ...batch, codes: batch.codes.slice(0, batch.filled * width) };
    }
  }
}

/** The chunk's channels as runs of one style layer each, in order. */
function layerRuns(layers: LayerRenderer, chunk: Chunk): { layer: number; channels: { k: number; c: number }[] }[] {
  const out: { layer: number; channels: { k: number; c: number }[] }[] = [];
  chunk.channels.forEach((c, k) => {
    const layer = layers.layerOf(c);
    if (out.at(-1)?.layer !== layer) out.push({ layer, channels: [] });
    out.at(-1)!.channels.push({ k, c });
  });
  return out;
}

/** Whole renders: (sample, channel, ±) variants of full codes, batches running across samples. */
async function* chunkBatches(ctx: ChunkContext, chunk: Chunk): AsyncGenerator<Batch> {
  const total = ctx.gen.layout.total;
  const fresh = (): Batch => ({ codes: new Float32Array(ctx.config.batch * total), filled: 0, pairChannel: [] });
  let batch = fresh();
  for await (const own of sampleCodes(ctx)) {
    for (let k = 0; k < chunk.channels.length; k++) {
      if (addPair(ctx, batch, own, chunk.channels[k], chunk.channels[k], k)) {
        yield batch;
        batch = fresh();
      }
    }
  }
  if (batch.filled > 0) yield { ...batch, codes: batch.codes.subarray(0, batch.filled * total) };
}

type Done = { embeds: Float32Array; batch: Batch };

/**
 * Δi and the per-channel facts of one chunk. Deterministic for a given config. A failing run
 * (E_NUMERIC from a NaN the model produced, a worker that stopped) is observed the moment it
 * fails — also while the next batch is being prepared — stops the chunk, and is thrown as a coded
 * error naming the chunk once every run in flight has settled; nothing of the chunk is committed.
 */
export async function computeChunk(ctx: ChunkContext, chunk: Chunk): Promise<ChannelResultRow[]> {
  const accs = chunk.channels.map(() => new RelevanceAccumulator(ctx.dim));
  const queue = new PQueue({ concurrency: ctx.inflight });
  const pending: Promise<Done>[] = [];
  let failed = false;
  const fold = ({ embeds, batch }: Done) => {
    batch.pairChannel.forEach((k, p) => accs[k].addPair(embeds, 2 * p, embeds, 2 * p + 1));
    ctx.onRenders?.(batch.filled);
  };
  try {
    const settle = async () => {
      while (pending.length) fold(await pending.shift()!);
    };
    for await (const batch of ctx.layers ? cutBatches(ctx, ctx.layers, chunk, settle) : chunkBatches(ctx, chunk)) {
      const run = queue.add(async () => ({ embeds: await embedBatch(ctx, batch), batch })) as Promise<Done>;
      // Handled at once, so a run that fails while this loop awaits the next batch's styles is
      // never an unhandled rejection; the error itself is rethrown below, in submission order.
      run.catch(() => (failed = true));
      pending.push(run);
      // Bounded in-flight work: fold the oldest batch before preparing more than `inflight` ahead.
      while (pending.length > ctx.inflight || (failed && pending.length > 0)) fold(await pending.shift()!);
    }
    await settle();
  } catch (e) {
    await Promise.allSettled(pending); // nothing may still run on the session when the caller releases it
    throw inChunk(e, chunk);
  }
  return accs.map((a, k) => {
    const r = a.result();
    return { channel: chunk.channels[k], effect: r.effect, consistency: r.consistency, degenerate: r.degenerate, pairs: r.pairs, direction: r.direction };
  });
}

function embedBatch(ctx: ChunkContext, batch: Batch): Promise<Float32Array> {
  if (batch.cut) return batch.cut.runs.embed(batch.cut.seam, batch.codes, batch.filled, batch.cut.own);
  if (!ctx.session) throw new Error('computeChunk: a context with neither a session nor layer models');
  const { gen, fixedBatch } = ctx;
  const feeds = fixedBatch ? gen.synthesisFeeds(padRows(batch.codes, batch.filled, fixedBatch, gen.layout.total), fixedBatch) : gen.synthesisFeeds(batch.codes, batch.filled);
  return ctx.session.run(feeds, ['image_embeds']).then((out) => out.image_embeds.data as Float32Array);
}

/** codes [filled, C] as [rows, C], the missing rows copies of the first. */
function padRows(codes: Float32Array, filled: number, rows: number, total: number): Float32Array {
  if (filled === rows) return codes;
  if (filled > rows) throw new Error(`a batch of ${filled} renders for a session of ${rows}`);
  const out = new Float32Array(rows * total);
  out.set(codes.subarray(0, filled * total));
  for (let r = filled; r < rows; r++) out.copyWithin(r * total, 0, total);
  return out;
}

/** A coded error of a chunk says which chunk, and that the build can continue once its cause is fixed. */
function inChunk(e: unknown, chunk: Chunk): unknown {
  if (!isStyleAtlasError(e)) return e;
  const first = chunk.channels[0];
  const last = chunk.channels[chunk.channels.length - 1];
  return new StyleAtlasError(
    e.code,
    `relevance chunk ${chunk.index} (channels ${first}–${last}): ${e.message}`,
    e.hint ?? 'the chunks before it are committed: fix the cause, then continue the build with --resume',
  );
}
