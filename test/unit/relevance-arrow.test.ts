// relevance.arrow keeps μ and σ as the statistics hold them (float64): what the perturbations and Δs use.
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { type RelevanceRow, encodeRelevanceArrow, readRelevanceArrow } from '../../pipeline/store/relevance-arrow.ts';

const DIM = 2;
const row = (channel: number, mu: number, sigma: number, direction: number[]): RelevanceRow => ({
  channel, layer: 'b4.conv1', layerIndex: 0, channelInLayer: channel, resolution: 4, mu, sigma,
  effect: 0.5, consistency: 0.9, degenerate: 0, direction: Float32Array.from(direction),
});

describe('relevance.arrow', () => {
  // None of these is a float32: 1/3, 0.1 and 1 + 2^-40 round there.
  const rows = [row(0, 1 / 3, 0.1, [1, 0]), row(1, -0.7, 1 + 2 ** -40, [0.6, 0.8])];
  const bytes = encodeRelevanceArrow(DIM, { 'styleatlas.format': 'test' }, [rows]).bytes;

  it('stores μ and σ as Float64 columns and reads them back bit for bit', () => {
    const schema = tableFromIPC(bytes).schema;
    expect(String(schema.fields.find((f) => f.name === 'mu')!.type)).toBe('Float64');
    expect(String(schema.fields.find((f) => f.name === 'sigma')!.type)).toBe('Float64');
    const t = readRelevanceArrow(bytes);
    expect(Array.from(t.mu)).toEqual([1 / 3, -0.7]);
    expect(Array.from(t.sigma)).toEqual([0.1, 1 + 2 ** -40]);
  });
});
