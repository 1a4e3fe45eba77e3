/**
 * The style statistics of a relevance build: a given file (`styleatlas stats`, shared by every
 * shard), checked against the build, or μ, σ computed once into the build folder (stats.npz, the
 * same bytes the stats stage writes). Either way the build records the file's sha256.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import type { Generator } from '../models/generator.ts';
import type { BuildDb } from '../store/build-db.ts';
import { type StatsFile, checkStatsFor, readStatsFile } from '../store/stats-file.ts';
import type { RelevanceRun } from './relevance-build.ts';
import type { RelevanceConfig } from './relevance-plan.ts';
import { writeStyleStats } from './stats.ts';

/** The given statistics file, checked against the build, or undefined (compute them). */
export function givenStats(run: Pick<RelevanceRun, 'statsFile' | 'config'>, gen: Generator, psi: number): StatsFile | undefined {
  if (!run.statsFile) {
    if (run.config.statsSamples === undefined || run.config.statsSeed === undefined) fail('E_USAGE', 'relevance needs statsSamples and statsSeed, or a statistics file');
    return undefined;
  }
  const path = resolve(run.statsFile);
  const st = readStatsFile(path);
  checkStatsFor(st, path, { generator: { id: gen.manifest.id, manifestSha256: gen.bundle.manifestSha256 }, psi, channels: gen.layout.total });
  const { samples, seed } = st.provenance;
  if ((run.config.statsSamples ?? samples) !== samples || (run.config.statsSeed ?? seed) !== seed) {
    fail('E_INPUT', `${path} holds statistics over ${samples} samples from seed ${seed}, the build asks for ${run.config.statsSamples ?? samples} from seed ${run.config.statsSeed ?? seed}`, 'leave out --stats-samples and --stats-seed with --stats');
  }
  return st;
}

/** μ, σ computed into the folder, or the folder's own stats.npz when it already holds these. */
export async function ownStats(run: Pick<RelevanceRun, 'outDir' | 'onProgress'>, gen: Generator, config: RelevanceConfig, db: BuildDb, log: (m: string) => void): Promise<{ stats: StatsFile; seconds: number }> {
  const path = join(run.outDir, 'stats.npz');
  const wanted = { samples: config.statsSamples, seed: config.statsSeed, psi: config.psi };
  if (existsSync(path)) {
    const st = readStatsFile(path);
    const p = st.provenance;
    if (p.samples === wanted.samples && p.seed === wanted.seed && p.psi === wanted.psi && p.generator.manifestSha256 === config.generator.manifestSha256) return { stats: st, seconds: 0 };
  }
  log(`stats: μ, σ of ${gen.layout.total} style channels over ${wanted.samples} samples → ${path}`);
  const st = await writeStyleStats(gen, { ...wanted, onProgress: run.onProgress }, path);
  db.addTiming('stats', st.seconds, st.samples);
  return { stats: st.file, seconds: st.seconds };
}
