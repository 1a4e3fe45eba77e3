import { describe, expect, it } from 'vitest';
import { Xoshiro128, latentBatch, latentZ } from '../../pipeline/core/rng.ts';

describe('seeded RNG', () => {
  it('gives fixed values for a fixed seed (golden: changing these changes every build)', () => {
    const r = new Xoshiro128(1, 0);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([2764580333, 2224611997, 183022439]);
    expect(Array.from(latentZ(0x5eed, 0, 3))).toEqual([0.24481776356697083, -2.220672607421875, -0.7330302596092224]);
  });

  it('draws sample i independently of which other samples are drawn', () => {
    const all = latentBatch(7, 0, 10, 16);
    const one = latentZ(7, 6, 16);
    expect(Array.from(all.subarray(6 * 16, 7 * 16))).toEqual(Array.from(one));
    expect(Array.from(latentBatch(7, 6, 1, 16))).toEqual(Array.from(one));
  });

  it('separates seeds and streams', () => {
    const a = latentZ(1, 0, 8);
    expect(Array.from(latentZ(2, 0, 8))).not.toEqual(Array.from(a));
    expect(Array.from(latentZ(1, 1, 8))).not.toEqual(Array.from(a));
    expect(Array.from(latentZ(1, 0, 8))).toEqual(Array.from(a));
  });

  it('is standard normal', () => {
    const z = latentBatch(3, 0, 2000, 50); // 100 000 draws
    let m = 0;
    for (const v of z) m += v;
    m /= z.length;
    let v2 = 0;
    let tail = 0;
    for (const v of z) {
      v2 += (v - m) ** 2;
      if (Math.abs(v) > 1.959964) tail++;
    }
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(v2 / z.length) - 1)).toBeLessThan(0.01);
    expect(Math.abs(tail / z.length - 0.05)).toBeLessThan(0.003);
  });

  it('rejects non-integer seeds and out-of-range streams', () => {
    expect(() => new Xoshiro128(1.5)).toThrow(RangeError);
    expect(() => new Xoshiro128(1, -1)).toThrow(RangeError);
    expect(() => new Xoshiro128(1, 2 ** 32)).toThrow(RangeError);
  });
});
