import { describe, expect, it } from 'vitest';
import { RelevanceAccumulator } from '../../pipeline/core/relevance.ts';
import { ChannelStats } from '../../pipeline/core/stats.ts';

describe('relevance accumulator', () => {
  it('Δi = n(mean n(d)), effect = mean ‖d‖, consistency = ‖mean n(d)‖ (hand computation)', () => {
    const acc = new RelevanceAccumulator(2);
    // pair 1: e+ = [1,0], e- = [0,1] → d = [1,-1], ‖d‖ = √2, n(d) = [.707,-.707]
    acc.addPair([1, 0], 0, [0, 1], 0);
    // pair 2: e+ = [2,0] (normalised [1,0]), e- = [1,0] → d = 0: degenerate
    acc.addPair([2, 0], 0, [1, 0], 0);
    // pair 3: e+ = [0,3] → [0,1], e- = [0,-1] → d = [0,2], n(d) = [0,1]
    acc.addPair([0, 3], 0, [0, -1], 0);
    const r = acc.result();
    // mean n(d) over the 2 valid pairs = [0.35355, 0.14645]; norm = 0.38268
    expect(r.degenerate).toBe(1);
    expect(r.pairs).toBe(3);
    expect(r.effect).toBeCloseTo((Math.SQRT2 + 0 + 2) / 3, 12);
    expect(r.consistency).toBeCloseTo(Math.hypot(Math.SQRT1_2 / 2, (1 - Math.SQRT1_2) / 2), 6);
    const n = Math.hypot(Math.SQRT1_2, 1 - Math.SQRT1_2);
    expect(r.direction[0]).toBeCloseTo(Math.SQRT1_2 / n, 6);
    expect(r.direction[1]).toBeCloseTo((1 - Math.SQRT1_2) / n, 6);
  });

  it('a channel that never changes the image gives a zero direction, not NaN', () => {
    const acc = new RelevanceAccumulator(3);
    acc.addPair([1, 2, 3], 0, [1, 2, 3], 0);
    const r = acc.result();
    expect(Array.from(r.direction)).toEqual([0, 0, 0]);
    expect(r.consistency).toBe(0);
    expect(r.degenerate).toBe(1);
  });

  it('consistency is 1 when every pair points the same way', () => {
    const acc = new RelevanceAccumulator(2);
    acc.addPair([1, 1, 5, 5], 1, [0, 1], 0); // rows: plus row 1 = [5,5]
    acc.addPair([3, 3], 0, [0, 2], 0);
    expect(acc.result().consistency).toBeCloseTo(1, 12);
  });
});

describe('channel statistics', () => {
  it('streams mean and population std, merging batches in any split', () => {
    const data = Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40, 5, 50]); // 5 samples × 2 channels
    const all = new ChannelStats(2);
    all.addBatch(data, 5);
    const split = new ChannelStats(2);
    split.addBatch(data.subarray(0, 4), 2);
    split.addBatch(data.subarray(4), 3);
    for (const s of [all, split]) {
      expect(s.count).toBe(5);
      expect(Array.from(s.mean)).toEqual([3, 30]);
      expect(s.std()[0]).toBeCloseTo(Math.SQRT2, 12);
      expect(s.std()[1]).toBeCloseTo(10 * Math.SQRT2, 12);
    }
  });
});
