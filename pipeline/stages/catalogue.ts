/**
 * The catalogue stage: every direction of a prompt file on a finished build — Δt, Δs, a gallery
 * (K fixed samples × a row of α), measurements along α, downloads — into catalogue.sqlite and
 * an assets folder the site publishes. Incremental: a direction whose inputs did not change is
 * not recomputed. Everything that can be refused is refused before anything is written.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { fail } from '../core/errors.ts';
import { pixelStats, toRGB8 } from '../core/image.ts';
import { dot, norm } from '../core/vec.ts';
import { bundlePath } from '../models/bundle.ts';
import { Encoder } from '../models/encoder.ts';
import { buildRenderEncodeModel } from '../models/fused.ts';
import { Generator } from '../models/generator.ts';
import { TOOL_VERSION } from '../version.ts';
import { ModelSession, type RuntimeOptions } from '../models/runtime.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { CatalogueDb } from '../store/catalogue-db.ts';
import { splitByLayer } from '../store/direction-files.ts';
import { writeDirectionFiles } from '../store/direction-write.ts';
import { encodeRGB } from '../store/images.ts';
import { encodeNpy } from '../store/npy.ts';
import { type ResolvedPrompt, loadPrompts, resolvePrompt } from '../store/prompts.ts';
import { TextCache } from '../store/text-cache.ts';
import { type FinishedBuild, bundleForBuild, openBuild } from './build-reader.ts';
import { directionFromBuild } from './directions.ts';
import { renderCodes, editCodes } from './edits.ts';
import { ProgressClock, type ProgressFn } from './progress.ts';
import { deltaT as computeDeltaT, loadTemplates, templatesSha256 } from './text-directions.ts';

export const CATALOGUE_FORMAT = 'styleatlas-catalogue/1';
/** Browsers get a model file for live edits only below these sizes. */
const LIVE_LIMITS = { synthesis: 32 * 2 ** 20, text: 64 * 2 ** 20 };

export interface CatalogueRun {
  buildDir: string;
  promptsFile: string;
  outDir: string;
  modelsDir: string;
  gallerySeeds: readonly number[];
  galleryColumns: number;
  runtime: RuntimeOptions;
  textCachePath?: string;
  force?: boolean;
  log?: (m: string) => void;
  onProgress?: ProgressFn;
}

export interface CatalogueSummary {
  catalogue: string;
  build: string;
  promptSet: string;
  computed: string[];
  unchanged: string[];
  removed: number;
}

/** α values of a gallery row: evenly over the range, with 0 (the unedited image) included. */
export function galleryAlphas(range: readonly [number, number], columns: number): number[] {
  const [lo, hi] = range;
  const row = Array.from({ length: columns }, (_, i) => +(lo + ((hi - lo) * i) / (columns - 1)).toFixed(6));
  if (lo < 0 && hi > 0 && !row.includes(0)) {
    let k = 0;
    row.forEach((a, i) => (Math.abs(a) < Math.abs(row[k]) ? (k = i) : 0));
    row[k] = 0;
  }
  return row;
}

function sha(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function copyIfChanged(src: string, dst: string): void {
  if (existsSync(dst) && statSync(dst).size === statSync(src).size && readFileSync(dst).equals(readFileSync(src))) return;
  mkdirSync(join(dst, '..'), { recursive: true });
  writeFileAtomic(dst, readFileSync(src));
}

export async function runCatalogue(run: CatalogueRun): Promise<CatalogueSummary> {
  const log = run.log ?? (() => {});
  // 1. Everything that can be refused, before anything is written.
  const build = openBuild(run.buildDir);
  const catalogue = loadPrompts(run.promptsFile);
  const prompts = catalogue.prompts.map((p) => resolvePrompt(catalogue, p));
  if (run.gallerySeeds.length < 1) fail('E_INPUT', 'gallery needs at least one sample seed');
  if (!Number.isInteger(run.galleryColumns) || run.galleryColumns < 2) fail('E_INPUT', `gallery needs at least 2 α columns, got ${run.galleryColumns}`);
  const genDir = bundleForBuild(run.modelsDir, build.config.generator, 'generator');
  const encDir = bundleForBuild(run.modelsDir, build.config.encoder, 'encoder');
  const gen = await Generator.open(genDir, run.runtime);
  const enc = await Encoder.open(encDir, { ...run.runtime, parts: ['text'] });
  const cache = run.textCachePath ? TextCache.open(run.textCachePath) : undefined;
  let session: ModelSession | undefined;
  let db: CatalogueDb | undefined;
  try {
    const templates = loadTemplates();
    const dts = new Map<string, Awaited<ReturnType<typeof computeDeltaT>>>();
    for (const p of prompts) {
      try {
        dts.set(p.id, await computeDeltaT(enc, p.neutral, p.target, { templates, cache }));
      } catch (e) {
        (e as Error).message = `prompt "${p.id}" (${p.neutral} → ${p.target}): ${(e as Error).message}`;
        throw e;
      }
    }
    // 2. The catalogue: models, build, directions.
    mkdirSync(run.outDir, { recursive: true });
    db = new CatalogueDb(join(run.outDir, 'catalogue.sqlite'));
    const rel = (p: string) => relative(run.outDir, p).split('\\').join('/');
    const assets = join(run.outDir, 'assets');
    const live = (id: string, files: [string, string, number][]) => {
      const out: Record<string, string> = {};
      for (const [key, src, limit] of files) {
        if (statSync(src).size > limit) continue;
        const dst = join(assets, 'models', id, key === 'tokenizer' ? 'tokenizer.json' : `${key}.onnx`);
        copyIfChanged(src, dst);
        out[key] = rel(dst);
      }
      return out;
    };
    const gm = gen.manifest;
    const em = enc.manifest;
    db.putModel({ id: gm.id, manifestSha256: gen.bundle.manifestSha256, kind: 'generator', description: gm.description, origin: gm.origin, architecture: gm.architecture, manifest: gm,
      liveAssets: live(gm.id, [['synthesis', bundlePath(gen.bundle, gm.files.synthesis), LIVE_LIMITS.synthesis]]) });
    db.putModel({ id: em.id, manifestSha256: enc.bundle.manifestSha256, kind: 'encoder', description: em.description, origin: em.origin, architecture: em.architecture, manifest: em,
      liveAssets: live(em.id, [['text', bundlePath(enc.bundle, em.files.text), LIVE_LIMITS.text], ['tokenizer', bundlePath(enc.bundle, em.files.tokenizer), Number.POSITIVE_INFINITY]]) });
    const buildAssets = join(assets, 'builds', build.id);
    const base = await gen.stylesForSeeds(run.gallerySeeds, build.config.psi); // [K, C_total]
    const samplesPath = join(buildAssets, 'samples.npy');
    mkdirSync(buildAssets, { recursive: true });
    writeFileAtomic(samplesPath, encodeNpy({ dtype: 'float32', shape: [run.gallerySeeds.length, gen.layout.total], data: base }));
    copyIfChanged(join(build.dir, 'relevance.arrow'), join(buildAssets, 'relevance.arrow'));
    copyIfChanged(join(build.dir, 'fs3.npy'), join(buildAssets, 'fs3.npy'));
    putBuild(db, build, { relevance: rel(join(buildAssets, 'relevance.arrow')), fs3: rel(join(buildAssets, 'fs3.npy')) }, rel(samplesPath), run.gallerySeeds);
    db.putPromptSet({ id: catalogue.id, title: catalogue.title, description: catalogue.description, sha256: sha(catalogue) });

    const tplSha = templatesSha256(templates);
    const summary: CatalogueSummary = { catalogue: join(run.outDir, 'catalogue.sqlite'), build: build.id, promptSet: catalogue.id, computed: [], unchanged: [], removed: 0 };
    const clock = new ProgressClock('catalogue', prompts.length, 'directions', run.onProgress);
    for (const [i, p] of prompts.entries()) {
      const alphas = galleryAlphas(p.alphaRange, run.galleryColumns);
      const inputs = sha({ format: CATALOGUE_FORMAT, tool: TOOL_VERSION, relevance: build.relevanceSha256, generator: gen.bundle.manifestSha256, encoder: enc.bundle.manifestSha256,
        templates: tplSha, prompt: p, alphas, seeds: run.gallerySeeds, psi: build.config.psi, promptSet: catalogue.id });
      const prev = db.directionInputs(build.id, p.id);
      if (!run.force && prev?.inputsSha256 === inputs) {
        summary.unchanged.push(p.id);
        clock.tick(i + 1);
        continue;
      }
      session ??= await ModelSession.open(buildRenderEncodeModel(gen, enc, { withImage: true }), 'render+encode', run.runtime);
      await putDirection(db, { build, gen, session, p, dt: dts.get(p.id)!, alphas, base, seeds: run.gallerySeeds, inputs, promptSet: catalogue.id, outDir: run.outDir, enc });
      summary.computed.push(p.id);
      log(`${p.id}: ${p.neutral} → ${p.target}`);
      clock.tick(i + 1);
    }
    summary.removed = db.pruneDirections(build.id, catalogue.id, new Set(prompts.map((p) => p.id)));
    return summary;
  } finally {
    await session?.release();
    db?.close();
    cache?.close();
    await enc.release();
    await gen.release();
  }
}

function putBuild(db: CatalogueDb, build: FinishedBuild, files: Record<string, string>, samplesFile: string, seeds: readonly number[]): void {
  const t = build.table;
  db.putBuild({
    id: build.id,
    generator: { id: build.config.generator.id, sha256: build.config.generator.manifestSha256 },
    encoder: { id: build.config.encoder.id, sha256: build.config.encoder.manifestSha256 },
    config: { ...build.config, gallerySeeds: seeds },
    provenance: { tool: build.meta.tool, commit: build.meta.commit, started: build.meta.started, finished: build.meta.finished, mergedFrom: build.meta.merged_from },
    timings: build.timings,
    channelSet: build.config.channelSet,
    dim: build.dim,
    relevanceSha256: build.relevanceSha256,
    files,
    samplesFile,
    layers: build.layout.layers,
    channels: Array.from({ length: t.rows }, (_, i) => ({
      channel: t.channel[i], layerIndex: t.layerIndex[i], channelInLayer: t.channelInLayer[i], mu: t.mu[i], sigma: t.sigma[i],
      effect: t.effect[i], consistency: t.consistency[i], degenerate: t.degenerate[i],
    })),
  });
}

interface DirectionJob {
  build: FinishedBuild;
  gen: Generator;
  enc: Encoder;
  session: ModelSession;
  p: ResolvedPrompt;
  dt: Awaited<ReturnType<typeof computeDeltaT>>;
  alphas: number[];
  base: Float32Array;
  seeds: readonly number[];
  inputs: string;
  promptSet: string;
  outDir: string;
}

async function putDirection(db: CatalogueDb, j: DirectionJob): Promise<void> {
  const { build, gen, p, alphas, seeds } = j;
  const d = directionFromBuild(build, j.dt.deltaT, p.beta, p.betaFloor);
  const k = seeds.length;
  const codes = editCodes(j.base, k, d.deltaS, alphas);
  const { images, embeds } = await renderCodes(gen, codes, k * alphas.length, { session: j.session });
  const res = gen.arch.resolution;
  const tile = Math.min(res, 256);
  const dim = build.dim;
  const rel = (path: string) => relative(j.outDir, path).split('\\').join('/');
  const galleryDir = join(j.outDir, 'assets', 'gallery', build.id, p.id);
  const gallery: Parameters<CatalogueDb['putDirection']>[0]['gallery'] = [];
  const scoreSum = new Float64Array(alphas.length);
  const pixels = alphas.map(() => ({ red: 0, green: 0, blue: 0, brightness: 0, saturation: 0 }));
  for (let row = 0; row < k; row++)
    for (let col = 0; col < alphas.length; col++) {
      const n = row * alphas.length + col;
      const rgb = toRGB8(images, n, res, res);
      const path = join(galleryDir, `${row}-${col}.webp`);
      mkdirSync(galleryDir, { recursive: true });
      writeFileAtomic(path, await encodeRGB(rgb, res, res, 'webp', tile / res));
      gallery.push({ sampleSeed: seeds[row], alpha: alphas[col], row, col, path: rel(path), width: tile, height: tile });
      const e = embeds!.subarray(n * dim, (n + 1) * dim);
      scoreSum[col] += dot(e, j.dt.tTarget) / (norm(e) * norm(j.dt.tTarget));
      const st = pixelStats(images, n, res, res);
      for (const key of Object.keys(st) as (keyof typeof st)[]) pixels[col][key] += st[key] / k;
    }
  const layers = gen.layout.layers.map((l) => ({ name: l.name, channels: l.channels }));
  const files = writeDirectionFiles(join(j.outDir, 'assets', 'directions', build.id), p.id, {
    layers: splitByLayer(d.deltaS, layers),
    metadata: {
      neutral: p.neutral, target: p.target, beta: d.beta, alphaRange: p.alphaRange, alphaDefault: p.alpha, activeChannels: d.active,
      generator: { id: build.config.generator.id, sha256: build.config.generator.manifestSha256 },
      encoder: { id: build.config.encoder.id, sha256: build.config.encoder.manifestSha256 },
      buildId: build.id, toolVersion: TOOL_VERSION,
    },
  });
  const byExt = Object.fromEntries(files.map((f) => [f.split('.').pop()!, rel(f)]));
  db.putDirection({
    buildId: build.id, slug: p.id, promptSet: j.promptSet, neutral: p.neutral, target: p.target, tags: p.tags, note: p.note,
    beta: d.beta, betaMode: d.betaMode, betaFloor: p.betaFloor, alphaDefault: p.alpha, alphaRange: p.alphaRange,
    activeChannels: d.active, maxAbsR: d.maxAbsR, deltaT: j.dt.deltaT, deltaTNorm: j.dt.normBefore, deltaTCosine: j.dt.cosine,
    betaCurve: d.betaCurve, galleryAlphas: alphas,
    scoreCurve: alphas.map((alpha, i) => ({ alpha, score: scoreSum[i] / k })),
    pixelCurve: alphas.map((alpha, i) => ({ alpha, ...pixels[i] })),
    files: byExt, inputsSha256: j.inputs,
    channels: d.channels.map((c) => ({ channel: c.channel, layerIndex: c.layerIndex, channelInLayer: c.channelInLayer, r: c.r, deltaS: c.deltaS })),
    gallery,
  });
}
