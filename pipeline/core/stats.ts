/**
 * Streaming mean and standard deviation of every style channel (Chan et al.'s parallel
 * update in float64): memory is O(channels) whatever the number of samples, and merging
 * partial results in a fixed order gives the same bytes every run.
 */
export class ChannelStats {
  count = 0;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the mean (M2). */
  readonly m2: Float64Array;

  constructor(readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  /** Add a batch s [B, channels]. */
  addBatch(s: ArrayLike<number>, batch: number): void {
    const c = this.channels;
    const bMean = new Float64Array(c);
    const bM2 = new Float64Array(c);
    for (let b = 0; b < batch; b++) for (let i = 0; i < c; i++) bMean[i] += s[b * c + i];
    for (let i = 0; i < c; i++) bMean[i] /= batch;
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < c; i++) {
        const d = s[b * c + i] - bMean[i];
        bM2[i] += d * d;
      }
    this.mergeParts(batch, bMean, bM2);
  }

  merge(other: ChannelStats): void {
    this.mergeParts(other.count, other.mean, other.m2);
  }

  private mergeParts(n: number, mean: Float64Array, m2: Float64Array): void {
    if (n === 0) return;
    const total = this.count + n;
    for (let i = 0; i < this.channels; i++) {
      const delta = mean[i] - this.mean[i];
      this.mean[i] += (delta * n) / total;
      this.m2[i] += m2[i] + (delta * delta * this.count * n) / total;
    }
    this.count = total;
  }

  /** Population standard deviation (NumPy's default ddof = 0, as the reference uses). */
  std(): Float64Array {
    return this.m2.map((v) => Math.sqrt(v / Math.max(this.count, 1)));
  }
}
