/**
 * Join shard builds (`relevance --shard i/n`) into one build folder whose outputs equal those of
 * a single uninterrupted build. Shards may have run on different machines and devices: what
 * must agree is what determines the numbers — the settings, the bundles and the sha256 of the
 * statistics file — never recomputed floats. Refuses missing, duplicated, incomplete or
 * mismatched shards. The merged build lists its shards and where each of their chunks ran.
 * Atomic: the build is written in a temporary sibling and renamed into place, so a failed or
 * killed merge leaves no --out and can simply be run again.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import { sha256Hex } from '../models/bundle.ts';
import { tempDirFor } from '../store/atomic.ts';
import { BuildDb, type RunRecord } from '../store/build-db.ts';
import { checkOutputDir, outputError } from '../store/output-errors.ts';
import { toolProvenance } from '../store/provenance.ts';
import { arrowMetadata } from './relevance-build.ts';
import { type BuildOutputs, buildShape, writeBuildOutputs } from './relevance-output.ts';
import { type RelevanceConfig, type Shard, channelsOf, configDifferences, planChunks } from './relevance-plan.ts';

interface ShardBuild {
  dir: string;
  db: BuildDb;
  config: RelevanceConfig;
  shard: Shard;
}

/** One shard as the merged provenance lists it. */
export interface MergedShard {
  dir: string;
  shard: string;
  statsSha256: string;
  runs: Omit<RunRecord, 'run'>[];
}

function openShard(dir: string): ShardBuild {
  const path = join(resolve(dir), 'build.sqlite');
  if (!existsSync(path)) fail('E_SHARD', `${dir} is not a relevance build (no build.sqlite)`);
  const db = new BuildDb(path, { readonly: true });
  const config = db.getMeta('config');
  const shard = db.getMeta('shard');
  if (!config || !shard) {
    db.close();
    fail('E_SHARD', `${dir} has no build configuration`);
  }
  return { dir, db, config: JSON.parse(config), shard: JSON.parse(shard) };
}

function checkShards(shards: readonly ShardBuild[]): void {
  const first = shards[0];
  const n = first.shard.count;
  for (const s of shards) {
    // Settings first (they name what differs), then the statistics the chunks were computed with.
    const diff = configDifferences({ ...first.config, statsSha256: '' }, { ...s.config, statsSha256: '' });
    if (diff.length) fail('E_SHARD', `${s.dir} was built with other settings than ${first.dir}: ${diff.join('; ')}`);
    if (s.config.statsSha256 !== first.config.statsSha256) {
      fail(
        'E_SHARD',
        `${s.dir} was computed with other style statistics than ${first.dir} (stats sha256 ${String(s.config.statsSha256).slice(0, 12)}… vs ${String(first.config.statsSha256).slice(0, 12)}…)`,
        'compute the statistics once with `styleatlas stats` and give every shard the same --stats FILE',
      );
    }
    if (s.shard.count !== n) fail('E_SHARD', `${s.dir} is shard ${s.shard.index}/${s.shard.count}, others are …/${n}`);
  }
  const seen = new Map<number, string>();
  for (const s of shards) {
    const prev = seen.get(s.shard.index);
    if (prev) fail('E_SHARD', `shard ${s.shard.index}/${n} is given twice: ${prev} and ${s.dir}`);
    seen.set(s.shard.index, s.dir);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) fail('E_SHARD', `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')}`);
  const { layout } = buildShape(first.db);
  const channels = channelsOf(layout, first.config.channelSet);
  for (const s of shards) {
    const planned = planChunks(channels, s.config.chunkChannels, s.shard).map((c) => c.index);
    const done = s.db.doneChunks();
    const left = planned.filter((c) => !done.has(c));
    if (left.length) fail('E_SHARD', `shard ${s.shard.index}/${n} in ${s.dir} is incomplete: ${left.length} of ${planned.length} chunks left`, 'finish it with relevance --resume');
  }
}

/** The merged build's database: results, chunk records and the runs that computed them. */
function fillMerged(tmp: string, shards: readonly ShardBuild[]): BuildOutputs {
  const first = shards[0];
  const { layout } = buildShape(first.db);
  const merged = new BuildDb(join(tmp, 'build.sqlite'));
  try {
    const listed: MergedShard[] = [];
    const whole: Shard = { index: 0, count: 1 };
    const { mu, sigma } = first.db.loadStats(layout.total);
    merged.saveStats(mu, sigma);
    for (const s of shards) {
      const runIds = new Map<number, number>();
      const runs = s.db.runs();
      for (const r of runs) runIds.set(r.run, merged.addRun(r.shard, r, r.startedAt));
      const chunkRun = s.db.chunkRuns();
      for (const ch of s.db.chunkRecords()) {
        const run = chunkRun.get(ch.chunk);
        merged.commitChunk(ch.chunk, s.db.chunkResults(ch.chunk), ch.renders, ch.seconds, run === undefined ? undefined : runIds.get(run));
      }
      for (const t of s.db.timings()) merged.addTiming(`${t.stage}.shard${s.shard.index}`, t.seconds, t.renders, JSON.parse(t.detail ?? '{}'));
      listed.push({ dir: resolve(s.dir), shard: `${s.shard.index}/${s.shard.count}`, statsSha256: s.config.statsSha256, runs: runs.map(({ run: _, ...r }) => r) });
    }
    const meta = first.db.allMeta();
    merged.setMeta({ ...meta, shard: JSON.stringify(whole), merged_from: JSON.stringify(listed), finished: new Date().toISOString(), ...toolProvenance() });
    // The statistics file travels with the build when it is still the one the shards used.
    const stats = (JSON.parse(meta.stats ?? '{}') as { file?: string }).file;
    if (stats && existsSync(stats) && sha256Hex(readFileSync(stats)) === first.config.statsSha256) copyFileSync(stats, join(tmp, 'stats.npz'));
    return writeBuildOutputs(tmp, merged, arrowMetadata(merged, first.config, whole));
  } finally {
    merged.close();
  }
}

export function mergeShards(shardDirs: readonly string[], outDir: string): BuildOutputs {
  if (shardDirs.length === 0) fail('E_USAGE', 'merge needs at least one shard folder');
  const out = resolve(outDir);
  checkOutputDir(out);
  if (existsSync(out) && readdirSync(out).length > 0) {
    fail('E_SHARD', `${outDir} already ${existsSync(join(out, 'build.sqlite')) ? 'holds a build' : 'exists and is not empty'}`, 'merge into a new folder');
  }
  const shards: ShardBuild[] = [];
  try {
    for (const d of shardDirs) shards.push(openShard(d));
    checkShards(shards);
    const tmp = tempDirFor(out); // and removes what killed merges left
    let written: BuildOutputs;
    try {
      written = fillMerged(tmp, shards);
      if (existsSync(out)) rmdirSync(out); // empty (checked above); rename needs it gone
      renameSync(tmp, out);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw outputError(e, out);
    }
    return { ...written, arrow: join(out, 'relevance.arrow'), fs3: join(out, 'fs3.npy') };
  } finally {
    for (const s of shards) s.db.close();
  }
}
