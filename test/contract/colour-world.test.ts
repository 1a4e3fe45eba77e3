/**
 * The colour-world encoder as an oracle: its graphs, built by the recipe into a fresh bundle and
 * run through onnxruntime, must measure what the axes say and give the words their meaning.
 * Images are made in generator space ([-1, 1], 64×64) and preprocessed by the TypeScript reference.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipPreprocess } from '../../pipeline/core/preprocess.ts';
import { bundlePath, loadEncoderBundle } from '../../pipeline/models/bundle.ts';
import { CLIP_MEAN, CLIP_STD } from '../../pipeline/models/encoder-bundle.ts';
import { colourWorldRecipe } from '../../pipeline/models/recipes/colour-world.ts';
import { ModelSession, float32, int64 } from '../../pipeline/models/runtime.ts';
import { AXES, FEATURE_AXES, axisIndex, chromaOf } from '../../pipeline/onnx/colour-world-space.ts';
import { type ClipTokenizer, createTokenizer } from '../../pipeline/text/tokenizer.ts';

const G = 64; // generator image side
let dir: string;
let S: number;
let visual: ModelSession;
let text: ModelSession;
let tok: ClipTokenizer;

beforeAll(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'styleatlas-cw-')), 'colour-world');
  await colourWorldRecipe.build(dir, { log: () => {} });
  const b = loadEncoderBundle(dir);
  S = b.manifest.architecture.imageSize;
  visual = await ModelSession.open(bundlePath(b, b.manifest.files.visual), 'colour-world visual');
  text = await ModelSession.open(bundlePath(b, b.manifest.files.text), 'colour-world text');
  tok = createTokenizer(readFileSync(bundlePath(b, b.manifest.files.tokenizer), 'utf8'));
});
afterAll(async () => {
  await Promise.all([visual?.release(), text?.release()]);
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

const D = AXES.length;
const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
const n = (v: ArrayLike<number>) => Float64Array.from(v, (x) => x / norm(v));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => dot(a, b) / (norm(a) * norm(b));
const split = (flat: Float32Array) => Array.from({ length: flat.length / D }, (_, i) => flat.slice(i * D, (i + 1) * D));

async function embedTexts(prompts: string[]): Promise<Float32Array[]> {
  const batch = tok.encodeBatch(prompts);
  const out = await text.run({ input_ids: int64(batch.ids, [batch.batch, batch.contextLength]) });
  return split(out.text_embeds.data as Float32Array);
}

async function embedPixels(pixelValues: Float32Array, batch: number): Promise<Float32Array[]> {
  const out = await visual.run({ pixel_values: float32(pixelValues, [batch, 3, S, S]) });
  return split(out.image_embeds.data as Float32Array);
}

/** Generator images [B, 3, G, G] in [-1, 1] → image embeddings, through the reference preprocessing. */
async function embedImages(images: Float32Array[]): Promise<Float32Array[]> {
  const flat = new Float32Array(images.length * 3 * G * G);
  images.forEach((im, b) => flat.set(im, b * 3 * G * G));
  return embedPixels(clipPreprocess(flat, images.length, { inSize: G, outSize: S, mean: CLIP_MEAN, std: CLIP_STD }), images.length);
}

/** An image from a per-pixel colour function (RGB in [0, 1]) in generator space. */
function paint(f: (y: number, x: number) => readonly number[]): Float32Array {
  const im = new Float32Array(3 * G * G);
  for (let y = 0; y < G; y++) for (let x = 0; x < G; x++) f(y / G, x / G).forEach((v, c) => (im[(c * G + y) * G + x] = 2 * v - 1));
  return im;
}

/** Mix a generator image toward a colour: (1 − t)·image + t·colour, in [0, 1] RGB. */
function toward(im: Float32Array, rgb: readonly number[], t: number): Float32Array {
  return im.map((v, i) => (1 - t) * v + t * (2 * rgb[Math.floor(i / (G * G))] - 1));
}

/** Δt for single prompts: n(n(E_T(target)) − n(E_T(neutral))). */
async function deltaT(neutral: string, target: string): Promise<Float64Array> {
  const [a, b] = await embedTexts([neutral, target]);
  const na = n(a);
  return n(n(b).map((v, i) => v - na[i]));
}

/** The feature axis with the largest |cosine| to v, and that cosine. */
function nearestAxis(v: ArrayLike<number>): { axis: string; cosine: number } {
  let best = { axis: '', cosine: 0 };
  const u = n(v);
  for (const a of FEATURE_AXES) if (Math.abs(u[axisIndex(a)]) > Math.abs(best.cosine)) best = { axis: a, cosine: u[axisIndex(a)] };
  return best;
}

const photos = [
  paint((y, x) => [0.5 + 0.3 * Math.sin(5 * x), 0.45 + 0.2 * Math.cos(4 * y), 0.4 + 0.25 * x * y]),
  paint((y, x) => [0.2 + 0.6 * y, 0.6 - 0.3 * x, 0.55]),
  paint((y, x) => (Math.hypot(y - 0.5, x - 0.5) < 0.3 ? [0.3, 0.6, 0.8] : [0.7, 0.65, 0.3])),
];

describe('colour-world image side measures what its axes say', () => {
  it('a uniform colour: chroma, brightness, saturation and contrast exactly; no region differs from the frame', async () => {
    const [r, g, b] = [0.8, 0.3, 0.2];
    const pixelValues = Float32Array.from({ length: 3 * S * S }, (_, i) => {
      const c = Math.floor(i / (S * S));
      return ([r, g, b][c] - CLIP_MEAN[c]) / CLIP_STD[c];
    });
    const [e] = await embedPixels(pixelValues, 1);
    const c = chromaOf(r, g, b);
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const want: Record<string, number> = { red: c.red!, green: c.green!, blue: c.blue!, brightness: y - 0.5, saturation: 0.6 - 0.2, contrast: -0.2, image: 1, prompt: 0 };
    for (const region of ['top', 'bottom', 'left', 'right', 'centre']) for (const t of ['red', 'green', 'blue', 'brightness']) want[`${region}.${t}`] = 0;
    for (const [axis, v] of Object.entries(want)) expect(e[axisIndex(axis)], axis).toBeCloseTo(v, 4);
    expect(e.slice(28).every((v) => v === 0)).toBe(true);
  });

  it('white top / black bottom: regions relative to the frame, contrast 0.5 (edge softened by the resize)', async () => {
    const [e] = await embedImages([paint((y) => (y < 0.5 ? [1, 1, 1] : [0, 0, 0]))]);
    expect(e[axisIndex('brightness')]).toBeCloseTo(0, 2);
    expect(e[axisIndex('top.brightness')]).toBeCloseTo(0.5, 2);
    expect(e[axisIndex('bottom.brightness')]).toBeCloseTo(-0.5, 2);
    expect(e[axisIndex('left.brightness')]).toBeCloseTo(0, 2);
    expect(e[axisIndex('centre.brightness')]).toBeCloseTo(0, 2);
    expect(e[axisIndex('contrast')]).toBeCloseTo(0.5 - 0.2, 2);
  });
});

describe('colour-world oracle: words mean what pixels show', () => {
  it('making an image redder raises its cosine with "a red photo" and lowers it with "a blue photo"', async () => {
    const [red, blue] = await embedTexts(['a red photo', 'a blue photo']);
    const steps = [0, 0.15, 0.3, 0.45, 0.6];
    for (const photo of photos) {
      const es = await embedImages(steps.map((t) => toward(photo, [1, 0, 0], t)));
      for (let k = 1; k < steps.length; k++) {
        expect(cos(es[k], red)).toBeGreaterThan(cos(es[k - 1], red));
        expect(cos(es[k], blue)).toBeLessThan(cos(es[k - 1], blue));
      }
      expect(cos(es[steps.length - 1], red)).toBeGreaterThan(0.1);
      expect(cos(es[steps.length - 1], blue)).toBeLessThan(0);
    }
  });

  it('Δt("photo" → "bright photo") is closest to the brightness axis; other words to theirs, with their sign', async () => {
    const cases: [string, string, number][] = [
      ['a bright photo', 'brightness', 1],
      ['a dark photo', 'brightness', -1],
      ['a red photo', 'red', 1],
      ['a cyan photo', 'red', -1], // cyan = −red chroma (two tokens: cy + an</w>)
      ['a blue photo', 'blue', 1],
      ['a yellow photo', 'blue', -1],
      ['a vivid photo', 'saturation', 1],
      ['a desaturated photo', 'saturation', -1], // de + saturated</w>: not +saturation
      ['a black and white photo', 'saturation', -1],
      ['a high contrast photo', 'contrast', 1],
      ['a low-contrast photo', 'contrast', -1],
    ];
    for (const [target, axis, sign] of cases) {
      const { axis: got, cosine } = nearestAxis(await deltaT('a photo', target));
      expect(`${target}: ${got}`).toBe(`${target}: ${axis}`);
      expect(Math.sign(cosine), target).toBe(sign);
    }
    const bright = await deltaT('a photo', 'a bright photo');
    expect(bright[axisIndex('brightness')]).toBeGreaterThan(0.95);
  });

  it('template, function and unknown words are neutral; a split word does not leak into its pieces', async () => {
    const es = await embedTexts(['a photo', 'a photo of the', 'a photo of a red car.', 'red', 'an orange photo', 'orange', 'a photo of an animal']);
    expect(cos(es[0], es[1])).toBeGreaterThan(1 - 1e-6);
    expect(cos(es[2], es[3])).toBeGreaterThan(1 - 1e-6);
    expect(cos(es[4], es[5])).toBeGreaterThan(1 - 1e-6); // "an" alone is not half of "cyan"
    expect(cos(es[6], es[0])).toBeGreaterThan(1 - 1e-6);
    expect(cos(es[3], es[0])).toBeLessThan(0.9); // and "red" is not neutral
  });

  it('an image with a red top half scores higher for "red top" than for "red bottom" (and so on)', async () => {
    const grey = [0.5, 0.5, 0.5];
    const pairs: [string, string, (y: number, x: number) => boolean][] = [
      ['a red top', 'a red bottom', (y) => y < 0.5],
      ['a red bottom', 'a red top', (y) => y >= 0.5],
      ['red on the left', 'red on the right', (_, x) => x < 0.5],
      ['red in the centre', 'red at the top', (y, x) => Math.abs(y - 0.5) < 0.25 && Math.abs(x - 0.5) < 0.25],
    ];
    for (const [yes, no, where] of pairs) {
      const [img] = await embedImages([paint((y, x) => (where(y, x) ? [1, 0, 0] : grey))]);
      const [tYes, tNo] = await embedTexts([yes, no]);
      expect(cos(img, tYes), `${yes} vs ${no}`).toBeGreaterThan(cos(img, tNo) + 0.02);
    }
  });

  it('padding after <|endoftext|> does not count: zeros, repeated <|endoftext|> and stray tokens agree', async () => {
    const ids = tok.encode('a bright red photo');
    const rows = [0, tok.eot, 736].map((pad) => Array.from({ length: 77 }, (_, i) => BigInt(i < ids.length ? ids[i] : pad)));
    const out = await text.run({ input_ids: int64(BigInt64Array.from(rows.flat()), [3, 77]) });
    const [a, b, c] = split(out.text_embeds.data as Float32Array);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).toEqual(Array.from(a));
  });
});
