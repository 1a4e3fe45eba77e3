/**
 * Channel relevance Δi_c (DESIGN §1) from pairs of image embeddings:
 *   d_n = n(E(s⁺)) − n(E(s⁻)),  Δi_c = n(mean_n n(d_n)).
 * Per channel we also keep the effect size mean_n ‖d_n‖, the consistency ‖mean_n n(d_n)‖ ∈ [0, 1],
 * and the count of degenerate pairs (‖d_n‖ below a threshold), which are left out of the mean.
 */
import { normalizeInto } from './vec.ts';

/** ‖d‖ below this (in unit-embedding units) is a pair the channel did not change. */
export const DEGENERATE_NORM = 1e-6;

export interface ChannelRelevance {
  /** Δi_c, unit length (all zeros if every pair was degenerate). */
  direction: Float32Array;
  effect: number;
  consistency: number;
  degenerate: number;
  pairs: number;
}

export class RelevanceAccumulator {
  private readonly sum: Float64Array;
  private readonly scratchP: Float64Array;
  private readonly scratchM: Float64Array;
  private effectSum = 0;
  private valid = 0;
  private degenerate = 0;

  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.scratchP = new Float64Array(dim);
    this.scratchM = new Float64Array(dim);
  }

  /** Add one sample's pair of raw embeddings (row `rowPlus` / `rowMinus` of [rows, dim] arrays). */
  addPair(plus: ArrayLike<number>, rowPlus: number, minus: ArrayLike<number>, rowMinus: number): void {
    const d = this.dim;
    normalizeInto(plus, this.scratchP, d, rowPlus * d);
    normalizeInto(minus, this.scratchM, d, rowMinus * d);
    let sq = 0;
    for (let i = 0; i < d; i++) {
      const v = this.scratchP[i] - this.scratchM[i];
      this.scratchP[i] = v;
      sq += v * v;
    }
    const len = Math.sqrt(sq);
    this.effectSum += len;
    if (len < DEGENERATE_NORM) {
      this.degenerate++;
      return;
    }
    for (let i = 0; i < d; i++) this.sum[i] += this.scratchP[i] / len;
    this.valid++;
  }

  result(): ChannelRelevance {
    const pairs = this.valid + this.degenerate;
    const mean = this.valid > 0 ? this.sum.map((v) => v / this.valid) : this.sum.slice();
    const direction = new Float32Array(this.dim);
    const consistency = normalizeInto(mean, direction);
    return { direction, effect: pairs > 0 ? this.effectSum / pairs : 0, consistency, degenerate: this.degenerate, pairs };
  }
}
