/**
 * Join shard builds (`relevance --shard i/n`) into one build folder whose outputs equal those of
 * a single uninterrupted build. Refuses missing, duplicated, incomplete or mismatched shards.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import { BuildDb } from '../store/build-db.ts';
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

function openShard(dir: string): ShardBuild {
  const path = join(resolve(dir), 'build.sqlite');
  if (!existsSync(path)) fail('E_SHARD', `${dir} is not a relevance build (no build.sqlite)`);
  const db = new BuildDb(path, { readonly: true });
  const config = db.getMeta('config');
  const shard = db.getMeta('shard');
  if (!config || !shard) fail('E_SHARD', `${dir} has no build configuration`);
  return { dir, db, config: JSON.parse(config), shard: JSON.parse(shard) };
}

export function mergeShards(shardDirs: readonly string[], outDir: string): BuildOutputs {
  if (shardDirs.length === 0) fail('E_USAGE', 'merge needs at least one shard folder');
  const out = resolve(outDir);
  if (existsSync(join(out, 'build.sqlite'))) fail('E_SHARD', `${outDir} already holds a build`, 'merge into a new folder');
  const shards = shardDirs.map(openShard);
  let merged: BuildDb | undefined;
  try {
    const first = shards[0];
    const n = first.shard.count;
    for (const s of shards) {
      const diff = configDifferences(first.config, s.config);
      if (diff.length) fail('E_SHARD', `${s.dir} was built with other settings than ${first.dir}: ${diff.join('; ')}`);
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
    const stats = first.db.loadStats(layout.total);
    for (const s of shards) {
      const planned = planChunks(channels, s.config.chunkChannels, s.shard).map((c) => c.index);
      const done = s.db.doneChunks();
      const left = planned.filter((c) => !done.has(c));
      if (left.length) fail('E_SHARD', `shard ${s.shard.index}/${n} in ${s.dir} is incomplete: ${left.length} of ${planned.length} chunks left`, 'finish it with relevance --resume');
      const st = s.db.loadStats(layout.total);
      if (st.mu.some((v, i) => v !== stats.mu[i]) || st.sigma.some((v, i) => v !== stats.sigma[i])) {
        fail('E_SHARD', `shard ${s.dir} has different style statistics than ${first.dir} (same settings should give the same bytes)`);
      }
    }
    mkdirSync(out, { recursive: true });
    merged = new BuildDb(join(out, 'build.sqlite'));
    const meta = first.db.allMeta();
    const whole: Shard = { index: 0, count: 1 };
    merged.setMeta({ ...meta, shard: JSON.stringify(whole), merged_from: JSON.stringify(shards.map((s) => s.dir)), finished: new Date().toISOString(), ...toolProvenance() });
    merged.saveStats(stats.mu, stats.sigma);
    for (const s of shards) {
      for (const ch of s.db.chunkRecords()) merged.commitChunk(ch.chunk, s.db.chunkResults(ch.chunk), ch.renders, ch.seconds);
      for (const t of s.db.timings()) merged.addTiming(`${t.stage}.shard${s.shard.index}`, t.seconds, t.renders, JSON.parse(t.detail ?? '{}'));
    }
    return writeBuildOutputs(out, merged, arrowMetadata(merged, first.config, whole));
  } finally {
    merged?.close();
    for (const s of shards) s.db.close();
  }
}
