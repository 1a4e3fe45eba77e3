/**
 * StyleCLIP method 2: training a latent mapper M_t for one text prompt (the seed's Eq. 4–5), on
 * gradients of our own graphs (pipeline/onnx/mapper-loss.ts) with Adam (pipeline/core/adam.ts):
 *
 *   for each step: a batch of training codes (seeded order, core/mapper.ts trainingBatch) →
 *   loss = mean_b D_CLIP(G(w + 0.1 M_t(w)), t) + λ_L2 MSE(0.1 M_t(w)) (+ λ_ID L_ID) → ∂loss/∂weights → Adam
 *
 * Official defaults (mapper/options/train_options.py) where they exist: learning rate 0.5, batch 2,
 * 50 000 steps, λ_L2 0.8, λ_ID 0.1 (with an identity bundle; 0 without), 5 000 training and 1 000 held-out
 * codes sampled at ψ 0.7, a checkpoint every 2 000 steps. Differences, on purpose: Adam where the
 * official default optimiser is Ranger (its `--optim_name adam` choice); StyleAtlas's CLIP
 * preprocessing and D_CLIP = 1 − cos (as method 1, latent-loss.ts says why); the target embedding
 * is E_T of the prompt itself, as the official trainer tokenizes its description.
 */
import { Adam } from '../core/adam.ts';
import { fail } from '../core/errors.ts';
import { type MapperShape, flattenMapperWeights, initialMapperWeights, mapperParamSpec, trainingBatch } from '../core/mapper.ts';
import type { Encoder } from '../models/encoder.ts';
import type { Generator } from '../models/generator.ts';
import { encoderGraphs, generatorGraphs } from '../models/latent-graphs.ts';
import { ModelSession, type RuntimeOptions, type TensorValue, float32 } from '../models/runtime.ts';
import type { IdentityGraph } from '../onnx/latent-loss.ts';
import { MAPPER_LOSS_INPUTS as I, MAPPER_LOSS_OUTPUTS as O, buildIdentityFeatures, buildMapperGradient, mapperGradName, mapperShapeOf } from '../onnx/mapper-loss.ts';
import { checkNotEmpty, checkPromptLength } from '../text/templates.ts';
import type { CodeSet } from './mapper-codes.ts';
import type { LossPoint, TrainingState } from './mapper-checkpoint.ts';
import { ProgressClock, type ProgressFn } from './progress.ts';
import { textTower } from './text-directions.ts';

export const MAPPER_DEFAULTS = Object.freeze({
  steps: 50_000,
  lr: 0.5,
  batch: 2,
  lambdaL2: 0.8,
  /** With an identity network only (faces); 0 without one. */
  lambdaId: 0.1,
  trainSeeds: '10000-14999',
  testSeeds: '1000-1999',
  psi: 0.7,
  checkpointEvery: 2000,
  seed: 0,
});

/** What determines the trained weights (with the codes, the generator and the encoder). */
export interface MapperSettings {
  target: string;
  steps: number;
  lr: number;
  batch: number;
  lambdaL2: number;
  /** Needs an identity network (MapperTrainer.open) when > 0; absent is 0. */
  lambdaId?: number;
  /** Seeds the initial weights and the order of training batches. */
  seed: number;
}

export function checkMapperSettings(s: MapperSettings): void {
  if (!Number.isInteger(s.steps) || s.steps < 1) fail('E_INPUT', `steps must be a positive integer, got ${s.steps}`);
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) fail('E_INPUT', `the learning rate must be a positive number, got ${s.lr}`);
  for (const [name, v] of [['λ_L2', s.lambdaL2], ['λ_ID', s.lambdaId ?? 0]] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) fail('E_INPUT', `${name} must be a number ≥ 0, got ${v}`);
  }
  if (!Number.isInteger(s.batch) || s.batch < 1) fail('E_INPUT', `batch must be a positive integer, got ${s.batch}`);
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed >= 2 ** 31) fail('E_INPUT', `seed must be an integer in [0, 2^31), got ${s.seed}`);
}

/** The target prompt: not empty, and within CLIP's 77 tokens (E_PROMPT otherwise). */
export function checkMapperTarget(enc: Encoder, target: string): void {
  checkNotEmpty(target, 'target');
  checkPromptLength(textTower(enc), target, ['{}']);
}

/** A fresh run's state: the official initial weights for `seed`, Adam's zero moments, step 0. */
export function initialTrainingState(shape: MapperShape, seed: number): TrainingState {
  const params = flattenMapperWeights(shape, initialMapperWeights(shape, seed));
  return { step: 0, params, adam: new Adam(params.length).state(), curve: [] };
}

export interface TrainOptions {
  /** Continue from this state (a checkpoint); a fresh run starts from initialTrainingState. */
  state?: TrainingState;
  checkpointEvery: number;
  /** Called with a copy of the state every `checkpointEvery` steps and after the last one. */
  onCheckpoint?: (s: TrainingState) => void;
  onProgress?: ProgressFn;
  /** Seconds each step took (the gradient graph's run and Adam's update), for benchmarks. */
  onStep?: (step: number, seconds: number) => void;
}

const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;

export class MapperTrainer {
  private constructor(
    readonly gen: Generator,
    readonly enc: Encoder,
    readonly shape: MapperShape,
    private readonly gradient: ModelSession,
    /** R(G(w)) of training codes, with an identity network. */
    private readonly identity?: { embedDim: number; session: ModelSession },
  ) {}

  /** Builds the loss's gradient graph for a generator, an encoder (its text tower opened) and an optional identity network. */
  static async open(gen: Generator, enc: Encoder, runtime: RuntimeOptions = {}, identity?: IdentityGraph): Promise<MapperTrainer> {
    const gg = generatorGraphs(gen);
    const shape = mapperShapeOf(gg);
    const grad = buildMapperGradient(gg, encoderGraphs(enc, gen.arch.resolution), initialMapperWeights(shape, 0), identity);
    const session = await ModelSession.open(grad.builder.toBytes(), 'mapper gradient', runtime);
    const features = identity && { embedDim: identity.embedDim, session: await ModelSession.open(buildIdentityFeatures(gg, identity).toBytes(), 'identity features', runtime) };
    return new MapperTrainer(gen, enc, shape, session, features);
  }

  /** R(G(w)) [B, E] of training codes, computed once per code and kept (the codes do not change). */
  private async identityFeatures(codes: CodeSet, indices: readonly number[], cache: Map<number, Float32Array>): Promise<Float32Array> {
    const id = this.identity!;
    const missing = [...new Set(indices.filter((i) => !cache.has(i)))];
    if (missing.length > 0) {
      const { numWs, wDim } = this.shape;
      const out = await id.session.run({ [I.ws]: float32(codes.gather(missing), [missing.length, numWs, wDim]) });
      const f = out.id_features.data as Float32Array;
      missing.forEach((i, b) => cache.set(i, f.slice(b * id.embedDim, (b + 1) * id.embedDim)));
    }
    const all = new Float32Array(indices.length * id.embedDim);
    indices.forEach((i, b) => all.set(cache.get(i)!, b * id.embedDim));
    return all;
  }

  /** E_T(target) [1, D] of the prompt itself, after the prompt checks. */
  async targetEmbedding(target: string): Promise<Float32Array> {
    checkMapperTarget(this.enc, target);
    return this.enc.encodeTokenIds(this.enc.tokenizer.encodeBatch([target]).ids, 1);
  }

  async train(codes: CodeSet, s: MapperSettings, opts: TrainOptions): Promise<TrainingState> {
    checkMapperSettings(s);
    if (codes.numWs !== this.shape.numWs || codes.wDim !== this.shape.wDim) fail('E_SHAPE', `training codes are [K, ${codes.numWs}, ${codes.wDim}]; the generator needs [K, ${this.shape.numWs}, ${this.shape.wDim}]`);
    if (codes.count < s.batch) fail('E_INPUT', `${codes.count} training codes cannot fill one batch of ${s.batch}`);
    if ((s.lambdaId ?? 0) > 0 && !this.identity) fail('E_INPUT', `λ_ID is ${s.lambdaId} but no identity network was given`, 'give an identity bundle (--identity DIR), or λ_ID 0');
    const start = opts.state ?? initialTrainingState(this.shape, s.seed);
    if (start.step > s.steps) fail('E_RESUME', `the checkpoint is at step ${start.step}, past the ${s.steps} steps asked for`, `give --steps ${start.step} or more`);
    const target = await this.targetEmbedding(s.target);
    const spec = [...mapperParamSpec(this.shape)];
    const params = Float32Array.from(start.params);
    const adam = new Adam(params.length);
    adam.restore(start.adam);
    const curve: LossPoint[] = [...start.curve];
    const grad = new Float32Array(params.length);
    const clock = new ProgressClock('mapper train', s.steps - start.step, 'steps', opts.onProgress);
    const fixed: Record<string, TensorValue> = {
      [I.target]: float32(target, [1, target.length]),
      [I.lambdaL2]: float32(Float32Array.of(s.lambdaL2), []),
      ...(this.identity ? { [I.lambdaId]: float32(Float32Array.of(s.lambdaId ?? 0), []) } : {}),
    };
    const idCache = new Map<number, Float32Array>();
    const snapshot = (step: number): TrainingState => ({ step, params: Float32Array.from(params), adam: adam.state(), curve: [...curve] });
    for (let step = start.step; step < s.steps; step++) {
      const t0 = performance.now();
      const batch = trainingBatch(s.seed, step, codes.count, s.batch);
      const feeds: Record<string, TensorValue> = { ...fixed, [I.ws]: float32(codes.gather(batch), [s.batch, this.shape.numWs, this.shape.wDim]) };
      if (this.identity) feeds[I.idStart] = float32(await this.identityFeatures(codes, batch, idCache), [s.batch, this.identity.embedDim]);
      let at = 0;
      for (const [name, dims] of spec) {
        const n = dims.reduce((a, b) => a * b, 1);
        feeds[name] = float32(params.subarray(at, at + n), dims);
        at += n;
      }
      const out = await this.gradient.run(feeds);
      at = 0;
      for (const [name] of spec) {
        const g = out[mapperGradName(name)].data as Float32Array;
        grad.set(g, at);
        at += g.length;
      }
      const point: LossPoint = { step, loss: (out[O.loss].data as Float32Array)[0], clip: mean(out[O.clip].data as Float32Array), l2: mean(out[O.l2].data as Float32Array) };
      if (this.identity) point.id = mean(out[O.id].data as Float32Array);
      curve.push(point);
      adam.step(params, grad, s.lr);
      opts.onStep?.(step, (performance.now() - t0) / 1000);
      const done = step + 1;
      if (done % opts.checkpointEvery === 0 || done === s.steps) opts.onCheckpoint?.(snapshot(done));
      clock.tick(done - start.step, `loss ${point.loss.toFixed(4)} (CLIP ${point.clip.toFixed(4)}, L2 ${point.l2.toExponential(2)})`);
    }
    return snapshot(Math.max(s.steps, start.step));
  }

  async release(): Promise<void> {
    await Promise.all([this.gradient.release(), this.identity?.session.release()]);
  }
}
