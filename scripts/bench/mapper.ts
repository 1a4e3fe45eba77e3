/**
 * Method 2 in the bench: seconds per training step of the latent mapper (one run of the gradient
 * graph — ws → mapper → w′ → styles → synthesis → preprocessing → image tower → D_CLIP + λ_L2 MSE
 * and back to the mapper's weights — plus the Adam update), as `styleatlas mapper train` takes it,
 * at the official batch of 2 and batched. FLOPs per sample and step ≈ 2 × the forward's, as for
 * method 1: the frozen networks need input gradients only, and the mapper itself is negligible.
 */
import { join } from 'node:path';
import { mapperParamCount } from '../../pipeline/core/mapper.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import type { RuntimeOptions } from '../../pipeline/models/runtime.ts';
import { CodeSet } from '../../pipeline/stages/mapper-codes.ts';
import { MAPPER_DEFAULTS, MapperTrainer } from '../../pipeline/stages/mapper-train.ts';
import { renderFlops } from './flops.ts';
import { type Spread, duration, spread } from './stats.ts';

export interface MapperBenchConfig {
  name: string;
  generator: string;
  encoder: string;
  /** Timed steps per batch size (one more, untimed, warms up). */
  steps: number;
  batches: readonly number[];
}

export interface MapperBenchResult {
  name: string;
  generator: string;
  encoder: string;
  parameters: number;
  forwardFlops: number;
  setupSeconds: number;
  runs: { batch: number; step: Spread; residentBytes: number }[];
}

export async function runMapperBench(root: string, c: MapperBenchConfig, runtime: RuntimeOptions, log: (m: string) => void): Promise<MapperBenchResult> {
  const t0 = performance.now();
  const gen = await Generator.open(join(root, 'models', c.generator), runtime);
  const enc = await Encoder.open(join(root, 'models', c.encoder), { ...runtime, parts: ['text'] });
  const trainer = await MapperTrainer.open(gen, enc, runtime);
  const setupSeconds = (performance.now() - t0) / 1000;
  const runs: MapperBenchResult['runs'] = [];
  try {
    for (const batch of c.batches) {
      log(`method 2: ${c.name}, batch ${batch}: ${c.steps + 1} training steps`);
      const codes = await CodeSet.fromSeeds(gen, Array.from({ length: 2 * batch }, (_, i) => 10_000 + i), MAPPER_DEFAULTS.psi);
      const times: number[] = [];
      await trainer.train(codes, { target: 'a red photo', steps: c.steps + 1, lr: MAPPER_DEFAULTS.lr, batch, lambdaL2: MAPPER_DEFAULTS.lambdaL2, seed: 0 }, {
        checkpointEvery: Number.MAX_SAFE_INTEGER,
        onStep: (_step, s) => times.push(s),
      });
      runs.push({ batch, step: spread(times.slice(1)), residentBytes: process.memoryUsage().rss });
    }
  } finally {
    await trainer.release();
    await enc.release();
    await gen.release();
  }
  const { numWs, wDim } = gen.manifest.architecture;
  return { name: c.name, generator: c.generator, encoder: c.encoder, parameters: mapperParamCount({ numWs, wDim }), forwardFlops: renderFlops(gen.arch, enc.manifest).total, setupSeconds, runs };
}

const ms = duration;

export function mapperSection(r: MapperBenchResult, peak: number): string[] {
  const stepFlops = 2 * r.forwardFlops;
  const lines = [
    `method 2 (latent mapper training): ${r.generator} + ${r.encoder}, ${r.parameters.toLocaleString('en')} mapper weights — gradient graph built and loaded in ${r.setupSeconds.toFixed(1)} s`,
    `  FLOPs per sample and step ≈ ${(stepFlops / 1e9).toPrecision(3)} GFLOP (2 × forward ${(r.forwardFlops / 1e9).toPrecision(3)}); floor ${ms(stepFlops / peak)} per sample and step at the peak`,
    '',
    `  ${'batch'.padEnd(6)} ${'s/step median [min–max]'.padEnd(30)} ${'per sample'.padStart(11)} ${'FLOP/s'.padStart(11)} ${'of peak'.padStart(8)} ${'50 000 steps'.padStart(13)} ${'resident'.padStart(9)}`,
  ];
  for (const run of r.runs) {
    const s = run.step;
    const rate = (stepFlops * run.batch) / s.median;
    const hours = (MAPPER_DEFAULTS.steps * s.median) / 3600;
    lines.push(
      `  ${String(run.batch).padEnd(6)} ${`${ms(s.median)} [${ms(s.min)}–${ms(s.max)}] ×${s.reps}`.padEnd(30)} ${ms(s.median / run.batch).padStart(11)} ${`${(rate / 1e9).toPrecision(3)} G`.padStart(11)} ${`${((100 * rate) / peak).toFixed(0)}%`.padStart(8)} ${`${hours.toFixed(1)} h`.padStart(13)} ${`${(run.residentBytes / 2 ** 30).toFixed(1)} GiB`.padStart(9)}`,
    );
  }
  return lines;
}
