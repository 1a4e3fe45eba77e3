/**
 * Method 1 in the bench: seconds per optimisation step (one run of the gradient graph — w+ →
 * styles → synthesis → preprocessing → image tower → D_CLIP and back — plus the Adam update), as
 * `styleatlas optimise` takes it, at batch 1 (the official script's one code) and batched, beside a
 * forward-only run of the same objective. FLOPs per step are estimated as 2 × the forward's: the
 * backward needs input gradients only (no weight gradients), one transposed product per product.
 */
import { join } from 'node:path';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { Identity } from '../../pipeline/models/identity.ts';
import type { RuntimeOptions } from '../../pipeline/models/runtime.ts';
import { irSeFlops } from '../../pipeline/onnx/arcface/arch.ts';
import { LatentOptimiser, METHOD1_DEFAULTS } from '../../pipeline/stages/optimise.ts';
import { renderFlops } from './flops.ts';
import { type Spread, duration, spread } from './stats.ts';

export interface OptimiseBenchConfig {
  name: string;
  generator: string;
  encoder: string;
  identity?: string;
  /** Timed steps per batch size (one more, untimed, warms up). */
  steps: number;
  batches: readonly number[];
}

export interface OptimiseRunResult {
  batch: number;
  /** Seconds per step (the whole batch). */
  step: Spread;
  /** Seconds per forward run of the objective (the whole batch). */
  forward: Spread;
  residentBytes: number;
}

export interface OptimiseBenchResult {
  name: string;
  generator: string;
  encoder: string;
  identity?: string;
  /** Forward FLOPs per sample: synthesis + preprocessing + image tower (+ identity network). */
  forwardFlops: number;
  setupSeconds: number;
  runs: OptimiseRunResult[];
}

export async function runOptimiseBench(root: string, c: OptimiseBenchConfig, runtime: RuntimeOptions, log: (m: string) => void): Promise<OptimiseBenchResult> {
  const t0 = performance.now();
  const gen = await Generator.open(join(root, 'models', c.generator), runtime);
  const enc = await Encoder.open(join(root, 'models', c.encoder), runtime);
  const identity = c.identity ? Identity.open(join(root, 'models', c.identity)) : undefined;
  const opt = await LatentOptimiser.open(gen, enc, { runtime, identity: identity?.graphFor(gen.arch.resolution) });
  const setupSeconds = (performance.now() - t0) / 1000;
  const f = renderFlops(gen.arch, enc.manifest);
  const forwardFlops = f.total + (identity ? irSeFlops({ ...identity.manifest.architecture }) : 0);
  const runs: OptimiseRunResult[] = [];
  try {
    for (const batch of c.batches) {
      log(`method 1: ${c.name}, batch ${batch}: ${c.steps + 1} steps`);
      const ws = await gen.wsForSeeds(Array.from({ length: batch }, (_, i) => i), METHOD1_DEFAULTS.psi);
      const run = await opt.optimise(ws, batch, {
        target: 'a red photo',
        steps: c.steps + 1,
        lr: METHOD1_DEFAULTS.lr,
        lambdaL2: METHOD1_DEFAULTS.lambdaL2,
        lambdaId: identity ? 0.1 : 0,
        batch,
      });
      runs.push({ batch, step: spread(run.stepSeconds.slice(1)), forward: spread(run.forwardSeconds), residentBytes: process.memoryUsage().rss });
    }
  } finally {
    await opt.release();
    await enc.release();
    await gen.release();
  }
  return { name: c.name, generator: c.generator, encoder: c.encoder, identity: c.identity, forwardFlops, setupSeconds, runs };
}

const ms = duration;

export function optimiseSection(r: OptimiseBenchResult, peak: number): string[] {
  const stepFlops = 2 * r.forwardFlops;
  const lines = [
    `method 1 (latent optimisation): ${r.generator} + ${r.encoder}${r.identity ? ` + ${r.identity} (identity loss)` : ''} — gradient graph built and loaded in ${r.setupSeconds.toFixed(1)} s`,
    `  FLOPs per sample and step ≈ ${(stepFlops / 1e9).toPrecision(3)} GFLOP (2 × forward ${(r.forwardFlops / 1e9).toPrecision(3)}); floor ${ms(stepFlops / peak)} per sample and step at the peak`,
    '',
    `  ${'batch'.padEnd(6)} ${'s/step median [min–max]'.padEnd(30)} ${'per sample'.padStart(11)} ${'step / forward'.padStart(15)} ${'FLOP/s'.padStart(11)} ${'of peak'.padStart(8)} ${'300 steps'.padStart(10)} ${'resident'.padStart(9)}`,
  ];
  for (const run of r.runs) {
    const s = run.step;
    const rate = (stepFlops * run.batch) / s.median;
    lines.push(
      `  ${String(run.batch).padEnd(6)} ${`${ms(s.median)} [${ms(s.min)}–${ms(s.max)}] ×${s.reps}`.padEnd(30)} ${ms(s.median / run.batch).padStart(11)} ${(s.median / run.forward.median).toFixed(2).padStart(15)} ${`${(rate / 1e9).toPrecision(3)} G`.padStart(11)} ${`${((100 * rate) / peak).toFixed(0)}%`.padStart(8)} ${`${((300 * s.median) / 60).toFixed(1)} min`.padStart(10)} ${`${(run.residentBytes / 2 ** 30).toFixed(1)} GiB`.padStart(9)}`,
    );
  }
  return lines;
}
