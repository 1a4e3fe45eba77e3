import { describe, expect, it } from 'vitest';
import { broadcastWs, joinStyles, splitStyles, styleFeeds, styleLayout, truncate } from '../../pipeline/core/styles.ts';

const layout = styleLayout([
  { name: 'b4.conv1', kind: 'conv', resolution: 4, channels: 3, wIndex: 0 },
  { name: 'b4.torgb', kind: 'torgb', resolution: 4, channels: 2, wIndex: 1 },
]);

describe('style layout', () => {
  it('gives layer offsets and the total', () => {
    expect(layout.total).toBe(5);
    expect(layout.layers.map((l) => l.offset)).toEqual([0, 3]);
  });

  it('splits s [B, C_total] by layer and joins it back', () => {
    const flat = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // B = 2
    const parts = splitStyles(flat, 2, layout);
    expect(Array.from(parts.get('b4.conv1')!)).toEqual([1, 2, 3, 6, 7, 8]);
    expect(Array.from(parts.get('b4.torgb')!)).toEqual([4, 5, 9, 10]);
    expect(Array.from(joinStyles(parts, 2, layout))).toEqual(Array.from(flat));
  });

  it('builds one float32 feed per layer under its input name, and refuses NaN naming the layer', () => {
    const flat = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const feeds = styleFeeds(flat, 2, layout, (n) => `s_${n}`);
    expect(Object.keys(feeds)).toEqual(['s_b4.conv1', 's_b4.torgb']);
    expect(feeds['s_b4.torgb']).toEqual({ type: 'float32', data: Float32Array.from([4, 5, 9, 10]), dims: [2, 2] });
    flat[8] = Number.NaN;
    expect(() => styleFeeds(flat, 2, layout, (n) => n)).toThrow(expect.objectContaining({ code: 'E_NUMERIC', message: expect.stringMatching(/layer b4\.torgb/) }));
    expect(() => styleFeeds(flat.subarray(1), 2, layout, (n) => n)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
  });

  it('refuses a layer with the wrong size', () => {
    const parts = new Map([['b4.conv1', new Float32Array(6)], ['b4.torgb', new Float32Array(3)]]);
    expect(() => joinStyles(parts, 2, layout)).toThrow(/b4.torgb/);
  });
});

describe('truncation', () => {
  const w = Float32Array.from([1, 2, 3, 4]); // B = 2, wDim = 2
  const avg = Float32Array.from([0.5, -1]);
  it('is the identity at ψ = 1', () => expect(Array.from(truncate(w, avg, 1))).toEqual([1, 2, 3, 4]));
  it('gives w_avg at ψ = 0', () => expect(Array.from(truncate(w, avg, 0))).toEqual([0.5, -1, 0.5, -1]));
  it('interpolates at ψ = 0.5', () => expect(Array.from(truncate(w, avg, 0.5))).toEqual([0.75, 0.5, 1.75, 1.5]));
});

it('broadcasts w to every layer', () => {
  expect(Array.from(broadcastWs(Float32Array.from([1, 2, 3, 4]), 2, 3))).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
});
