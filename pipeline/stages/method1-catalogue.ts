/**
 * Method 1 next to method 3 in the catalogue, as the paper compares them: for each chosen prompt,
 * the gallery samples (same seeds, same ψ) optimised towards the target text by latent optimisation
 * (stages/optimise.ts), with the CLIP score the result reaches — cos(E_I(image), t(target)), the
 * score the galleries report along α — and the time it took, beside the time method 3 takes for the
 * same prompt once the relevance build exists (Δt from the 79 templates, then Δs). Results go to
 * their own tables keyed by (build, slug) (store/catalogue-schema.ts), and are recomputed only when
 * their inputs change.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { directionFromBuild } from '../core/directions.ts';
import { toRGB8 } from '../core/image.ts';
import { dot, norm } from '../core/vec.ts';
import type { Encoder } from '../models/encoder.ts';
import type { Generator } from '../models/generator.ts';
import type { ModelSession, RuntimeOptions } from '../models/runtime.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import type { CatalogueDb } from '../store/catalogue-db.ts';
import type { LatentOptimisationItem } from '../store/catalogue-schema.ts';
import { encodeRGB } from '../store/images.ts';
import { encodeNpy } from '../store/npy.ts';
import type { ResolvedPrompt } from '../store/prompts.ts';
import { TOOL_VERSION } from '../version.ts';
import type { FinishedBuild } from './build-reader.ts';
import { LatentOptimiser, METHOD1_DEFAULTS, type OptimiseRun } from './optimise.ts';
import { type ProgressFn, ProgressClock } from './progress.ts';
import { type DeltaT, deltaT } from './text-directions.ts';

export interface Method1Settings {
  steps: number;
  lr: number;
  lambdaL2: number;
}

export const METHOD1_CATALOGUE_DEFAULTS: Method1Settings = Object.freeze({ steps: METHOD1_DEFAULTS.steps, lr: METHOD1_DEFAULTS.lr, lambdaL2: METHOD1_DEFAULTS.lambdaL2 });

export interface Method1Job {
  db: CatalogueDb;
  build: FinishedBuild;
  gen: Generator;
  enc: Encoder;
  /** The catalogue's render+encode session (outputs image and image_embeds), for the scores. */
  session: () => Promise<ModelSession>;
  prompts: readonly ResolvedPrompt[];
  dts: ReadonlyMap<string, DeltaT>;
  templates: readonly string[];
  templatesSha256: string;
  seeds: readonly number[];
  promptSet: string;
  assets: string;
  rel: (path: string) => string;
  settings: Method1Settings;
  runtime: RuntimeOptions;
  force?: boolean;
  log?: (m: string) => void;
  onProgress?: ProgressFn;
}

/** Mean and per-sample cos(E_I(render of s), t) for s [K, C_total]. */
async function scores(job: Method1Job, s: Float32Array, k: number, t: Float32Array): Promise<number[]> {
  const out = await (await job.session()).run(job.gen.synthesisFeeds(s, k), ['image_embeds']);
  const e = out.image_embeds.data as Float32Array;
  const d = t.length;
  return Array.from({ length: k }, (_, i) => dot(e.subarray(i * d, (i + 1) * d), t) / (norm(e.subarray(i * d, (i + 1) * d)) * norm(t)));
}

/** What method 3 costs for one prompt on a finished build: t(neutral), t(target) over the templates, Δt, Δs. */
async function directionSeconds(job: Method1Job, p: ResolvedPrompt): Promise<number> {
  const t0 = performance.now();
  const dt = await deltaT(job.enc, p.neutral, p.target, { templates: job.templates });
  directionFromBuild(job.build.relevance, dt.deltaT, p.beta, p.betaFloor);
  return (performance.now() - t0) / 1000;
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

function lossCurve(run: OptimiseRun): { step: number; loss: number; clip: number; l2: number }[] {
  const last = run.curve.length - 1;
  return run.curve.filter((p, i) => i % 10 === 0 || i === last).map((p) => ({ step: p.step, loss: mean(p.loss), clip: mean(p.clip), l2: mean(p.l2) }));
}

export async function runMethod1(job: Method1Job): Promise<{ computed: string[]; unchanged: string[] }> {
  const { build, gen, enc, seeds, settings } = job;
  const k = seeds.length;
  const res = gen.arch.resolution;
  const tile = Math.min(res, 256);
  const result = { computed: [] as string[], unchanged: [] as string[] };
  const clock = new ProgressClock('method 1', job.prompts.length, 'prompts', job.onProgress);
  let opt: LatentOptimiser | undefined;
  try {
    for (const [n, p] of job.prompts.entries()) {
      const inputs = createHash('sha256')
        .update(JSON.stringify({ tool: TOOL_VERSION, method: 1, generator: gen.bundle.manifestSha256, encoder: enc.bundle.manifestSha256, target: p.target,
          neutral: p.neutral, beta: p.beta, settings, seeds, psi: build.config.psi, templates: job.templatesSha256 }))
        .digest('hex');
      if (!job.force && job.db.latentOptimisationInputs(build.id, p.id) === inputs) {
        result.unchanged.push(p.id);
        clock.tick(n + 1);
        continue;
      }
      opt ??= await LatentOptimiser.open(gen, enc, { runtime: job.runtime });
      const wsStart = await gen.wsForSeeds(seeds, build.config.psi);
      const run = await opt.optimise(wsStart, k, { target: p.target, ...settings, lambdaId: 0, batch: k }, undefined);
      const tTarget = job.dts.get(p.id)!.tTarget;
      const before = await scores(job, await gen.styles(wsStart, k), k, tTarget);
      const after = await scores(job, await gen.styles(run.ws, k), k, tTarget);
      const dir = join(job.assets, 'method1', build.id, p.id);
      const last = run.curve[run.curve.length - 1];
      const items: LatentOptimisationItem[] = [];
      for (let row = 0; row < k; row++) {
        const paths = [`${row}-before.webp`, `${row}-after.webp`].map((f) => join(dir, f));
        writeFileAtomic(paths[0], await encodeRGB(toRGB8(run.before, row, res, res), res, res, 'webp', tile / res));
        writeFileAtomic(paths[1], await encodeRGB(toRGB8(run.after, row, res, res), res, res, 'webp', tile / res));
        items.push({ row, sampleSeed: seeds[row], beforePath: job.rel(paths[0]), afterPath: job.rel(paths[1]), width: tile, height: tile,
          scoreBefore: before[row], scoreAfter: after[row], clipLoss: last.clip[row], l2: last.l2[row] });
      }
      const codes = join(dir, 'ws.npy');
      writeFileAtomic(codes, encodeNpy({ dtype: 'float32', shape: [k, gen.manifest.architecture.numWs, gen.manifest.architecture.wDim], data: run.ws }));
      const steps = [...run.stepSeconds].sort((a, b) => a - b);
      job.db.putLatentOptimisation({
        buildId: build.id, slug: p.id, promptSet: job.promptSet, target: p.target,
        settings: { ...settings, lambdaId: 0, identity: null, batch: k },
        seconds: run.seconds, secondsPerStep: steps[steps.length >> 1], directionSeconds: await directionSeconds(job, p),
        scoreBefore: mean(before), scoreAfter: mean(after), lossCurve: lossCurve(run), codesFile: job.rel(codes), inputsSha256: inputs, items,
      });
      result.computed.push(p.id);
      job.log?.(`${p.id}: method 1 "${p.target}": score ${mean(before).toFixed(3)} → ${mean(after).toFixed(3)} in ${run.seconds.toFixed(1)} s`);
      clock.tick(n + 1);
    }
  } finally {
    await opt?.release();
  }
  return result;
}
