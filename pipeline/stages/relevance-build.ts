/**
 * A whole relevance build in a folder: configuration checks, style statistics, the chunks of
 * this shard (skipping committed ones on --resume), then the published files.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { Encoder } from '../models/encoder.ts';
import { buildRenderEncodeModel } from '../models/fused.ts';
import { Generator } from '../models/generator.ts';
import { type RuntimeOptions, WorkerSession } from '../models/runtime.ts';
import { BuildDb } from '../store/build-db.ts';
import { toolProvenance } from '../store/provenance.ts';
import { ProgressClock, type ProgressFn } from './progress.ts';
import { computeChunk } from './relevance.ts';
import { RELEVANCE_DEFAULTS, type RelevanceConfig, type Shard, channelsOf, configDifferences, defaultBatch, planChunks, validateConfig } from './relevance-plan.ts';
import { type BuildOutputs, writeBuildOutputs } from './relevance-output.ts';
import { computeStyleStats } from './stats.ts';

export interface RelevanceRun {
  generatorDir: string;
  encoderDir: string;
  outDir: string;
  /** `batch: 'auto'` picks defaultBatch(resolution) for the generator. */
  config: Omit<RelevanceConfig, 'generator' | 'encoder' | 'batch'> & { batch: number | 'auto' };
  shard?: Shard;
  resume: boolean;
  runtime: RuntimeOptions;
  inflight?: number;
  onProgress?: ProgressFn;
  log?: (message: string) => void;
  /** Stop after this many chunks (tests of kill-and-resume); the build stays resumable. */
  maxChunks?: number;
}

export interface RelevanceSummary {
  outDir: string;
  config: RelevanceConfig;
  shard: Shard;
  channels: number;
  chunksDone: number;
  chunksTotal: number;
  complete: boolean;
  renders: number;
  seconds: number;
  rendersPerSecond: number;
  statsSeconds: number;
  outputs?: BuildOutputs;
}

export async function runRelevanceBuild(run: RelevanceRun): Promise<RelevanceSummary> {
  const log = run.log ?? (() => {});
  const shard = run.shard ?? { index: 0, count: 1 };
  const gen = await Generator.open(run.generatorDir, run.runtime);
  let enc: Encoder | undefined;
  let db: BuildDb | undefined;
  let session: WorkerSession | undefined;
  try {
    enc = await Encoder.open(run.encoderDir, { ...run.runtime, parts: [] });
    const config: RelevanceConfig = {
      generator: { id: gen.manifest.id, manifestSha256: gen.bundle.manifestSha256 },
      encoder: { id: enc.manifest.id, manifestSha256: enc.bundle.manifestSha256 },
      ...run.config,
      batch: run.config.batch === 'auto' ? defaultBatch(gen.arch.resolution) : run.config.batch,
    };
    validateConfig(config);
    mkdirSync(run.outDir, { recursive: true });
    db = new BuildDb(join(run.outDir, 'build.sqlite'));
    const stored = db.getMeta('config');
    if (stored) {
      const diff = configDifferences(JSON.parse(stored), config);
      if (diff.length) fail('E_RESUME', `${run.outDir} holds a build with other settings (${diff.join('; ')})`, 'use another --out, or repeat the original settings');
      const storedShard = db.getMeta('shard');
      if (storedShard && storedShard !== JSON.stringify(shard)) fail('E_RESUME', `${run.outDir} holds shard ${storedShard}, not ${JSON.stringify(shard)}`);
      if (!run.resume) fail('E_RESUME', `${run.outDir} already holds a build`, 'pass --resume to continue it, or choose another --out');
    } else {
      db.setMeta({
        config: JSON.stringify(config),
        shard: JSON.stringify(shard),
        layers: JSON.stringify(gen.manifest.layers),
        dim: String(enc.dim),
        started: new Date().toISOString(),
        ...toolProvenance(),
      });
    }
    let statsSeconds = 0;
    if (!db.hasStats()) {
      log(`stats: μ, σ of ${gen.layout.total} style channels over ${config.statsSamples} samples`);
      const st = await computeStyleStats(gen, { samples: config.statsSamples, seed: config.statsSeed, psi: config.psi, onProgress: run.onProgress });
      db.saveStats(st.mu, st.sigma);
      db.addTiming('stats', st.seconds, st.samples);
      statsSeconds = st.seconds;
    }
    const { mu, sigma } = db.loadStats(gen.layout.total);
    const channels = channelsOf(gen.layout, config.channelSet);
    const chunks = planChunks(channels, config.chunkChannels, shard);
    const done = db.doneChunks();
    const todo = chunks.filter((c) => !done.has(c.index));
    const shardChannels = chunks.reduce((s, c) => s + c.channels.length, 0);
    const rendersPerChannel = 2 * config.samples;
    log(`relevance: ${shardChannels} channels (${config.channelSet}${shard.count > 1 ? `, shard ${shard.index}/${shard.count}` : ''}), ${todo.length} of ${chunks.length} chunks to do, ${rendersPerChannel} renders per channel`);
    let renders = 0;
    const t0 = performance.now();
    if (todo.length > 0) {
      // The model's bytes go to the worker in memory: no temporary file to leave behind.
      session = await WorkerSession.open(buildRenderEncodeModel(gen, enc), 'render+encode', run.runtime);
      const doneChannels = shardChannels - todo.reduce((s, c) => s + c.channels.length, 0);
      const clock = new ProgressClock('relevance', todo.reduce((s, c) => s + c.channels.length, 0) * rendersPerChannel, 'renders', run.onProgress);
      let limit = run.maxChunks ?? Number.POSITIVE_INFINITY;
      let channelsNow = doneChannels;
      for (const chunk of todo) {
        if (limit-- <= 0) break;
        const c0 = performance.now();
        const before = renders;
        const rows = await computeChunk(
          { gen, session, config, mu, sigma, dim: enc.dim, inflight: run.inflight ?? RELEVANCE_DEFAULTS.inflight, onRenders: (n) => clock.tick((renders += n), `${channelsNow}/${shardChannels} channels`) },
          chunk,
        );
        db.commitChunk(chunk.index, rows, renders - before, (performance.now() - c0) / 1000);
        channelsNow += chunk.channels.length;
        clock.tick(renders, `${channelsNow}/${shardChannels} channels`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    if (renders > 0) db.addTiming('relevance', seconds, renders, { device: run.runtime.device ?? 'cpu', threads: run.runtime.threads ?? 0, batch: config.batch });
    const doneNow = db.doneChunks();
    const chunksDone = doneNow.size;
    const complete = chunks.every((c) => doneNow.has(c.index));
    let outputs: BuildOutputs | undefined;
    if (complete) {
      const published = existsSync(join(run.outDir, 'relevance.arrow')) && existsSync(join(run.outDir, 'fs3.npy'));
      if (renders > 0 || !published || !db.getMeta('finished')) {
        db.setMeta({ finished: new Date().toISOString() });
        outputs = writeBuildOutputs(run.outDir, db, arrowMetadata(db, config, shard));
      } else {
        // Already finished and published: leave the files (and their sha256) as they are.
        outputs = { arrow: join(run.outDir, 'relevance.arrow'), fs3: join(run.outDir, 'fs3.npy'), channels: db.resultCount() };
      }
    }
    return {
      outDir: run.outDir,
      config,
      shard,
      channels: shardChannels,
      chunksDone,
      chunksTotal: chunks.length,
      complete,
      renders,
      seconds,
      rendersPerSecond: seconds > 0 ? renders / seconds : 0,
      statsSeconds,
      outputs,
    };
  } finally {
    await session?.release();
    db?.close();
    await enc?.release();
    await gen.release();
  }
}

/**
 * Schema metadata of relevance.arrow: what determines its numbers, and nothing else — so a
 * resumed, a sharded-and-merged and an uninterrupted build give the same bytes. When, where and
 * from which commit it ran is in build.sqlite (meta, chunks, timings) and the catalogue.
 */
export function arrowMetadata(db: BuildDb, config: RelevanceConfig, shard: Shard): Record<string, string> {
  const meta = db.allMeta();
  return {
    'styleatlas.format': 'styleatlas-relevance/1',
    'styleatlas.config': JSON.stringify(config),
    'styleatlas.shard': JSON.stringify(shard),
    'styleatlas.generator': `${config.generator.id} ${config.generator.manifestSha256}`,
    'styleatlas.encoder': `${config.encoder.id} ${config.encoder.manifestSha256}`,
    'styleatlas.samples': String(config.samples),
    'styleatlas.alpha_p': String(config.alphaP),
    'styleatlas.psi': String(config.psi),
    'styleatlas.seeds': JSON.stringify({ samples: config.sampleSeed, stats: config.statsSeed, statsSamples: config.statsSamples }),
    'styleatlas.channel_set': config.channelSet,
    'styleatlas.tool': meta.tool ?? '',
  };
}

export function buildExists(dir: string): boolean {
  return existsSync(join(dir, 'build.sqlite'));
}
