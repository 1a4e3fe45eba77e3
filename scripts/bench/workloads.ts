/**
 * The two ways of doing the same relevance work — every (sample, channel, ±) render of a set of
 * channels, folded into Δi_c — that the bench times against each other:
 *   naive:    batch 1, synthesis.onnx and visual.onnx as separate sessions in the main thread,
 *             CLIP preprocessing in JS between them (images cross into JS and back);
 *   pipeline: the relevance stage's own computeChunk, over the fused synthesis → preprocessing →
 *             visual model in a WorkerSession, batched, with calls in flight while batches are made.
 */
import { clipPreprocess } from '../../pipeline/core/preprocess.ts';
import { RelevanceAccumulator } from '../../pipeline/core/relevance.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { type RenderGraph, buildRenderEncodeModel, renderBatch, renderGraphFor } from '../../pipeline/models/fused.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { type InferenceRunner, type RuntimeOptions, WorkerSession } from '../../pipeline/models/runtime.ts';
import { computeChunk } from '../../pipeline/stages/relevance.ts';
import { type RelevanceConfig, type RenderGraphName, channelsOf } from '../../pipeline/stages/relevance-plan.ts';
import { computeStyleStats } from '../../pipeline/stages/stats.ts';

/** What both loops compute: 2 · channels · samples renders. */
export interface Workload {
  channels: readonly number[];
  samples: number;
  sampleSeed: number;
  psi: number;
  alphaP: number;
}

export interface PipelineSettings {
  batch: number;
  inflight: number;
  /** The relevance command's --render-graph. */
  render: RenderGraphName;
}

/** Open models, μ/σ and the fused model for one generator + encoder pair. */
export class BenchModels {
  private readonly renders = new Map<RenderGraphName, Promise<RenderGraph>>();

  private constructor(
    readonly gen: Generator,
    readonly enc: Encoder,
    readonly mu: Float64Array,
    readonly sigma: Float64Array,
    private readonly fused: Uint8Array,
    readonly runtime: RuntimeOptions,
  ) {}

  /** The render graph the relevance stage would run for --render-graph `name` here (E_DEVICE/E_INPUT where it cannot). */
  renderGraph(name: RenderGraphName): Promise<RenderGraph> {
    let r = this.renders.get(name);
    if (!r) this.renders.set(name, (r = renderGraphFor(this.gen, this.runtime.device ?? 'cpu', name)));
    return r;
  }

  static async open(generatorDir: string, encoderDir: string, runtime: RuntimeOptions, statsSamples: number): Promise<BenchModels> {
    const gen = await Generator.open(generatorDir, runtime);
    const enc = await Encoder.open(encoderDir, { ...runtime, parts: ['visual'] });
    // μ, σ only set the size of the perturbation; a few hundred samples are plenty for timing.
    const { mu, sigma } = await computeStyleStats(gen, { samples: statsSamples, seed: 1_000_000, psi: 0.7 });
    return new BenchModels(gen, enc, mu, sigma, buildRenderEncodeModel(gen, enc), runtime);
  }

  /**
   * The relevance stage's session for these settings: the fused model in a worker thread (the
   * NCHWc one written for the setting's batch, as relevance-build.ts does). The caller releases it.
   */
  async openPipeline(s: PipelineSettings): Promise<WorkerSession> {
    const label = `bench render+encode (${s.render})`;
    if (s.render === 'nchwc') return WorkerSession.open(await this.fusedModel(s), label, this.runtime);
    // As relevance-build.ts does, the bytes move into the worker: each session gets its own copy.
    // (Uint8Array's slice copies; a Node Buffer's slice is a view, and moving it detached `fused`.)
    return WorkerSession.open(Uint8Array.prototype.slice.call(this.fused), label, this.runtime);
  }

  /** The fused model's bytes for these settings (a fresh copy). */
  async fusedModel(s: Pick<PipelineSettings, 'render' | 'batch'>): Promise<Uint8Array> {
    if (s.render === 'portable') return Uint8Array.prototype.slice.call(this.fused);
    const render = await this.renderGraph(s.render);
    return buildRenderEncodeModel(this.gen, this.enc, { render, batch: renderBatch(render, s.batch) });
  }

  /** `count` channels spread evenly over the conv layers (every resolution gets its share). */
  spreadChannels(count: number): number[] {
    const all = channelsOf(this.gen.layout, 'conv');
    const n = Math.min(count, all.length);
    return Array.from({ length: n }, (_, i) => all[Math.floor(((i + 0.5) * all.length) / n)]);
  }

  async release(): Promise<void> {
    await this.enc.release();
    await this.gen.release();
  }
}

export function rendersOf(w: Workload): number {
  return 2 * w.channels.length * w.samples;
}

/** Batch 1, two sessions, preprocessing in JS. Returns Δi of each channel. */
export async function naiveLoop(m: BenchModels, w: Workload): Promise<Float32Array[]> {
  const { gen, enc } = m;
  const a = enc.manifest.architecture;
  const spec = { inSize: gen.arch.resolution, outSize: a.imageSize, mean: a.mean, std: a.std };
  const accs = w.channels.map(() => new RelevanceAccumulator(enc.dim));
  const row = new Float32Array(gen.layout.total); // s [1, C_total]
  const pair = new Float32Array(2 * enc.dim); // embeds of s⁺, s⁻: [2, D]
  for (let n = 0; n < w.samples; n++) {
    const own = await gen.stylesForSeeds([w.sampleSeed + n], w.psi); // [1, C_total]
    for (const [k, c] of w.channels.entries()) {
      for (const [i, sign] of [1, -1].entries()) {
        row.set(own);
        row[c] = m.mu[c] + sign * w.alphaP * m.sigma[c];
        const image = await gen.synthesis(row, 1); // [1, 3, H, W]
        const pixels = clipPreprocess(image, 1, spec); // [1, 3, S, S]
        pair.set(await enc.encodeImages(pixels, 1), i * enc.dim); // [1, D]
      }
      accs[k].addPair(pair, 0, pair, 1);
    }
  }
  return accs.map((acc) => acc.result().direction);
}

/** The relevance stage's computeChunk on the workload as one chunk. Returns Δi of each channel. */
export async function pipelineRun(m: BenchModels, session: InferenceRunner, w: Workload, settings: PipelineSettings): Promise<Float32Array[]> {
  const config: RelevanceConfig = {
    generator: { id: m.gen.manifest.id, manifestSha256: m.gen.bundle.manifestSha256 },
    encoder: { id: m.enc.manifest.id, manifestSha256: m.enc.bundle.manifestSha256 },
    samples: w.samples,
    alphaP: w.alphaP,
    psi: w.psi,
    sampleSeed: w.sampleSeed,
    statsSamples: 0,
    statsSeed: 0,
    statsSha256: '',
    channelSet: 'conv',
    chunkChannels: w.channels.length,
    batch: settings.batch,
    ...(settings.render === 'nchwc' ? { renderGraph: 'nchwc' as const } : {}),
  };
  const fixedBatch = renderBatch(await m.renderGraph(settings.render), settings.batch);
  const rows = await computeChunk(
    { gen: m.gen, session, config, mu: m.mu, sigma: m.sigma, dim: m.enc.dim, inflight: settings.inflight, fixedBatch },
    { index: 0, channels: [...w.channels] },
  );
  return rows.map((r) => r.direction);
}

/** Largest |difference| between two sets of Δi: the two loops must compute the same thing. */
export function maxDifference(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let max = 0;
  a.forEach((v, k) => v.forEach((x, i) => (max = Math.max(max, Math.abs(x - b[k][i])))));
  return max;
}
