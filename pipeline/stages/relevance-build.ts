/**
 * A whole relevance build in a folder: configuration checks, the folder's lock (one writer),
 * style statistics (a given file, or computed once into the folder), the chunks of this shard
 * (skipping committed ones on --resume, each recorded with where it ran), then the published files.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import { type ExecutionRecord, describeExecution } from '../models/devices.ts';
import { Encoder } from '../models/encoder.ts';
import { type RelevanceRenderer, describeRenderGraph, openRelevanceRenderer, renderGraphFor, renderGraphName } from '../models/fused.ts';
import { Generator } from '../models/generator.ts';
import { type RuntimeOptions, runtimeExecution } from '../models/runtime.ts';
import { BuildDb } from '../store/build-db.ts';
import { FolderLock } from '../store/lock.ts';
import { toolProvenance } from '../store/provenance.ts';
import { checkOutputDir, isDiskFull, outputError } from '../store/output-errors.ts';
import { ProgressClock, type ProgressFn } from './progress.ts';
import { computeChunk } from './relevance.ts';
import { RELEVANCE_DEFAULTS, type RelevanceConfig, type RenderGraphName, type Shard, channelsOf, configDifferences, defaultBatch, planChunks, validateConfig } from './relevance-plan.ts';
import { type BuildOutputs, writeBuildOutputs } from './relevance-output.ts';
import { givenStats, ownStats } from './relevance-stats.ts';

export interface RelevanceRun {
  generatorDir: string;
  encoderDir: string;
  outDir: string;
  /** `batch: 'auto'` picks defaultBatch(resolution) for the generator. The statistics' M and
   *  seed are needed without `statsFile`; with it they are read from the file (and, if given,
   *  must agree with it). */
  config: Omit<RelevanceConfig, 'generator' | 'encoder' | 'batch' | 'statsSamples' | 'statsSeed' | 'statsSha256' | 'renderGraph'> & {
    batch: number | 'auto';
    /** --render-graph (default auto); the config records the one that ran. */
    renderGraph?: RenderGraphName;
    statsSamples?: number;
    statsSeed?: number;
  };
  /** μ, σ from this file (`styleatlas stats`), shared by every shard; without it they are
   *  computed once into the build folder as stats.npz. */
  statsFile?: string;
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
  /** Where this run's chunks ran (undefined when it had no chunk left to compute). */
  execution?: ExecutionRecord;
  /** The render graph they were computed with (describeRenderGraph), as recorded in build.sqlite. */
  renderGraph?: string;
  outputs?: BuildOutputs;
}

export async function runRelevanceBuild(run: RelevanceRun): Promise<RelevanceSummary> {
  const log = run.log ?? (() => {});
  const shard = run.shard ?? { index: 0, count: 1 };
  const shardLabel = `${shard.index}/${shard.count}`;
  checkOutputDir(run.outDir);
  const gen = await Generator.open(run.generatorDir, run.runtime);
  let enc: Encoder | undefined;
  let db: BuildDb | undefined;
  let lock: FolderLock | undefined;
  let renderer: RelevanceRenderer | undefined;
  try {
    enc = await Encoder.open(run.encoderDir, { ...run.runtime, parts: [] });
    const given = givenStats(run, gen, run.config.psi);
    const { renderGraph: wanted, ...asked } = run.config;
    // Before the folder is touched: a render graph that cannot run here is refused with nothing written.
    const render = await renderGraphFor(gen, run.runtime.device ?? 'cpu', wanted ?? RELEVANCE_DEFAULTS.renderGraph, asked.renderTo);
    let config: RelevanceConfig = {
      generator: { id: gen.manifest.id, manifestSha256: gen.bundle.manifestSha256 },
      encoder: { id: enc.manifest.id, manifestSha256: enc.bundle.manifestSha256 },
      ...asked,
      ...(renderGraphName(render) === undefined ? {} : { renderGraph: renderGraphName(render) }),
      statsSamples: given?.provenance.samples ?? run.config.statsSamples!,
      statsSeed: given?.provenance.seed ?? run.config.statsSeed!,
      statsSha256: given?.sha256 ?? '',
      batch: run.config.batch === 'auto' ? defaultBatch(gen.arch.resolution) : run.config.batch,
    };
    validateConfig(config);
    try {
      mkdirSync(run.outDir, { recursive: true });
    } catch (e) {
      throw outputError(e, run.outDir);
    }
    lock = FolderLock.acquire(run.outDir, `relevance --shard ${shardLabel}`);
    const takeOver = lock.takeOverNote();
    if (takeOver) log(`relevance: ${takeOver}`);
    const dbPath = join(run.outDir, 'build.sqlite');
    const { config: stored, shard: storedShard } = existsSync(dbPath) ? storedBuild(dbPath) : {};
    const refuseOther = (c: RelevanceConfig) => {
      const diff = stored ? configDifferences(stored, c) : [];
      const graph = stored && stored.renderGraph !== c.renderGraph /* e.g. begun under auto with another default */ ? ` (its render graph: --render-graph ${stored.renderGraph ?? 'portable'})` : '';
      if (diff.length) fail('E_RESUME', `${run.outDir} holds a build with other settings (${diff.join('; ')})`, `use another --out, or repeat the original settings${graph} (and --stats file)`);
    };
    if (stored) {
      // Settings first, before any statistics are computed, and from a read-only look: a refusal leaves the folder as it was.
      refuseOther({ ...config, statsSha256: given?.sha256 ?? stored.statsSha256 });
      if (storedShard && storedShard !== JSON.stringify(shard)) fail('E_RESUME', `${run.outDir} holds shard ${storedShard}, not ${JSON.stringify(shard)}`);
      if (!run.resume) fail('E_RESUME', `${run.outDir} already holds a build`, 'pass --resume to continue it, or choose another --out');
    }
    db = new BuildDb(dbPath);
    const { stats, seconds: statsSeconds } = given ? { stats: given, seconds: 0 } : await ownStats(run, gen, config, db, log);
    config = { ...config, statsSha256: stats.sha256 };
    if (stored) refuseOther(config);
    else {
      db.setMeta({
        config: JSON.stringify(config),
        shard: JSON.stringify(shard),
        layers: JSON.stringify(gen.manifest.layers),
        dim: String(enc.dim),
        stats: JSON.stringify({ file: given ? resolve(run.statsFile!) : join(run.outDir, 'stats.npz'), sha256: stats.sha256 }),
        started: new Date().toISOString(),
        ...toolProvenance(),
      });
    }
    if (!db.hasStats()) db.saveStats(stats.mu, stats.sigma);
    const { mu, sigma } = db.loadStats(gen.layout.total);
    const channels = channelsOf(gen.layout, config.channelSet);
    const chunks = planChunks(channels, config.chunkChannels, shard);
    const done = db.doneChunks();
    const todo = chunks.filter((c) => !done.has(c.index));
    const shardChannels = chunks.reduce((s, c) => s + c.channels.length, 0);
    const rendersPerChannel = 2 * config.samples;
    log(`relevance: ${shardChannels} channels (${config.channelSet}${shard.count > 1 ? `, shard ${shardLabel}` : ''}), ${todo.length} of ${chunks.length} chunks to do, ${rendersPerChannel} renders per channel`);
    let renders = 0;
    let execution: ExecutionRecord | undefined;
    let renderGraph: string | undefined;
    const t0 = performance.now();
    if (todo.length > 0) {
      renderer = await openRelevanceRenderer(gen, enc, render, config.batch, run.runtime, todo[0].channels[0]);
      const { session, layers, fixedBatch } = renderer;
      execution = runtimeExecution({ ...run.runtime, device: renderer.device });
      renderGraph = describeRenderGraph(render);
      const runId = db.addRun(shardLabel, { ...execution, render: renderGraph });
      log(`relevance: running on ${describeExecution(execution)}; render graph ${renderGraph}`);
      const doneChannels = shardChannels - todo.reduce((s, c) => s + c.channels.length, 0);
      const clock = new ProgressClock('relevance', todo.reduce((s, c) => s + c.channels.length, 0) * rendersPerChannel, 'renders', run.onProgress);
      let limit = run.maxChunks ?? Number.POSITIVE_INFINITY;
      let channelsNow = doneChannels;
      for (const chunk of todo) {
        if (limit-- <= 0) break;
        const c0 = performance.now();
        const before = renders;
        const rows = await computeChunk(
          { gen, session, layers, config, mu, sigma, dim: enc.dim, fixedBatch, inflight: run.inflight ?? RELEVANCE_DEFAULTS.inflight, onRenders: (n) => clock.tick((renders += n), `${channelsNow}/${shardChannels} channels`) },
          chunk,
        );
        db.commitChunk(chunk.index, rows, renders - before, (performance.now() - c0) / 1000, runId);
        channelsNow += chunk.channels.length;
        clock.tick(renders, `${channelsNow}/${shardChannels} channels`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    if (renders > 0) db.addTiming('relevance', seconds, renders, { device: execution?.provider ?? 'cpu', threads: run.runtime.threads ?? 0, batch: config.batch });
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
      execution,
      renderGraph,
      outputs,
    };
  } catch (e) {
    // Chunks are committed one by one: a full disk loses at most the chunk being computed.
    throw isDiskFull(e) ? outputError(e, run.outDir, 'free some space on that disk, then run the same command with --resume: the finished chunks are kept') : e;
  } finally {
    await renderer?.release();
    db?.close();
    lock?.release();
    await enc?.release();
    await gen.release();
  }
}

/** The settings and shard a build folder's database holds, read without writing to it. */
function storedBuild(path: string): { config?: RelevanceConfig; shard?: string } {
  const db = new BuildDb(path, { readonly: true });
  try {
    const config = db.getMeta('config');
    return { config: config === undefined ? undefined : (JSON.parse(config) as RelevanceConfig), shard: db.getMeta('shard') };
  } finally {
    db.close();
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
    'styleatlas.stats_sha256': config.statsSha256,
    'styleatlas.tool': meta.tool ?? '',
  };
}

export function buildExists(dir: string): boolean {
  return existsSync(join(dir, 'build.sqlite'));
}
