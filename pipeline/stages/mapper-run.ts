/**
 * One mapper training run in a folder of its own, as `styleatlas mapper train` and the catalogue
 * run it: refuse what cannot be done before anything is written, start or continue from the
 * folder's checkpoint (E_RESUME when its inputs differ), train with a checkpoint every K steps,
 * score the held-out codes, write the outputs (stages/mapper-output.ts).
 *
 * The inputs' sha256 (what the checkpoint is checked against) covers everything that determines
 * the weights except the number of steps: there is no learning-rate schedule, so a run resumed
 * with more steps ends where a longer uninterrupted run ends.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { mapperWeightViews } from '../core/mapper.ts';
import type { Encoder } from '../models/encoder.ts';
import type { Generator } from '../models/generator.ts';
import type { Identity } from '../models/identity.ts';
import { type RuntimeOptions, runtimeVersion } from '../models/runtime.ts';
import { toolProvenance } from '../store/provenance.ts';
import { TOOL_VERSION } from '../version.ts';
import { MapperApplier, type MapperScores } from './mapper-apply.ts';
import { CHECKPOINT_FILE, type TrainingState, loadCheckpoint, saveCheckpoint } from './mapper-checkpoint.ts';
import { type CodeSet, describeSource } from './mapper-codes.ts';
import { MAPPER_FILES, writeMapperOutput } from './mapper-output.ts';
import { type MapperSettings, MapperTrainer, checkMapperSettings, checkMapperTarget } from './mapper-train.ts';
import type { ProgressFn } from './progress.ts';

export interface MapperRun {
  gen: Generator;
  /** Its text tower opened (the visual tower is composed into the graphs from its file). */
  enc: Encoder;
  runtime: RuntimeOptions;
  /** An identity bundle for the identity term (settings.lambdaId > 0). */
  identity?: Identity;
  outDir: string;
  resume: boolean;
  settings: MapperSettings;
  checkpointEvery: number;
  train: CodeSet;
  test: CodeSet;
  /** Held-out codes rendered into heldout.png (the first ones). */
  previewCount?: number;
  log?: (m: string) => void;
  onProgress?: ProgressFn;
}

export interface MapperResult {
  state: TrainingState;
  scores: MapperScores;
  files: Record<keyof typeof MAPPER_FILES, string>;
  /** Steps taken by this process (0 when a finished run was resumed). */
  stepsRun: number;
  /** Seconds this process trained, and trained and scored. */
  trainSeconds: number;
  seconds: number;
}

const bundleRef = (b: { manifest: { id: string }; manifestSha256: string }) => ({ id: b.manifest.id, sha256: b.manifestSha256 });

/** What the weights depend on, steps aside. */
export function mapperInputs(r: Pick<MapperRun, 'gen' | 'enc' | 'settings' | 'train' | 'identity'>): Record<string, unknown> {
  const { steps: _steps, ...settings } = r.settings;
  return { tool: TOOL_VERSION, generator: bundleRef(r.gen.bundle), encoder: bundleRef(r.enc.bundle), identity: r.identity ? bundleRef(r.identity.bundle) : null, settings: { ...settings, lambdaId: settings.lambdaId ?? 0 }, trainingCodes: r.train.source };
}

export function sha256Json(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex');
}

/** The folder's state: a fresh start, or the checkpoint to continue from. Nothing is written. */
export function checkMapperFolder(r: Pick<MapperRun, 'outDir' | 'resume' | 'gen' | 'enc' | 'settings' | 'train' | 'identity'>): TrainingState | undefined {
  const { outDir } = r;
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) fail('E_INPUT', `--out ${outDir} exists and is not a folder`);
  const { numWs, wDim } = r.gen.manifest.architecture;
  const ckpt = existsSync(outDir) ? loadCheckpoint(join(outDir, CHECKPOINT_FILE), { numWs, wDim }) : undefined;
  if (!ckpt) {
    if (r.resume) fail('E_RESUME', `${outDir} holds no mapper checkpoint to resume`, 'run without --resume to start');
    if (existsSync(outDir) && readdirSync(outDir).length > 0) fail('E_INPUT', `--out ${outDir} exists, is not empty and holds no mapper checkpoint`, 'choose a new folder');
    return undefined;
  }
  if (!r.resume) fail('E_RESUME', `${outDir} already holds a mapper training run (checkpoint at step ${ckpt.state.step})`, 'add --resume to continue it, or choose a new folder');
  if (ckpt.inputsSha256 !== sha256Json(mapperInputs(r))) {
    fail('E_RESUME', `${outDir}: the checkpoint was trained with other inputs (generator, encoder, identity network, target, learning rate, batch, λ, seed, training codes or tool version) than this command gives`, 'give the same options as the run that wrote it (its provenance.json lists them once it finishes), or choose a new folder');
  }
  if (ckpt.state.step > r.settings.steps) fail('E_RESUME', `the checkpoint is at step ${ckpt.state.step}, past the ${r.settings.steps} steps asked for`, `give --steps ${ckpt.state.step} or more`);
  return ckpt.state;
}

export async function runMapperTraining(r: MapperRun): Promise<MapperResult> {
  const log = r.log ?? (() => {});
  checkMapperSettings(r.settings);
  if ((r.settings.lambdaId ?? 0) > 0 && !r.identity) fail('E_INPUT', `λ_ID is ${r.settings.lambdaId} but no identity network was given`, 'give an identity bundle (--identity DIR), or λ_ID 0');
  if (!Number.isInteger(r.checkpointEvery) || r.checkpointEvery < 1) fail('E_INPUT', `checkpoints every ${r.checkpointEvery} steps: give a positive integer`);
  if (r.test.count < 1) fail('E_INPUT', 'no held-out codes to score the mapper on');
  checkMapperTarget(r.enc, r.settings.target);
  const start = checkMapperFolder(r);
  let trainer: MapperTrainer | undefined = await MapperTrainer.open(r.gen, r.enc, r.runtime, r.identity?.graphFor(r.gen.arch.resolution));
  const shape = trainer.shape;
  let applier: MapperApplier | undefined;
  try {
    const target = await trainer.targetEmbedding(r.settings.target); // prompt checks before anything is written
    const inputsSha256 = sha256Json(mapperInputs(r));
    log(`mapper: "${r.settings.target}", ${describeSource(r.train.source)}, held out ${describeSource(r.test.source)}; ${start ? `resuming at step ${start.step} of ${r.settings.steps}` : `${r.settings.steps} steps`}`);
    mkdirSync(r.outDir, { recursive: true });
    const ckptPath = join(r.outDir, CHECKPOINT_FILE);
    const t0 = performance.now();
    const state = await trainer.train(r.train, r.settings, {
      state: start,
      checkpointEvery: r.checkpointEvery,
      onCheckpoint: (s) => saveCheckpoint(ckptPath, shape, s, inputsSha256),
      onProgress: r.onProgress,
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    const stepsRun = state.step - (start?.step ?? 0);
    await trainer.release(); // the gradient graph's memory, before the scoring sessions take theirs
    trainer = undefined;
    const weights = mapperWeightViews(shape, state.params);
    applier = await MapperApplier.open(r.gen, r.enc, shape, weights, r.runtime);
    const n = Math.min(r.previewCount ?? 8, r.test.count);
    const res = r.gen.arch.resolution;
    const preview = new Float32Array(2 * n * 3 * res * res);
    const scores = await applier.score(r.test, target, {
      onChunk: (first, m, images) => {
        if (first < n) preview.set(images.subarray(0, 2 * Math.min(m, n - first) * 3 * res * res), 2 * first * 3 * res * res);
      },
    });
    const { gen, enc, settings } = r;
    const settingsRecord = { ...settings, lambdaId: settings.lambdaId ?? 0, optimizer: 'Adam (beta1 0.9, beta2 0.999, eps 1e-8), float64 moments, constant learning rate', trainingCodes: r.train.source };
    const files = await writeMapperOutput(r.outDir, {
      shape,
      weights,
      metadata: { target: settings.target, numWs: shape.numWs, wDim: shape.wDim, generator: bundleRef(gen.bundle), encoder: bundleRef(enc.bundle), steps: state.step, settings: settingsRecord, toolVersion: TOOL_VERSION },
      curve: state.curve,
      scores,
      preview: { images: preview, n, resolution: res },
      provenance: {
        method: 'StyleCLIP latent mapper (method 2, Eq. 4-5), official LevelsMapper',
        ...toolProvenance(),
        generator: bundleRef(gen.bundle),
        encoder: bundleRef(enc.bundle),
        identity: r.identity ? bundleRef(r.identity.bundle) : null,
        target: settings.target,
        objective: 'mean over the batch of 1 - cos(E_I(P(G(w + 0.1 M(w)))), E_T(target)) + lambda_l2 * mean((0.1 M(w))^2) + lambda_id * (1 - <R(G(w + 0.1 M(w))), R(G(w))>)',
        settings: settingsRecord,
        steps: state.step,
        heldOutCodes: r.test.source,
        inputsSha256,
      },
      runInfo: { trainSeconds, stepsRun, secondsPerStep: stepsRun > 0 ? trainSeconds / stepsRun : null, resumedAt: start?.step ?? null, device: r.runtime.device ?? 'cpu', threads: r.runtime.threads ?? 0, onnxruntime: runtimeVersion(), finishedAt: new Date().toISOString() },
    });
    return { state, scores, files, stepsRun, trainSeconds, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await trainer?.release();
    await applier?.release();
  }
}
