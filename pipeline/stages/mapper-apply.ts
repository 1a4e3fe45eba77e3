/**
 * Applying a trained mapper: M_t(w) for codes (mapper.onnx), the edited codes w + α·0.1·M_t(w) at
 * a row of strengths, their style codes s (the generator's styles.onnx) and, through one
 * render+encode session, their pictures and image embeddings. The held-out scores of
 * `mapper train` and the catalogue's mapper galleries both come from here.
 *
 * Scores, per held-out code, before (α 0) and after (α 1): the CLIP score cos(E_I(P(G(w))), t)
 * of the target embedding t, the step ‖w' − w‖ (L2 over every ws row and channel), and the mean
 * pixel facts (core/image.ts). Codes go through in chunks, so a thousand FFHQ codes need memory
 * for one chunk's images only.
 */
import { type MapperShape, type MapperWeights, mapperEdits } from '../core/mapper.ts';
import { type PixelStats, pixelStats } from '../core/image.ts';
import { dot, norm } from '../core/vec.ts';
import type { Encoder } from '../models/encoder.ts';
import { buildRenderEncodeModel } from '../models/fused.ts';
import type { Generator } from '../models/generator.ts';
import { ModelSession, type RuntimeOptions, float32 } from '../models/runtime.ts';
import { MAPPER_IO, buildMapperModel } from '../onnx/mapper.ts';
import type { CodeSet } from './mapper-codes.ts';
import { renderCodes } from './edits.ts';

export interface SampleScore {
  scoreBefore: number;
  scoreAfter: number;
  stepNorm: number;
  before: PixelStats;
  after: PixelStats;
}

export interface MapperScores {
  count: number;
  /** Means over the held-out codes. */
  mean: SampleScore;
  /** Share of codes whose CLIP score rose. */
  improved: number;
  perSample: SampleScore[];
}

const PIXEL_KEYS = ['red', 'green', 'blue', 'brightness', 'saturation'] as const;

export function meanScore(rows: readonly SampleScore[]): SampleScore {
  const avg = (f: (r: SampleScore) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  const pix = (side: 'before' | 'after') => Object.fromEntries(PIXEL_KEYS.map((k) => [k, avg((r) => r[side][k])])) as unknown as PixelStats;
  return { scoreBefore: avg((r) => r.scoreBefore), scoreAfter: avg((r) => r.scoreAfter), stepNorm: avg((r) => r.stepNorm), before: pix('before'), after: pix('after') };
}

export class MapperApplier {
  private constructor(
    readonly gen: Generator,
    private readonly mapper: ModelSession,
    /** synthesis → preprocessing → visual, with the image as an output too. */
    readonly renderEncode: ModelSession,
  ) {}

  static async open(gen: Generator, enc: Encoder, shape: MapperShape, weights: MapperWeights, runtime: RuntimeOptions = {}): Promise<MapperApplier> {
    const [mapper, renderEncode] = await Promise.all([
      ModelSession.open(buildMapperModel(shape, weights).toBytes(), 'mapper', runtime),
      ModelSession.open(buildRenderEncodeModel(gen, enc, { withImage: true }), 'render+encode', runtime),
    ]);
    return new MapperApplier(gen, mapper, renderEncode);
  }

  /** M_t(ws) [n, num_ws, w_dim]. */
  async delta(ws: Float32Array, n: number): Promise<Float32Array> {
    const { numWs, wDim } = this.gen.manifest.architecture;
    const out = await this.mapper.run({ [MAPPER_IO.ws]: float32(ws, [n, numWs, wDim]), [MAPPER_IO.strength]: float32(Float32Array.of(1), []) }, [MAPPER_IO.delta]);
    return out[MAPPER_IO.delta].data as Float32Array;
  }

  /** Style codes s [n·A, C_total] of the codes edited at each strength (row (i, a)). */
  async editedStyles(ws: Float32Array, n: number, strengths: readonly number[]): Promise<{ s: Float32Array; delta: Float32Array }> {
    const delta = await this.delta(ws, n);
    return { s: await this.gen.styles(mapperEdits(ws, delta, n, strengths), n * strengths.length), delta };
  }

  /** The held-out scores of `codes` for target embedding `target` [D]; `onChunk` sees each chunk's before/after images [2m, 3, H, W]. */
  async score(codes: CodeSet, target: Float32Array, opts: { chunk?: number; onChunk?: (first: number, m: number, images: Float32Array) => void | Promise<void> } = {}): Promise<MapperScores> {
    const chunk = opts.chunk ?? 8;
    const res = this.gen.arch.resolution;
    const rows: SampleScore[] = [];
    const cos = (e: Float32Array) => dot(e, target) / (norm(e) * norm(target));
    for (let first = 0; first < codes.count; first += chunk) {
      const m = Math.min(chunk, codes.count - first);
      const { s, delta } = await this.editedStyles(codes.range(first, m), m, [0, 1]);
      const { images, embeds } = await renderCodes(this.gen, s, 2 * m, { session: this.renderEncode, batch: 2 * m });
      const dim = embeds!.length / (2 * m);
      const row = delta.length / m;
      for (let i = 0; i < m; i++) {
        const step = delta.subarray(i * row, (i + 1) * row);
        rows.push({
          scoreBefore: cos(embeds!.subarray(2 * i * dim, (2 * i + 1) * dim)),
          scoreAfter: cos(embeds!.subarray((2 * i + 1) * dim, (2 * i + 2) * dim)),
          stepNorm: 0.1 * norm(step),
          before: pixelStats(images, 2 * i, res, res),
          after: pixelStats(images, 2 * i + 1, res, res),
        });
      }
      await opts.onChunk?.(first, m, images);
    }
    return { count: rows.length, mean: meanScore(rows), improved: rows.filter((r) => r.scoreAfter > r.scoreBefore).length / rows.length, perSample: rows };
  }

  async release(): Promise<void> {
    await Promise.all([this.mapper.release(), this.renderEncode.release()]);
  }
}
