/**
 * The catalogue's latent mappers (method 2): for each prompt that asks for one, train it (in the
 * catalogue's work folder, resumable: a catalogue killed mid-training continues from the
 * mapper's checkpoint), render its gallery — the gallery samples, which are held out, at a row of
 * strengths w + α·0.1·M_t(w) — score it, and publish its downloads. Incremental by the hash of
 * everything that determines the mapper and its gallery.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { mapperGroups, mapperParamCount, mapperWeightViews } from '../core/mapper.ts';
import { norm } from '../core/vec.ts';
import type { Encoder } from '../models/encoder.ts';
import type { Generator } from '../models/generator.ts';
import type { RuntimeOptions } from '../models/runtime.ts';
import type { CatalogueDb } from '../store/catalogue-db.ts';
import type { MapperRecord } from '../store/catalogue-schema.ts';
import type { ResolvedPrompt } from '../store/prompts.ts';
import { TOOL_VERSION } from '../version.ts';
import { publishMapperFiles } from './downloads.ts';
import { renderGallery } from './galleries.ts';
import { MapperApplier } from './mapper-apply.ts';
import { CHECKPOINT_FILE, type LossPoint } from './mapper-checkpoint.ts';
import { CodeSet, checkDisjointSeeds, seedRanges } from './mapper-codes.ts';
import { runMapperTraining, sha256Json } from './mapper-run.ts';
import { MAPPER_DEFAULTS, type MapperSettings, checkMapperSettings } from './mapper-train.ts';
import type { ProgressFn } from './progress.ts';

export const MAPPER_CATALOGUE_FORMAT = 'styleatlas-catalogue-mapper/1';
/** Where a catalogue's mapper codes start: training seeds 10000…, held-out seeds 1000… (as `mapper train`'s defaults). */
export const CATALOGUE_MAPPER_SEEDS = Object.freeze({ train: 10_000, test: 1000, trainSamples: 5000, testSamples: 1000 });
export const DEFAULT_STRENGTHS = Object.freeze([0, 0.5, 1, 1.5, 2]);

export interface CatalogueMapperPlan {
  settings: MapperSettings;
  checkpointEvery: number;
  trainSeeds: number[];
  testSeeds: number[];
  strengths: number[];
}

const range = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);

/** A prompt's mapper settings, filled in and checked (E_INPUT) before anything is written. */
export function planCatalogueMapper(p: ResolvedPrompt, gallerySeeds: readonly number[]): CatalogueMapperPlan {
  const m = p.mapper;
  const D = MAPPER_DEFAULTS;
  const settings: MapperSettings = { target: p.target, steps: m.steps ?? D.steps, lr: m.lr ?? D.lr, batch: m.batch ?? D.batch, lambdaL2: m.lambdaL2 ?? D.lambdaL2, seed: m.seed ?? D.seed };
  try {
    checkMapperSettings(settings);
  } catch (e) {
    (e as Error).message = `prompt "${p.id}": mapper: ${(e as Error).message}`;
    throw e;
  }
  const trainSeeds = range(CATALOGUE_MAPPER_SEEDS.train, m.trainSamples ?? CATALOGUE_MAPPER_SEEDS.trainSamples);
  const testSeeds = range(CATALOGUE_MAPPER_SEEDS.test, m.testSamples ?? CATALOGUE_MAPPER_SEEDS.testSamples);
  checkDisjointSeeds(trainSeeds, testSeeds);
  if (gallerySeeds.some((s) => trainSeeds.includes(s))) fail('E_INPUT', `prompt "${p.id}": the gallery seeds ${seedRanges([...gallerySeeds])} are among the mapper's training seeds ${seedRanges(trainSeeds)}`, 'gallery samples must be held out: use gallery seeds below 10000');
  if (settings.batch > trainSeeds.length) fail('E_INPUT', `prompt "${p.id}": mapper batch ${settings.batch} exceeds its ${trainSeeds.length} training samples`);
  return { settings, checkpointEvery: m.checkpointEvery ?? D.checkpointEvery, trainSeeds, testSeeds, strengths: [...(m.strengths ?? DEFAULT_STRENGTHS)] };
}

/** At most `n` points: means over equal spans of steps. */
export function thinCurve(curve: readonly LossPoint[], n = 200): LossPoint[] {
  if (curve.length <= n) return curve.map((p) => ({ ...p }));
  const out: LossPoint[] = [];
  for (let i = 0; i < n; i++) {
    const span = curve.slice(Math.floor((i * curve.length) / n), Math.floor(((i + 1) * curve.length) / n));
    const avg = (k: 'loss' | 'clip' | 'l2') => span.reduce((a, p) => a + p[k], 0) / span.length;
    out.push({ step: span[span.length - 1].step, loss: avg('loss'), clip: avg('clip'), l2: avg('l2') });
  }
  return out;
}

export interface CatalogueMapperJob {
  db: CatalogueDb;
  gen: Generator;
  enc: Encoder;
  runtime: RuntimeOptions;
  buildId: string;
  psi: number;
  promptSet: string;
  p: ResolvedPrompt;
  plan: CatalogueMapperPlan;
  /** t(target) over the templates, for the gallery's score curve (as the directions'). */
  tTarget: Float32Array;
  gallerySeeds: readonly number[];
  inputs: string;
  workDir: string;
  assets: string;
  rel: (path: string) => string;
  log?: (m: string) => void;
  onProgress?: ProgressFn;
}

/** What determines a catalogue mapper and its gallery. */
export function catalogueMapperInputs(j: Pick<CatalogueMapperJob, 'gen' | 'enc' | 'psi' | 'plan' | 'gallerySeeds' | 'promptSet'>, templatesSha: string): string {
  return sha256Json({
    format: MAPPER_CATALOGUE_FORMAT, tool: TOOL_VERSION, generator: j.gen.bundle.manifestSha256, encoder: j.enc.bundle.manifestSha256, psi: j.psi,
    settings: j.plan.settings, train: seedRanges(j.plan.trainSeeds), test: seedRanges(j.plan.testSeeds), strengths: j.plan.strengths,
    gallery: j.gallerySeeds, templates: templatesSha, promptSet: j.promptSet,
  });
}

/** Training folders of `slug` for inputs no longer asked for (all of them when `keep` is undefined). */
export function removeStaleRuns(workDir: string, slug: string, keep?: string): void {
  if (!existsSync(workDir)) return;
  const mine = new RegExp(`^${slug}-[0-9a-f]{12}$`);
  for (const d of readdirSync(workDir)) if (mine.test(d) && join(workDir, d) !== keep) rmSync(join(workDir, d), { recursive: true, force: true });
}

export async function putCatalogueMapper(j: CatalogueMapperJob): Promise<void> {
  const { gen, enc, plan, p } = j;
  const work = join(j.workDir, `${p.id}-${j.inputs.slice(0, 12)}`);
  const result = await runMapperTraining({
    gen, enc, runtime: j.runtime, outDir: work, resume: existsSync(join(work, CHECKPOINT_FILE)), settings: plan.settings, checkpointEvery: plan.checkpointEvery,
    train: await CodeSet.fromSeeds(gen, plan.trainSeeds, j.psi), test: await CodeSet.fromSeeds(gen, plan.testSeeds, j.psi), log: j.log, onProgress: j.onProgress,
  });
  const { numWs, wDim } = gen.manifest.architecture;
  const shape = { numWs, wDim };
  const applier = await MapperApplier.open(gen, enc, shape, mapperWeightViews(shape, result.state.params), j.runtime);
  try {
    const k = j.gallerySeeds.length;
    const ws = (await CodeSet.fromSeeds(gen, j.gallerySeeds, j.psi)).range(0, k);
    const { s, delta } = await applier.editedStyles(ws, k, plan.strengths);
    const gallery = await renderGallery({
      gen, session: applier.renderEncode, codes: s, seeds: j.gallerySeeds, alphas: plan.strengths, tTarget: j.tTarget,
      dir: join(j.assets, 'mapper-gallery', j.buildId, p.id), relative: j.rel,
    });
    const row = delta.length / k;
    const files = publishMapperFiles(join(j.assets, 'mappers', j.buildId), p.id, result.files, j.rel);
    const m = result.scores.mean;
    const pix = ({ red, green, blue, brightness, saturation }: typeof m.before) => ({ red, green, blue, brightness, saturation });
    const record: MapperRecord = {
      buildId: j.buildId, slug: p.id, promptSet: j.promptSet, neutral: p.neutral, target: p.target, tags: p.tags, note: p.note ?? null,
      settings: { ...plan.settings, checkpointEvery: plan.checkpointEvery, trainSeeds: seedRanges(plan.trainSeeds), psi: j.psi, optimizer: 'Adam', lambdaId: 0 },
      steps: result.state.step, groups: mapperGroups(numWs).map((g) => ({ name: g.name, start: g.start, end: g.end })), parameters: mapperParamCount(shape),
      heldOut: { count: result.scores.count, seeds: seedRanges(plan.testSeeds), scoreBefore: m.scoreBefore, scoreAfter: m.scoreAfter, stepNorm: m.stepNorm, improved: result.scores.improved, before: pix(m.before), after: pix(m.after) },
      lossCurve: thinCurve(result.state.curve),
      galleryStrengths: plan.strengths,
      scoreCurve: gallery.scoreCurve.map((c) => ({ strength: c.alpha, score: c.score })),
      pixelCurve: gallery.pixelCurve.map(({ alpha, ...rest }) => ({ strength: alpha, ...rest })),
      stepNorms: Array.from({ length: k }, (_, i) => 0.1 * norm(delta.subarray(i * row, (i + 1) * row))),
      trainSeconds: result.trainSeconds,
      files, inputsSha256: j.inputs,
      gallery: gallery.items.map(({ alpha, ...rest }) => ({ ...rest, strength: alpha })),
    };
    j.db.putMapper(record);
    removeStaleRuns(j.workDir, p.id, work);
  } finally {
    await applier.release();
  }
}
