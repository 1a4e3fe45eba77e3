/**
 * Style statistics: μ_c, σ_c of every style channel over M seeded samples (DESIGN §1).
 * Streams batches through mapping → truncation → styles; memory is O(channels), whatever M.
 */
import { ChannelStats } from '../core/stats.ts';
import type { Generator } from '../models/generator.ts';
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
