/**
 * StyleCLIP method 1 (the seed's Eq. 1): text-guided optimisation of w+ codes,
 *   argmin_w  D_CLIP(G(w), t) + λ_L2 ‖w − w_s‖² + λ_ID L_ID(w),
 * with Adam and run_optimization.py's schedule, on gradients of our own graphs
 * (pipeline/onnx/latent-loss.ts). Start codes are optimised in batches; every sample is its own
 * problem (the batch loss is their sum, Adam is elementwise), exactly as the official script runs
 * one code at a time.
 *
 * Differences from the official script, on purpose: the CLIP term uses StyleAtlas's CLIP
 * preprocessing (PIL's bicubic resize and CLIP's normalisation, the same P as method 3's
 * relevance and scores, so the two methods are compared on equal terms) where the official code
 * upsamples ×7, average-pools to 224 and skips the normalisation; D_CLIP is 1 − cos, which equals
 * the official 1 − logits/100 for CLIP's trained logit scale of 100.
 */
import { Adam, officialLearningRate } from '../core/adam.ts';
import { fail } from '../core/errors.ts';
import type { Encoder } from '../models/encoder.ts';
import type { Generator } from '../models/generator.ts';
import { encoderGraphs, generatorGraphs } from '../models/latent-graphs.ts';
import { ModelSession, type RuntimeOptions, type TensorValue, float32 } from '../models/runtime.ts';
import { type IdentityGraph, LATENT_INPUTS as I, LATENT_OUTPUTS as O, buildLatentGradient, buildLatentLoss } from '../onnx/latent-loss.ts';
import { checkNotEmpty, checkPromptLength } from '../text/templates.ts';
import { type ProgressFn, ProgressClock } from './progress.ts';
import { textTower } from './text-directions.ts';

/** run_optimization.py's defaults (mode "edit"); λ_ID is 0 unless an identity network is given. */
export const METHOD1_DEFAULTS = Object.freeze({ steps: 300, lr: 0.1, lambdaL2: 0.008, lambdaId: 0, psi: 0.7 });

export interface OptimiseSettings {
  target: string;
  steps: number;
  lr: number;
  lambdaL2: number;
  lambdaId: number;
  /** Start codes optimised together in one session run. */
  batch: number;
}

/** The objective's terms per sample at one step, before that step's update. */
export interface LossPoint {
  step: number;
  lr: number;
  loss: number[];
  clip: number[];
  l2: number[];
  id: number[] | null;
}

export interface OptimiseRun {
  k: number;
  wsStart: Float32Array;
  /** The optimised codes [K, num_ws, w_dim]. */
  ws: Float32Array;
  /** One point per step, then the final codes' (step = steps, lr 0). */
  curve: LossPoint[];
  /** Renders of the start and the optimised codes [K, 3, H, W]. */
  before: Float32Array;
  after: Float32Array;
  seconds: number;
  /** Seconds of every optimisation step (gradient run + Adam update), and of each forward run (start and final renders). */
  stepSeconds: number[];
  forwardSeconds: number[];
}

export function checkSettings(s: OptimiseSettings, identity: boolean): void {
  if (!Number.isInteger(s.steps) || s.steps < 1) fail('E_INPUT', `steps must be a positive integer, got ${s.steps}`);
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) fail('E_INPUT', `the learning rate must be a positive number, got ${s.lr}`);
  for (const [name, v] of [['λ_L2', s.lambdaL2], ['λ_ID', s.lambdaId]] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) fail('E_INPUT', `${name} must be a number ≥ 0, got ${v}`);
  }
  if (s.lambdaId > 0 && !identity) fail('E_INPUT', `λ_ID is ${s.lambdaId} but no identity network was given`, 'give an identity bundle (--identity DIR), or λ_ID 0');
  if (!Number.isInteger(s.batch) || s.batch < 1) fail('E_INPUT', `batch must be a positive integer, got ${s.batch}`);
}

/** The target prompt: not empty, and within CLIP's 77 tokens (E_PROMPT otherwise). */
export function checkTarget(enc: Encoder, target: string): void {
  checkNotEmpty(target, 'target');
  checkPromptLength(textTower(enc), target, ['{}']);
}

/** Start codes per session run at `resolution` that fit comfortably in memory (a gradient holds ~3× a forward's activations). */
export function defaultOptimiseBatch(resolution: number): number {
  return resolution <= 256 ? 8 : resolution <= 512 ? 2 : 1;
}

export class LatentOptimiser {
  private constructor(
    readonly gen: Generator,
    readonly enc: Encoder,
    readonly identity: IdentityGraph | undefined,
    private readonly gradient: ModelSession,
    private readonly forward: ModelSession,
  ) {}

  /** Builds the objective's gradient and forward graphs for a generator, an encoder (visual and text) and an optional identity network. */
  static async open(gen: Generator, enc: Encoder, opts: { identity?: IdentityGraph; runtime?: RuntimeOptions } = {}): Promise<LatentOptimiser> {
    const gg = generatorGraphs(gen);
    const eg = encoderGraphs(enc, gen.arch.resolution);
    const gradient = await ModelSession.open(buildLatentGradient(gg, eg, opts.identity).builder.toBytes(), 'method 1 gradient', opts.runtime);
    const forward = await ModelSession.open(buildLatentLoss(gg, eg, opts.identity, { withImage: true }).toBytes(), 'method 1 objective', opts.runtime);
    return new LatentOptimiser(gen, enc, opts.identity, gradient, forward);
  }

  /** E_T(target) [1, D] of the prompt itself (as the official script tokenizes its description), after the prompt checks. */
  async targetEmbedding(target: string): Promise<Float32Array> {
    checkTarget(this.enc, target);
    return this.enc.encodeTokenIds(this.enc.tokenizer.encodeBatch([target]).ids, 1);
  }

  private feeds(ws: Float32Array, wsStart: Float32Array, m: number, target: Float32Array, s: OptimiseSettings, idStart?: Float32Array): Record<string, TensorValue> {
    const { numWs, wDim } = this.gen.manifest.architecture;
    const feeds: Record<string, TensorValue> = {
      [I.ws]: float32(ws, [m, numWs, wDim]),
      [I.wsStart]: float32(wsStart, [m, numWs, wDim]),
      [I.target]: float32(target, [1, target.length]),
      [I.lambdaL2]: float32(Float32Array.of(s.lambdaL2), []),
    };
    if (this.identity) {
      feeds[I.idStart] = float32(idStart!, [m, this.identity.embedDim]);
      feeds[I.lambdaId] = float32(Float32Array.of(s.lambdaId), []);
    }
    return feeds;
  }

  private point(step: number, lr: number, out: Record<string, TensorValue>, s: OptimiseSettings): LossPoint {
    const clip = Array.from(out[O.clip].data as Float32Array);
    const l2 = Array.from(out[O.l2].data as Float32Array);
    const id = this.identity ? Array.from(out[O.id].data as Float32Array) : null;
    const loss = clip.map((c, b) => c + s.lambdaL2 * l2[b] + (id ? s.lambdaId * id[b] : 0));
    return { step, lr, loss, clip, l2, id };
  }

  /** Optimise start codes [K, num_ws, w_dim] towards `settings.target`. */
  async optimise(wsStart: Float32Array, k: number, settings: OptimiseSettings, onProgress?: ProgressFn): Promise<OptimiseRun> {
    checkSettings(settings, Boolean(this.identity));
    const { numWs, wDim, resolution } = this.gen.manifest.architecture;
    const size = numWs * wDim;
    if (!Number.isInteger(k) || k < 1 || wsStart.length !== k * size) fail('E_SHAPE', `start codes: expected K × ${numWs} × ${wDim} values, got ${wsStart.length} for K = ${k}`);
    const target = await this.targetEmbedding(settings.target);
    const t0 = performance.now();
    const ws = Float32Array.from(wsStart);
    const image = 3 * resolution * resolution;
    const before = new Float32Array(k * image);
    const after = new Float32Array(k * image);
    const chunks = Math.ceil(k / settings.batch);
    const clock = new ProgressClock('optimise', settings.steps * chunks, 'steps', onProgress);
    const curve: LossPoint[] = [];
    const stepSeconds: number[] = [];
    const forwardSeconds: number[] = [];
    const timed = async <T>(into: number[], f: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const out = await f();
      into.push((performance.now() - t) / 1000);
      return out;
    };
    for (let c = 0; c < chunks; c++) {
      const first = c * settings.batch;
      const m = Math.min(settings.batch, k - first);
      const start = wsStart.subarray(first * size, (first + m) * size);
      const codes = ws.subarray(first * size, (first + m) * size);
      // The start render, its identity features (fixed, as the official detaches them) and its losses.
      const zeroId = this.identity ? new Float32Array(m * this.identity.embedDim) : undefined;
      const initial = await timed(forwardSeconds, () => this.forward.run(this.feeds(start, start, m, target, settings, zeroId)));
      before.set(initial[O.image].data as Float32Array, first * image);
      const idStart = this.identity ? (initial[O.idFeatures].data as Float32Array) : undefined;
      const adam = new Adam(codes.length);
      for (let i = 0; i < settings.steps; i++) {
        const lr = officialLearningRate(i / settings.steps, settings.lr);
        const out = await timed(stepSeconds, async () => {
          const o = await this.gradient.run(this.feeds(codes, start, m, target, settings, idStart));
          adam.step(codes, o[O.grad].data as Float32Array, lr);
          return o;
        });
        merge(curve, this.point(i, lr, out, settings), c);
        const p = curve[i];
        clock.tick(c * settings.steps + i + 1, `loss ${mean(p.loss.slice(first)).toFixed(4)} (CLIP ${mean(p.clip.slice(first)).toFixed(4)})`);
      }
      const final = await timed(forwardSeconds, () => this.forward.run(this.feeds(codes, start, m, target, settings, idStart)));
      after.set(final[O.image].data as Float32Array, first * image);
      merge(curve, this.point(settings.steps, 0, final, settings), c);
    }
    return { k, wsStart: Float32Array.from(wsStart), ws, curve, before, after, seconds: (performance.now() - t0) / 1000, stepSeconds, forwardSeconds };
  }

  async release(): Promise<void> {
    await Promise.all([this.gradient.release(), this.forward.release()]);
  }
}

function mean(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** Appends a chunk's values to the curve's per-sample lists (chunk 0 creates the points). */
function merge(curve: LossPoint[], p: LossPoint, chunk: number): void {
  if (chunk === 0) {
    curve.push(p);
    return;
  }
  const q = curve.find((x) => x.step === p.step)!;
  q.loss.push(...p.loss);
  q.clip.push(...p.clip);
  q.l2.push(...p.l2);
  if (q.id && p.id) q.id.push(...p.id);
}
