/** Adam and the official learning-rate schedule (pipeline/core/adam.ts), against hand computations. */
import { describe, expect, it } from 'vitest';
import { Adam, officialLearningRate } from '../../pipeline/core/adam.ts';

describe('officialLearningRate', () => {
  it('ramps up over the first 5 %, holds, and ramps down along a half cosine over the last 25 %', () => {
    expect(officialLearningRate(0, 0.1)).toBe(0);
    expect(officialLearningRate(0.025, 0.1)).toBeCloseTo(0.05, 15);
    expect(officialLearningRate(0.05, 0.1)).toBeCloseTo(0.1, 15);
    expect(officialLearningRate(0.5, 0.1)).toBeCloseTo(0.1, 15);
    expect(officialLearningRate(0.75, 0.1)).toBeCloseTo(0.1, 15);
    expect(officialLearningRate(0.875, 0.1)).toBeCloseTo(0.05, 15); // (1 − t)/0.25 = ½ → 0.5 − 0.5·cos(π/2)
    expect(officialLearningRate(1 - 0.25 / 3, 0.1)).toBeCloseTo(0.1 * (0.5 - 0.5 * Math.cos(Math.PI / 3)), 15);
    expect(officialLearningRate(1, 0.1)).toBeCloseTo(0, 15);
  });

  it('gives the official 300-step run: 0 at step 0, the full rate from step 15 to 225', () => {
    const lrs = Array.from({ length: 300 }, (_, i) => officialLearningRate(i / 300, 0.1));
    expect(lrs[0]).toBe(0);
    expect(lrs[1]).toBeCloseTo(0.1 / 15, 15);
    expect(lrs.slice(15, 226).every((v) => Math.abs(v - 0.1) < 1e-15)).toBe(true);
    expect(lrs[299]).toBeGreaterThan(0);
    expect(lrs[299]).toBeLessThan(1e-3);
  });
});

describe('Adam', () => {
  it('moves each parameter by about lr·sign(g) on its first step (bias correction)', () => {
    const p = Float32Array.of(1, -2, 0.5);
    const adam = new Adam(3);
    adam.step(p, [0.3, -4, 1e-3], 0.1);
    // m̂ = g, v̂ = g²: the step is lr·g/(|g| + ε)
    expect(p[0]).toBeCloseTo(1 - 0.1 * (0.3 / (0.3 + 1e-8)), 6);
    expect(p[1]).toBeCloseTo(-2 + 0.1, 6);
    expect(p[2]).toBeCloseTo(0.5 - 0.1 * (1e-3 / (1e-3 + 1e-8)), 6);
    expect(adam.steps).toBe(1);
  });

  it('follows the moment recursions on a second step', () => {
    const p = Float32Array.of(0);
    const adam = new Adam(1);
    adam.step(p, [1], 0.01);
    const after1 = p[0];
    adam.step(p, [-2], 0.02);
    const m = 0.9 * 0.1 * 1 + 0.1 * -2; // -0.11
    const v = 0.999 * 0.001 * 1 + 0.001 * 4; // 0.004999
    const expected = after1 - ((0.02 / (1 - 0.81)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    expect(p[0]).toBeCloseTo(expected, 7);
  });

  it('does nothing with lr 0 but still counts the step (the official schedule starts at 0)', () => {
    const p = Float32Array.of(3);
    const adam = new Adam(1);
    adam.step(p, [5], 0);
    expect(p[0]).toBe(3);
    expect(adam.steps).toBe(1);
  });

  it('continues from a saved state exactly as the uninterrupted optimiser (checkpoints)', () => {
    const grads = (i: number) => [Math.sin(i), Math.cos(3 * i), 1e-3 * i];
    const whole = Float32Array.of(1, -2, 0.5);
    const a = new Adam(3);
    for (let i = 0; i < 10; i++) a.step(whole, grads(i), 0.05);
    const part = Float32Array.of(1, -2, 0.5);
    const b = new Adam(3);
    for (let i = 0; i < 5; i++) b.step(part, grads(i), 0.05);
    const saved = b.state();
    b.step(part.slice(), [9, 9, 9], 1); // the saved copy does not follow later steps
    const c = new Adam(3);
    c.restore(saved);
    const resumed = Float32Array.from(part);
    for (let i = 5; i < 10; i++) c.step(resumed, grads(i), 0.05);
    expect(c.steps).toBe(10);
    expect(Array.from(resumed)).toEqual(Array.from(whole));
    expect(() => new Adam(2).restore(saved)).toThrow(/over 2 values cannot restore moments of 3/);
  });

  it('refuses mismatched sizes and bad settings', () => {
    expect(() => new Adam(2).step(new Float32Array(3), [1, 2, 3], 0.1)).toThrow(/over 2 values got 3/);
    expect(() => new Adam(2, { beta1: 1 })).toThrow(/beta1/);
    expect(() => new Adam(2, { eps: 0 })).toThrow(/eps/);
  });
});
