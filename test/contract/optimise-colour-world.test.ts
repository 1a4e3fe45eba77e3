/**
 * Method 1 checked for meaning on the colour-world oracle (tiny generator + hand-built encoder, whose
 * "CLIP space" measures colour): optimising "a red photo" makes every image redder, ‖w − w_s‖² stays
 * within what λ_L2 allows, a large λ_L2 barely changes the image, the loss curves fall, samples in
 * one batch are independent problems, and the same inputs give the same codes bit for bit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pixelStats } from '../../pipeline/core/image.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { Identity } from '../../pipeline/models/identity.ts';
import { LatentOptimiser, METHOD1_DEFAULTS, type OptimiseRun, type OptimiseSettings } from '../../pipeline/stages/optimise.ts';
import { modelDir } from '../helpers/bundles.ts';

const SEEDS = [0, 1, 2, 3];
const STEPS = 100;
let gen: Generator;
let enc: Encoder;
let opt: LatentOptimiser;
let wsStart: Float32Array;
let red: OptimiseRun;

const settings = (over: Partial<OptimiseSettings> = {}): OptimiseSettings => ({
  target: 'a red photo',
  steps: STEPS,
  lr: METHOD1_DEFAULTS.lr,
  lambdaL2: METHOD1_DEFAULTS.lambdaL2,
  lambdaId: 0,
  batch: SEEDS.length,
  ...over,
});

/** Mean red chroma R − Y of sample k, in [0, 1] units. */
function redness(images: Float32Array, k: number): number {
  const res = gen.arch.resolution;
  const s = pixelStats(images, k, res, res);
  return s.red - s.brightness;
}

function meanAbsChange(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(Math.max(-1, Math.min(1, a[i])) - Math.max(-1, Math.min(1, b[i])));
  return s / a.length;
}

beforeAll(async () => {
  gen = await Generator.open(modelDir('tiny'));
  enc = await Encoder.open(modelDir('colour-world'));
  opt = await LatentOptimiser.open(gen, enc);
  wsStart = await gen.wsForSeeds(SEEDS, METHOD1_DEFAULTS.psi);
  red = await opt.optimise(wsStart, SEEDS.length, settings());
}, 300_000);

afterAll(async () => {
  await opt?.release();
  await enc?.release();
  await gen?.release();
});

describe('"a red photo" on the colour-world oracle', () => {
  it('makes every image redder (pixels)', () => {
    const gains = SEEDS.map((_, k) => redness(red.after, k) - redness(red.before, k));
    console.log(`redness gain per sample (R − Y): ${gains.map((g) => g.toFixed(3)).join(', ')}`);
    for (const g of gains) expect(g).toBeGreaterThan(0.1);
  });

  it('lowers every loss curve, and D_CLIP with it', () => {
    const first = red.curve[0];
    const last = red.curve[red.curve.length - 1];
    expect(red.curve).toHaveLength(STEPS + 1);
    SEEDS.forEach((_, k) => {
      expect(last.loss[k]).toBeLessThan(first.loss[k] - 0.05);
      expect(last.clip[k]).toBeLessThan(first.clip[k] - 0.05);
      const head = red.curve.slice(0, 10).reduce((s, p) => s + p.loss[k], 0) / 10;
      const tail = red.curve.slice(-10).reduce((s, p) => s + p.loss[k], 0) / 10;
      expect(tail).toBeLessThan(head);
    });
  });

  it('keeps ‖w − w_s‖² within what λ_L2 allows: λ‖Δ‖² ≤ D_CLIP(start) − D_CLIP(end) ≤ 2', () => {
    const first = red.curve[0];
    const last = red.curve[red.curve.length - 1];
    SEEDS.forEach((_, k) => {
      expect(first.l2[k]).toBe(0);
      expect(last.l2[k]).toBeGreaterThan(0);
      expect(METHOD1_DEFAULTS.lambdaL2 * last.l2[k]).toBeLessThanOrEqual(first.clip[k] - last.clip[k] + 1e-6);
      expect(last.l2[k]).toBeLessThanOrEqual(2 / METHOD1_DEFAULTS.lambdaL2);
    });
  });

  it('barely changes the image with λ_L2 large, and moves the codes far less', async () => {
    const stiff = await opt.optimise(wsStart, SEEDS.length, settings({ lambdaL2: 10 }));
    const loose = meanAbsChange(red.after, red.before);
    const tight = meanAbsChange(stiff.after, stiff.before);
    const l2 = (r: OptimiseRun) => r.curve[r.curve.length - 1].l2.reduce((a, b) => a + b, 0);
    console.log(`mean |Δpixel|: λ_L2 0.008 → ${loose.toFixed(4)}, λ_L2 10 → ${tight.toFixed(4)}; Σ‖Δw‖²: ${l2(red).toFixed(3)} vs ${l2(stiff).toFixed(5)}`);
    expect(loose).toBeGreaterThan(0.1);
    expect(tight).toBeLessThan(loose / 10);
    expect(l2(stiff)).toBeLessThan(l2(red) / 100);
  }, 300_000);
});

describe('the identity term (tiny-ir-se, random weights)', () => {
  it('keeps the identity features closer with λ_ID > 0 than without, while the image still turns red', async () => {
    const identity = Identity.open(modelDir('tiny-ir-se')).graphFor(gen.arch.resolution);
    const withId = await LatentOptimiser.open(gen, enc, { identity });
    try {
      const free = await withId.optimise(wsStart, SEEDS.length, settings({ steps: 40 }));
      const kept = await withId.optimise(wsStart, SEEDS.length, settings({ steps: 40, lambdaId: 2 }));
      const idOf = (r: OptimiseRun) => r.curve[r.curve.length - 1].id!;
      console.log(`L_ID at the end: λ_ID 0 → ${idOf(free).map((v) => v.toFixed(4)).join(', ')}; λ_ID 2 → ${idOf(kept).map((v) => v.toFixed(4)).join(', ')}`);
      SEEDS.forEach((_, k) => {
        expect(free.curve[0].id![k]).toBeCloseTo(0, 5); // R(G(w_s)) against itself
        expect(idOf(kept)[k]).toBeLessThan(idOf(free)[k]);
        expect(redness(kept.after, k)).toBeGreaterThan(redness(kept.before, k));
      });
    } finally {
      await withId.release();
    }
  }, 300_000);
});

describe('determinism and batches', () => {
  it('gives the same codes bit for bit for the same inputs', async () => {
    const again = await opt.optimise(wsStart, SEEDS.length, settings());
    expect(Buffer.from(again.ws.buffer).equals(Buffer.from(red.ws.buffer))).toBe(true);
  }, 300_000);

  it('treats every start code as its own problem: one at a time gives what the batch gave', async () => {
    const single = await opt.optimise(wsStart, SEEDS.length, settings({ batch: 1 }));
    let num = 0;
    let den = 0;
    for (let i = 0; i < red.ws.length; i++) {
      num += (single.ws[i] - red.ws[i]) ** 2;
      den += (red.ws[i] - wsStart[i]) ** 2;
    }
    // Float32 rounding differs with the batch size; the paths agree far inside the distance travelled.
    expect(Math.sqrt(num / den)).toBeLessThan(1e-2);
  }, 300_000);
});
