/**
 * Style statistics: μ_c, σ_c of every style channel over M seeded samples (DESIGN §1).
 * Streams batches through mapping → truncation → styles; memory is O(channels), whatever M.
 * Computed once per build (`styleatlas stats`) and shared by every shard, so shards on other
 * machines, whose float32 mapping may differ in the last bits, still use the same μ and σ.
 */
import { ChannelStats } from '../core/stats.ts';
import { sha256Hex } from '../models/bundle.ts';
import type { Generator } from '../models/generator.ts';
import { TOOL_VERSION } from '../version.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { STATS_FORMAT, type StatsFile, type StatsProvenance, encodeStatsFile } from '../store/stats-file.ts';
import { ProgressClock, type ProgressFn } from './progress.ts';

export interface StatsOptions {
  /** M, the number of samples (default 100 000, as the reference). */
  samples: number;
  /** Samples use seeds seed, seed+1, …, seed+M−1. */
  seed: number;
  psi: number;
  batch?: number;
  onProgress?: ProgressFn;
}

export interface StyleStats {
  mu: Float64Array;
  sigma: Float64Array;
  samples: number;
  seconds: number;
}

export async function computeStyleStats(gen: Generator, opts: StatsOptions): Promise<StyleStats> {
  const batch = opts.batch ?? 1024;
  const stats = new ChannelStats(gen.layout.total);
  const clock = new ProgressClock('stats', opts.samples, 'samples', opts.onProgress);
  for (let first = 0; first < opts.samples; first += batch) {
    const n = Math.min(batch, opts.samples - first);
    const seeds = Array.from({ length: n }, (_, i) => opts.seed + first + i);
    stats.addBatch(await gen.stylesForSeeds(seeds, opts.psi), n);
    clock.tick(first + n);
  }
  return { mu: stats.mean, sigma: stats.std(), samples: opts.samples, seconds: clock.seconds() };
}

/** The statistics of `gen` as a file (see store/stats-file.ts), written atomically. */
export async function writeStyleStats(gen: Generator, opts: StatsOptions, path: string): Promise<StyleStats & { file: StatsFile }> {
  const st = await computeStyleStats(gen, opts);
  const provenance: StatsProvenance = {
    format: STATS_FORMAT,
    generator: { id: gen.manifest.id, manifestSha256: gen.bundle.manifestSha256 },
    samples: opts.samples,
    seed: opts.seed,
    psi: opts.psi,
    channels: gen.layout.total,
    tool: TOOL_VERSION,
  };
  const bytes = encodeStatsFile(provenance, st.mu, st.sigma);
  writeFileAtomic(path, bytes);
  return { ...st, file: { provenance, mu: st.mu, sigma: st.sigma, sha256: sha256Hex(bytes) } };
}
