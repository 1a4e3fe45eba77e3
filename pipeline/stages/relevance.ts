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
import type { InferenceRunner } from '../models/runtime.ts';
import type { ChannelResultRow } from '../store/build-db.ts';
import type { Chunk, RelevanceConfig } from './relevance-plan.ts';

interface Batch {
  codes: Float32Array; // [filled, C_total]
  filled: number;
  /** Index into the chunk's channels of each ± pair in the batch. */
  pairChannel: number[];
}

export interface ChunkContext {
  gen: Generator;
  session: InferenceRunner;
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

async function* chunkBatches(ctx: ChunkContext, chunk: Chunk): AsyncGenerator<Batch> {
  const { gen, config } = ctx;
  const total = gen.layout.total;
  const fresh = (): Batch => ({ codes: new Float32Array(config.batch * total), filled: 0, pairChannel: [] });
  let batch = fresh();
  for (let n0 = 0; n0 < config.samples; n0 += SAMPLE_GROUP) {
    const count = Math.min(SAMPLE_GROUP, config.samples - n0);
    const seeds = Array.from({ length: count }, (_, i) => config.sampleSeed + n0 + i);
    const codes = await gen.stylesForSeeds(seeds, config.psi); // [count, C_total]
    for (let n = 0; n < count; n++) {
      const own = codes.subarray(n * total, (n + 1) * total);
      for (let k = 0; k < chunk.channels.length; k++) {
        const c = chunk.channels[k];
        for (const sign of [1, -1]) {
          const row = batch.codes.subarray(batch.filled * total, (batch.filled + 1) * total);
          row.set(own);
          row[c] = ctx.mu[c] + sign * config.alphaP * ctx.sigma[c];
          batch.filled++;
        }
        batch.pairChannel.push(k);
        if (batch.filled === config.batch) {
          yield batch;
          batch = fresh();
        }
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
    for await (const batch of chunkBatches(ctx, chunk)) {
      const feeds = ctx.fixedBatch ? ctx.gen.synthesisFeeds(padRows(batch.codes, batch.filled, ctx.fixedBatch, ctx.gen.layout.total), ctx.fixedBatch) : ctx.gen.synthesisFeeds(batch.codes, batch.filled);
      const run = queue.add(async () => ({ embeds: (await ctx.session.run(feeds, ['image_embeds'])).image_embeds.data as Float32Array, batch })) as Promise<Done>;
      // Handled at once, so a run that fails while this loop awaits the next batch's styles is
      // never an unhandled rejection; the error itself is rethrown below, in submission order.
      run.catch(() => (failed = true));
      pending.push(run);
      // Bounded in-flight work: fold the oldest batch before preparing more than `inflight` ahead.
      while (pending.length > ctx.inflight || (failed && pending.length > 0)) fold(await pending.shift()!);
    }
    while (pending.length) fold(await pending.shift()!);
  } catch (e) {
    await Promise.allSettled(pending); // nothing may still run on the session when the caller releases it
    throw inChunk(e, chunk);
  }
  return accs.map((a, k) => {
    const r = a.result();
    return { channel: chunk.channels[k], effect: r.effect, consistency: r.consistency, degenerate: r.degenerate, pairs: r.pairs, direction: r.direction };
  });
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
