import { describe, expect, it } from 'vitest';
import { commands } from '../../pipeline/cli/commands/index.ts';
import { activeCount, autoBeta, betaCurve, checkAlpha, promptEmbedding, relevanceScores, styleDirection, textDirection } from '../../pipeline/core/directions.ts';
import { thrownBy } from '../helpers/errors.ts';

describe('text direction', () => {
  it('averages normalised template embeddings, then normalises', () => {
    // two templates: [3,4] → [0.6,0.8]; [0,2] → [0,1]; mean [0.3,0.9] → n
    const t = promptEmbedding(Float32Array.from([3, 4, 0, 2]), 2, 2);
    const n = Math.hypot(0.3, 0.9);
    expect(t[0]).toBeCloseTo(0.3 / n, 6);
    expect(t[1]).toBeCloseTo(0.9 / n, 6);
  });

  it('Δt = n(t(target) − t(neutral)), with the facts people need', () => {
    const r = textDirection([1, 0], [0, 1]);
    expect(Array.from(r.deltaT).map((v) => +v.toFixed(6))).toEqual([-0.707107, 0.707107]);
    expect(r.normBefore).toBeCloseTo(Math.SQRT2, 12);
    expect(r.cosine).toBe(0);
  });
});

describe('style direction Δs (hand computation)', () => {
  // fs3: 4 channels × D = 2; Δt = [1, 0] → r = first column (dyadic values: exact in float32)
  const fs3 = Float32Array.from([0.5, 0.1, -0.25, 0.3, 0.125, 0.9, -0.0625, 0.2]);
  const r = relevanceScores(fs3, [1, 0]);
  const sigma = [2, 4, 8, 16];

  it('r_c = Δi_c · Δt', () => expect(Array.from(r)).toEqual([0.5, -0.25, 0.125, -0.0625]));

  it('zeroes |r| < β, keeps |r| = β, divides by max |r| and scales by σ, keeping signs', () => {
    const d = styleDirection(r, sigma, 0.125);
    // kept: 0.5, -0.25, 0.125 (= β, kept); dropped: -0.0625
    expect(Array.from(d.deltaS)).toEqual([(0.5 / 0.5) * 2, (-0.25 / 0.5) * 4, (0.125 / 0.5) * 8, 0]);
    expect(d.active).toBe(3);
    expect(d.deltaS[1]).toBeLessThan(0);
  });

  it('everything below β gives a zero direction and zero active channels, never NaN', () => {
    const d = styleDirection(r, sigma, 0.6);
    expect(Array.from(d.deltaS)).toEqual([0, 0, 0, 0]);
    expect(d.active).toBe(0);
    expect(d.maxAbsR).toBe(0.5);
  });

  it('counts active channels along β and picks β automatically', () => {
    expect(betaCurve(r, [0, 0.0625, 0.125, 0.25, 0.5, 0.51])).toEqual([4, 4, 3, 2, 1, 0]);
    const many = Array.from({ length: 100 }, (_, i) => (i < 30 ? 0.2 : 0.12)); // 30 at 0.2, 70 at 0.12
    expect(autoBeta(many, 20)).toBe(0.2); // 30 > 20 at β ≤ 0.20; nothing above 0.20
    expect(autoBeta(many, 30)).toBe(0.12); // 30 is not > 30; 100 > 30 at β ≤ 0.12
    expect(autoBeta(many, 200)).toBe(0.1); // fallback
    expect(activeCount([0.1], 0.1)).toBe(1);
  });
});

describe('α range (DESIGN §5)', () => {
  it('accepts the reference slider [-10, 10] and refuses anything else with E_INPUT', () => {
    for (const a of [-10, -4.1, 0, 10]) expect(() => checkAlpha(a)).not.toThrow();
    for (const a of [-10.5, 11, 1e30, Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = thrownBy(() => checkAlpha(a, '--alpha'));
      expect([e.code, e.message]).toEqual(['E_INPUT', `--alpha must be in [-10, 10], got ${a}`]);
    }
  });

  it('edit refuses --alpha outside it before opening the build', async () => {
    const edit = commands.find((c) => c.path.join(' ') === 'edit')!;
    const io = { out: () => {}, err: () => {}, isTTY: false, env: {}, cwd: '/nowhere' };
    const values = { build: '/nowhere/build', neutral: 'face', target: 'smiling face', out: '/nowhere/x.png', alpha: '-4,0,40' };
    await expect(edit.run({ values, positionals: [], io })).rejects.toThrow('--alpha must be in [-10, 10], got 40');
  });
});
