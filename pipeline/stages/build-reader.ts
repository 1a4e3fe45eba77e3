/**
 * A finished relevance build, read back for the catalogue and edits: its configuration, layer
 * table, the fs3 rows of its channel set and μ, σ of every channel; and the bundles it was built
 * from, found by id and checked by manifest sha256.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { BuildRelevance } from '../core/directions.ts';
import { fail } from '../core/errors.ts';
import type { StyleLayout } from '../core/styles.ts';
import { readBundle, sha256Hex } from '../models/bundle.ts';
import { BuildDb } from '../store/build-db.ts';
import { type RelevanceTable, readRelevanceArrow } from '../store/relevance-arrow.ts';
import { readFileSync } from 'node:fs';
import { buildShape } from './relevance-output.ts';
import { type ChannelSet, type RelevanceConfig, type Shard, channelsOf } from './relevance-plan.ts';

/** Where an imported build's relevance and statistics came from, by file name and sha256. */
export interface ImportedRelevance {
  format: 'fs3.npy';
  file: string;
  sha256: string;
  rows: number;
  /** S_mean_std as given, or StyleAtlas's own statistics step. */
  stats: { file: string; sha256: string } | { samples: number; seed: number };
}

/** A build whose relevance was imported (`import fs3`), not measured by StyleAtlas. */
export interface ImportedBuildConfig {
  generator: { id: string; manifestSha256: string };
  encoder: { id: string; manifestSha256: string };
  /** ψ of the build's seeded samples (galleries, `edit --seeds`), and of computed statistics. */
  psi: number;
  channelSet: ChannelSet;
  imported: ImportedRelevance;
}

/** What a finished build folder records: a StyleAtlas relevance run or an import. */
export type BuildConfig = RelevanceConfig | ImportedBuildConfig;

export function isImportedBuild(config: BuildConfig): config is ImportedBuildConfig {
  return 'imported' in config;
}

export interface FinishedBuild {
  id: string;
  dir: string;
  config: BuildConfig;
  layout: StyleLayout;
  dim: number;
  table: RelevanceTable;
  /** What Δs needs (core/directions.ts directionFromBuild), σ as build.sqlite holds it. */
  relevance: BuildRelevance;
  /** μ, σ of every style channel (all layers), float64 as stored. */
  mu: Float64Array;
  sigma: Float64Array;
  relevanceSha256: string;
  meta: Record<string, string>;
  timings: { stage: string; seconds: number; renders: number; detail: string }[];
}

/**
 * A shard's folder (`relevance --shard i/n`) has its own relevance.arrow, over its part of the
 * channels: a build to merge, not one to make directions from.
 */
function checkComplete(dirArg: string, shardMeta: string | undefined, table: RelevanceTable, channels: readonly number[]): void {
  const shard = shardMeta === undefined ? undefined : (JSON.parse(shardMeta) as Shard);
  const missing = channels.length - table.rows;
  if (shard && shard.count > 1) {
    fail('E_SHARD', `${dirArg} is shard ${shard.index}/${shard.count} of a build: it holds ${table.rows} of the ${channels.length} channels, ${missing} are missing`,
      `merge the ${shard.count} shards into one build first (styleatlas merge --out DIR SHARD_DIR…) and use that`);
  }
  if (missing !== 0 || table.channel.some((c, i) => c !== channels[i])) {
    fail('E_STORE', `${dirArg}/relevance.arrow holds ${table.rows} channels, not the ${channels.length} of the build's channel set`,
      'the build folder is damaged: rebuild it with `styleatlas relevance`');
  }
}

export function openBuild(dirArg: string): FinishedBuild {
  const dir = resolve(dirArg);
  const dbPath = join(dir, 'build.sqlite');
  const arrowPath = join(dir, 'relevance.arrow');
  if (!existsSync(dbPath)) fail('E_MISSING', `${dirArg} is not a relevance build (no build.sqlite)`, 'run `styleatlas relevance --out DIR` first');
  if (!existsSync(arrowPath)) fail('E_MISSING', `${dirArg} has no relevance.arrow: the build is not finished`, 'finish it with `styleatlas relevance --resume` (or merge its shards)');
  const db = new BuildDb(dbPath, { readonly: true });
  try {
    const { layout, dim } = buildShape(db);
    const config = JSON.parse(db.getMeta('config')!) as BuildConfig;
    const { mu, sigma } = db.loadStats(layout.total);
    const bytes = readFileSync(arrowPath);
    const table = readRelevanceArrow(bytes);
    if (table.dim !== dim) fail('E_STORE', `${arrowPath}: direction size ${table.dim}, the build says ${dim}`);
    checkComplete(dirArg, db.getMeta('shard'), table, channelsOf(layout, config.channelSet));
    const relevance: BuildRelevance = { ...table, total: layout.total, sigma: Float64Array.from(table.channel, (c) => sigma[c]) };
    return { id: basename(dir), dir, config, layout, dim, table, relevance, mu, sigma, relevanceSha256: sha256Hex(bytes), meta: db.allMeta(), timings: db.timings() };
  } finally {
    db.close();
  }
}

/** The bundle folder for a build's generator or encoder, verified against the recorded sha256. */
export function bundleForBuild(modelsDir: string, ref: { id: string; manifestSha256: string }, what: string): string {
  const dir = join(resolve(modelsDir), ref.id);
  const b = readBundle(dir);
  if (b.manifestSha256 !== ref.manifestSha256) {
    fail('E_MANIFEST', `the ${what} bundle ${dir} is not the one the build used (manifest sha256 ${b.manifestSha256.slice(0, 12)}…, build has ${ref.manifestSha256.slice(0, 12)}…)`, 'rebuild the relevance build, or point --models-dir at the original bundles');
  }
  return dir;
}
