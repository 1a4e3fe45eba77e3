/**
 * The catalogue stage: every direction of a prompt file on a finished build — Δt, Δs, its gallery
 * (stages/galleries.ts) and downloads (stages/downloads.ts) — and every latent mapper it asks for
 * (stages/catalogue-mappers.ts), into catalogue.sqlite and an assets folder the site publishes. Incremental: a direction whose inputs did not change is not
 * recomputed. Everything that can be refused is refused before anything is written.
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { directionFromBuild } from '../core/directions.ts';
import { fail } from '../core/errors.ts';
import { bundlePath } from '../models/bundle.ts';
import { Encoder } from '../models/encoder.ts';
import { buildRenderEncodeModel } from '../models/fused.ts';
import { Generator } from '../models/generator.ts';
import { ModelSession, type RuntimeOptions } from '../models/runtime.ts';
import { CatalogueDb } from '../store/catalogue-db.ts';
import { type ResolvedPrompt, loadPrompts, resolvePrompt } from '../store/prompts.ts';
import { TextCache } from '../store/text-cache.ts';
import { checkOutputDir, outputError } from '../store/output-errors.ts';
import { TOOL_VERSION } from '../version.ts';
import { type FinishedBuild, bundleForBuild, openBuild } from './build-reader.ts';
import { LIVE_LIMITS, publishBuildFiles, publishDirectionFiles, publishLiveAssets, publishLiveText } from './downloads.ts';
import { chooseLiveTextTower, describeLiveText } from './live-text.ts';
import { catalogueMapperInputs, planCatalogueMapper, putCatalogueMapper, removeStaleRuns } from './catalogue-mappers.ts';
import { editCodes } from './edits.ts';
import { checkMapperTarget } from './mapper-train.ts';
import { galleryAlphas, renderGallery } from './galleries.ts';
import { type Method1Settings, runMethod1 } from './method1-catalogue.ts';
import { ProgressClock, type ProgressFn } from './progress.ts';
import { type DeltaT, deltaT as computeDeltaT, loadTemplates, templatesSha256 } from './text-directions.ts';

export const CATALOGUE_FORMAT = 'styleatlas-catalogue/1';

export interface CatalogueRun {
  buildDir: string;
  promptsFile: string;
  outDir: string;
  modelsDir: string;
  gallerySeeds: readonly number[];
  galleryColumns: number;
  runtime: RuntimeOptions;
  textCachePath?: string;
  /** Also run method 1 (latent optimisation) on the gallery samples of these prompts (all when `prompts` is absent). */
  method1?: { settings: Method1Settings; prompts?: readonly string[] };
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
  method1?: { computed: string[]; unchanged: string[] };
  /** The same for latent mappers (prompts of kind "mapper"). */
  mappers: { computed: string[]; unchanged: string[]; removed: number };
  /** Model files too large for the live pages, each a sentence saying which and why (downloads.ts publishLiveAssets). */
  liveLeftOut: string[];
  /** The live box's text tower, in one sentence (which, its size, its measured agreement). */
  liveText: string;
}

function sha(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export async function runCatalogue(run: CatalogueRun): Promise<CatalogueSummary> {
  const log = run.log ?? (() => {});
  // 1. Everything that can be refused, before anything is written.
  checkOutputDir(run.outDir);
  const build = openBuild(run.buildDir);
  const catalogue = loadPrompts(run.promptsFile);
  const all = catalogue.prompts.map((p) => resolvePrompt(catalogue, p));
  const prompts = all.filter((p) => p.kinds.includes('direction'));
  if (run.gallerySeeds.length < 1) fail('E_INPUT', 'gallery needs at least one sample seed');
  const mapperPlans = new Map(all.filter((p) => p.kinds.includes('mapper')).map((p) => [p.id, { p, plan: planCatalogueMapper(p, run.gallerySeeds) }]));
  if (!Number.isInteger(run.galleryColumns) || run.galleryColumns < 2) fail('E_INPUT', `gallery needs at least 2 α columns, got ${run.galleryColumns}`);
  const unknown = (run.method1?.prompts ?? []).filter((id) => !prompts.some((p) => p.id === id));
  if (unknown.length) fail('E_INPUT', `method 1: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not in ${catalogue.id}`, `its prompts: ${prompts.map((p) => p.id).join(', ')}`);
  const genDir = bundleForBuild(run.modelsDir, build.config.generator, 'generator');
  const encDir = bundleForBuild(run.modelsDir, build.config.encoder, 'encoder');
  const gen = await Generator.open(genDir, run.runtime);
  const enc = await Encoder.open(encDir, { ...run.runtime, parts: ['text'] });
  const cache = run.textCachePath ? TextCache.open(run.textCachePath) : undefined;
  let session: ModelSession | undefined;
  let db: CatalogueDb | undefined;
  try {
    const templates = loadTemplates();
    const dts = new Map<string, DeltaT>();
    for (const p of all) {
      try {
        if (p.kinds.includes('mapper')) checkMapperTarget(enc, p.target);
        dts.set(p.id, await computeDeltaT(enc, p.neutral, p.target, { templates, cache }));
      } catch (e) {
        (e as Error).message = `prompt "${p.id}" (${p.neutral} → ${p.target}): ${(e as Error).message}`;
        throw e;
      }
    }
    // The live box's text tower: float32 when it fits, else an int8 copy checked on these prompts.
    const textPath = bundlePath(enc.bundle, enc.manifest.files.text);
    const liveText = await chooseLiveTextTower(enc, textPath, LIVE_LIMITS.text, all.map((p) => ({ neutral: p.neutral, target: p.target })), { templates, cache, runtime: run.runtime, promptSet: catalogue.id });
    // 2. The catalogue: models, build, directions.
    try {
      mkdirSync(run.outDir, { recursive: true });
    } catch (e) {
      throw outputError(e, run.outDir);
    }
    db = new CatalogueDb(join(run.outDir, 'catalogue.sqlite'));
    const rel = (p: string) => relative(run.outDir, p).split('\\').join('/');
    const assets = join(run.outDir, 'assets');
    const gm = gen.manifest;
    const em = enc.manifest;
    const liveLeftOut: string[] = [];
    db.putModel({ id: gm.id, manifestSha256: gen.bundle.manifestSha256, kind: 'generator', description: gm.description, origin: gm.origin, architecture: gm.architecture, manifest: gm,
      liveAssets: publishLiveAssets(assets, [
        { key: 'synthesis', modelId: gm.id, path: bundlePath(gen.bundle, gm.files.synthesis) },
        { key: 'styles', modelId: gm.id, path: bundlePath(gen.bundle, gm.files.styles) },
      ], rel, liveLeftOut) });
    db.putModel({ id: em.id, manifestSha256: enc.bundle.manifestSha256, kind: 'encoder', description: em.description, origin: em.origin, architecture: em.architecture, manifest: em,
      liveAssets: { ...publishLiveText(assets, em.id, textPath, liveText, rel, liveLeftOut), ...publishLiveAssets(assets, [{ key: 'tokenizer', modelId: em.id, path: bundlePath(enc.bundle, em.files.tokenizer) }], rel, liveLeftOut) } });
    const baseWs = await gen.wsForSeeds(run.gallerySeeds, build.config.psi); // [K, num_ws, w_dim]
    const base = await gen.styles(baseWs, run.gallerySeeds.length); // [K, C_total]
    const { numWs, wDim } = gm.architecture;
    const files = publishBuildFiles(join(assets, 'builds', build.id), build.dir, { codes: base, count: run.gallerySeeds.length, total: gen.layout.total, ws: baseWs, numWs, wDim }, rel);
    putBuild(db, build, { relevance: files.relevance, fs3: files.fs3, samplesWs: files.samplesWs }, files.samples, run.gallerySeeds);
    db.putPromptSet({ id: catalogue.id, title: catalogue.title, description: catalogue.description, sha256: sha(catalogue) });

    const tplSha = templatesSha256(templates);
    const summary: CatalogueSummary = { catalogue: join(run.outDir, 'catalogue.sqlite'), build: build.id, promptSet: catalogue.id, computed: [], unchanged: [], removed: 0, mappers: { computed: [], unchanged: [], removed: 0 }, liveLeftOut, liveText: describeLiveText(em.id, liveText) };
    const clock = new ProgressClock('catalogue', prompts.length, 'directions', run.onProgress);
    for (const [i, p] of prompts.entries()) {
      const alphas = galleryAlphas(p.alphaRange, run.galleryColumns);
      const inputs = sha({ format: CATALOGUE_FORMAT, tool: TOOL_VERSION, relevance: build.relevanceSha256, generator: gen.bundle.manifestSha256, encoder: enc.bundle.manifestSha256,
        templates: tplSha, prompt: directionPrompt(p), alphas, seeds: run.gallerySeeds, psi: build.config.psi, promptSet: catalogue.id });
      const prev = db.directionInputs(build.id, p.id);
      if (!run.force && prev?.inputsSha256 === inputs) {
        summary.unchanged.push(p.id);
        clock.tick(i + 1);
        continue;
      }
      session ??= await ModelSession.open(buildRenderEncodeModel(gen, enc, { withImage: true }), 'render+encode', run.runtime);
      await putDirection(db, { build, gen, session, p, dt: dts.get(p.id)!, alphas, base, seeds: run.gallerySeeds, inputs, promptSet: catalogue.id, assets, rel });
      summary.computed.push(p.id);
      log(`${p.id}: ${p.neutral} → ${p.target}`);
      clock.tick(i + 1);
    }
    summary.removed = db.pruneDirections(build.id, catalogue.id, new Set(prompts.map((p) => p.id)));
    if (run.method1) {
      const chosen = run.method1.prompts ? prompts.filter((p) => run.method1!.prompts!.includes(p.id)) : prompts;
      summary.method1 = await runMethod1({
        db, build, gen, enc, prompts: chosen, dts, templates, templatesSha256: tplSha, seeds: run.gallerySeeds, promptSet: catalogue.id, assets, rel,
        settings: run.method1.settings, runtime: run.runtime, force: run.force, log, onProgress: run.onProgress,
        session: async () => (session ??= await ModelSession.open(buildRenderEncodeModel(gen, enc, { withImage: true }), 'render+encode', run.runtime)),
      });
    }
    for (const { p, plan } of mapperPlans.values()) {
      const job = { db, gen, enc, runtime: run.runtime, buildId: build.id, psi: build.config.psi, promptSet: catalogue.id, p, plan, tTarget: dts.get(p.id)!.tTarget,
        gallerySeeds: run.gallerySeeds, workDir: join(run.outDir, 'work', 'mappers', build.id), assets, rel, log, onProgress: run.onProgress };
      const inputs = catalogueMapperInputs(job, tplSha);
      if (!run.force && db.mapperInputs(build.id, p.id)?.inputsSha256 === inputs) {
        summary.mappers.unchanged.push(p.id);
        continue;
      }
      await putCatalogueMapper({ ...job, inputs });
      summary.mappers.computed.push(p.id);
      log(`${p.id}: mapper for "${p.target}" (${plan.settings.steps} steps)`);
    }
    const before = new Set(db.slugs('mappers', build.id, catalogue.id));
    summary.mappers.removed = db.prune('mappers', build.id, catalogue.id, new Set(mapperPlans.keys()));
    for (const slug of before) if (!mapperPlans.has(slug)) removeStaleRuns(join(run.outDir, 'work', 'mappers', build.id), slug);
    return summary;
  } finally {
    await session?.release();
    db?.close();
    cache?.close();
    await enc.release();
    await gen.release();
  }
}

/** The prompt's fields a direction depends on (not its kinds or mapper settings). */
function directionPrompt(p: ResolvedPrompt): Omit<ResolvedPrompt, 'kinds' | 'mapper'> {
  const { kinds: _kinds, mapper: _mapper, ...rest } = p;
  return rest;
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
  session: ModelSession;
  p: ResolvedPrompt;
  dt: DeltaT;
  alphas: number[];
  base: Float32Array;
  seeds: readonly number[];
  inputs: string;
  promptSet: string;
  assets: string;
  rel: (path: string) => string;
}

async function putDirection(db: CatalogueDb, j: DirectionJob): Promise<void> {
  const { build, gen, p, alphas } = j;
  const d = directionFromBuild(build.relevance, j.dt.deltaT, p.beta, p.betaFloor);
  const gallery = await renderGallery({
    gen, session: j.session, codes: editCodes(j.base, j.seeds.length, d.deltaS, alphas), seeds: j.seeds, alphas, tTarget: j.dt.tTarget,
    dir: join(j.assets, 'gallery', build.id, p.id), relative: j.rel,
  });
  const files = publishDirectionFiles(join(j.assets, 'directions', build.id), p.id, d.deltaS, gen.layout.layers, {
    neutral: p.neutral, target: p.target, beta: d.beta, alphaRange: p.alphaRange, alphaDefault: p.alpha, activeChannels: d.active,
    generator: { id: build.config.generator.id, sha256: build.config.generator.manifestSha256 },
    encoder: { id: build.config.encoder.id, sha256: build.config.encoder.manifestSha256 },
    buildId: build.id, toolVersion: TOOL_VERSION,
  }, j.rel);
  db.putDirection({
    buildId: build.id, slug: p.id, promptSet: j.promptSet, neutral: p.neutral, target: p.target, tags: p.tags, note: p.note ?? null,
    beta: d.beta, betaMode: d.betaMode, betaFloor: p.betaFloor, alphaDefault: p.alpha, alphaRange: p.alphaRange,
    activeChannels: d.active, maxAbsR: d.maxAbsR, deltaT: j.dt.deltaT, deltaTNorm: j.dt.normBefore, deltaTCosine: j.dt.cosine,
    betaCurve: d.betaCurve, galleryAlphas: alphas, scoreCurve: gallery.scoreCurve, pixelCurve: gallery.pixelCurve,
    files, inputsSha256: j.inputs, channels: d.channels, gallery: gallery.items,
  });
}
