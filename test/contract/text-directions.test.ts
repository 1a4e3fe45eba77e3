/**
 * Text directions through the real text towers of the shipped bundles (tiny-clip, colour-world):
 * t(p) against an independent one-text-at-a-time computation, Δt's meaning on the colour-world
 * oracle, the SQLite cache (bytes, keys, corruption) and every bad input's code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { writeClipBundle, randomClipWeights } from '../../pipeline/models/recipes/clip-random.ts';
import { TINY_CLIP_MERGES, tinyClipArch } from '../../pipeline/onnx/clip/arch.ts';
import { AXES, axisIndex } from '../../pipeline/onnx/colour-world-space.ts';
import { type TextEncoder, deltaT, fillTemplate, loadTemplates, textEmbeddings } from '../../pipeline/stages/text-directions.ts';
import { TextCache } from '../../pipeline/store/text-cache.ts';
import { clipTokenizerJson } from '../../pipeline/text/bpe.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { maxAbsDiff } from '../helpers/numeric.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-dt-');
const templates = loadTemplates();
let tiny: Encoder;
let world: Encoder;
/** Same architecture, tokenizer and D as tiny-clip, other weights: a different encoder. */
let tinyOther: Encoder;

beforeAll(async () => {
  tiny = await Encoder.open(modelDir('tiny-clip'), { parts: ['text'] });
  world = await Encoder.open(modelDir('colour-world'), { parts: ['text'] });
  const arch = tinyClipArch();
  const dir = join(tmp, 'tiny-clip-other');
  await writeClipBundle(dir, {
    id: 'tiny-clip-other',
    description: 'tiny-clip with other random weights (test)',
    origin: { type: 'random', seed: 99, note: 'test' },
    arch,
    weights: randomClipWeights(arch, 99),
    tokenizerJson: clipTokenizerJson(readFileSync(join(REPO, 'data/clip/bpe_simple_vocab_16e6.txt.gz')), { maxMerges: TINY_CLIP_MERGES }),
  });
  tinyOther = await Encoder.open(dir, { parts: ['text'] });
});
afterAll(async () => {
  await Promise.all([tiny?.release(), world?.release(), tinyOther?.release()]);
});

/** The definition, one text per run, float64: n(mean_k n(E_T(template_k(p)))). */
async function reference(enc: Encoder, prompt: string): Promise<Float64Array> {
  const d = enc.dim;
  const mean = new Float64Array(d);
  for (const t of templates) {
    const tokens = enc.tokenizer.encodeBatch([t.replace('{}', () => prompt)]);
    const e = await enc.encodeTokenIds(tokens.ids, 1);
    const len = Math.hypot(...e);
    for (let i = 0; i < d; i++) mean[i] += e[i] / len / templates.length;
  }
  const len = Math.hypot(...mean);
  return mean.map((v) => v / len);
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StyleAtlasError) return { code: e.code, message: e.message, hint: e.hint };
    throw e;
  }
  throw new Error('expected a coded error, got a result');
}

/** Counts text-tower runs, to show that validation comes before any model work. */
function counting(enc: Encoder): { enc: TextEncoder; runs: () => number } {
  let runs = 0;
  const wrapped: TextEncoder = {
    tokenizer: enc.tokenizer,
    dim: enc.dim,
    bundle: enc.bundle,
    encodeTokenIds: (ids, batch) => {
      runs++;
      return enc.encodeTokenIds(ids, batch);
    },
  };
  return { enc: wrapped, runs: () => runs };
}

const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

describe('t(p) over the 79 templates', () => {
  it('equals the one-text-at-a-time definition to 1e-6, whatever the batch size (tiny-clip, colour-world)', async () => {
    const prompts = ['face', 'a smiling face with red hair', 'Café crème 😀'];
    for (const enc of [tiny, world]) {
      const want = await Promise.all(prompts.map((p) => reference(enc, p)));
      // 7 does not divide 79: batches straddle the prompt boundaries.
      for (const batch of [256, 7, 1000]) {
        const got = await textEmbeddings(enc, prompts, { templates, batch });
        expect(got.textsEncoded).toBe(3 * 79);
        got.t.forEach((t, i) => expect(maxAbsDiff(t, want[i]), `${enc.manifest.id} "${prompts[i]}" batch ${batch}`).toBeLessThan(1e-6));
      }
    }
  });

  it('fills the slot of every template literally (no "$&" replacement patterns)', () => {
    expect(fillTemplate('a photo of a {}.', 'face')).toBe('a photo of a face.');
    expect(fillTemplate('a photo of a {}.', '$& and $1')).toBe('a photo of a $& and $1.');
  });

  it('non-ASCII text is tokenized and gives a finite unit t(p), distinct from its ASCII spelling', async () => {
    const { t } = await textEmbeddings(tiny, ['Café crème', 'Cafe creme', '😀'], { templates });
    for (const v of t) {
      expect(v.every(Number.isFinite)).toBe(true);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    expect(maxAbsDiff(t[0], t[1])).toBeGreaterThan(1e-3);
    expect(tiny.tokenizer.encode('😀').length).toBeGreaterThan(2); // byte tokens, not dropped
  });
});

describe('Δt on the colour-world oracle', () => {
  const nearest = (v: Float32Array) => AXES[v.reduce((best, x, i) => (Math.abs(x) > Math.abs(v[best]) ? i : best), 0)];

  it('"photo" → "bright photo" is closest to the brightness axis, "photo" → "red photo" to the red axis', async () => {
    const bright = await deltaT(world, 'photo', 'bright photo', { templates });
    expect(nearest(bright.deltaT)).toBe('brightness');
    expect(bright.deltaT[axisIndex('brightness')]).toBeGreaterThan(0.9);
    const red = await deltaT(world, 'photo', 'red photo', { templates });
    expect(nearest(red.deltaT)).toBe('red');
    expect(red.deltaT[axisIndex('red')]).toBeGreaterThan(0.5);
    const dark = await deltaT(world, 'photo', 'dark photo', { templates });
    expect(dark.deltaT[axisIndex('brightness')]).toBeLessThan(-0.9);
    for (const r of [bright, red, dark]) {
      expect(Math.hypot(...r.deltaT)).toBeCloseTo(1, 6);
      expect(r.cosine).toBeGreaterThan(0.5);
      expect(r.cosine).toBeLessThan(0.999);
      expect(r.normBefore).toBeCloseTo(Math.sqrt(2 - 2 * r.cosine), 6); // unit t's: ‖a − b‖² = 2 − 2 cos
    }
  });
});

describe('text-embedding cache', () => {
  it('a second run is all hits and returns the same bytes; the cache persists across opens', async () => {
    const path = join(tmp, 'cache-a.sqlite');
    const c1 = TextCache.open(path);
    const cold = await deltaT(tiny, 'face', 'smiling face', { templates, cache: c1 });
    expect([cold.cacheHits, cold.textsEncoded]).toEqual([0, 158]);
    c1.close();
    const c2 = TextCache.open(path);
    const { enc, runs } = counting(tiny);
    const warm = await deltaT(enc, 'face', 'smiling face', { templates, cache: c2 });
    expect([warm.cacheHits, warm.textsEncoded, runs()]).toEqual([2, 0, 0]);
    expect(bytes(warm.tNeutral).equals(bytes(cold.tNeutral))).toBe(true);
    expect(bytes(warm.tTarget).equals(bytes(cold.tTarget))).toBe(true);
    expect(bytes(warm.deltaT).equals(bytes(cold.deltaT))).toBe(true);
    expect(c2.size()).toBe(2);
    c2.close();
  });

  it('is keyed by encoder and by template set: another encoder or template list never gets a cached vector', async () => {
    const cache = TextCache.open(join(tmp, 'cache-b.sqlite'));
    const [a] = (await textEmbeddings(tiny, ['face'], { templates, cache })).t;
    const other = await textEmbeddings(tinyOther, ['face'], { templates, cache });
    expect(other.cacheHits).toBe(0);
    expect(maxAbsDiff(other.t[0], a)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(other.t[0], await reference(tinyOther, 'face'))).toBeLessThan(1e-6);
    const few = await textEmbeddings(tiny, ['face'], { templates: templates.slice(0, 5), cache });
    expect(few.cacheHits).toBe(0);
    expect(few.textsEncoded).toBe(5);
    expect(maxAbsDiff(few.t[0], a)).toBeGreaterThan(1e-4);
    const again = await textEmbeddings(tiny, ['face'], { templates, cache });
    expect(again.cacheHits).toBe(1);
    expect(bytes(again.t[0]).equals(bytes(a))).toBe(true);
    expect(cache.size()).toBe(3);
    cache.close();
  });

  it('a file that is not a database, or a damaged row, is E_STORE saying to delete the file', async () => {
    const junk = join(tmp, 'junk.sqlite');
    writeFileSync(junk, 'this is not an SQLite database, just some bytes '.repeat(100));
    const open = await codeOf((async () => TextCache.open(junk))());
    expect(open.code).toBe('E_STORE');
    expect(open.hint).toMatch(/delete .*junk\.sqlite/);

    const path = join(tmp, 'cache-c.sqlite');
    const cache = TextCache.open(path);
    await textEmbeddings(tiny, ['face'], { templates, cache });
    const raw = new Database(path);
    raw.prepare('UPDATE prompt_embeddings SET embedding = ?').run(Buffer.alloc(12));
    raw.close();
    const bad = await codeOf(textEmbeddings(tiny, ['face'], { templates, cache }));
    expect(bad.code).toBe('E_STORE');
    expect(bad.message).toMatch(/"face" holds 12 bytes/);
    expect(bad.hint).toMatch(/delete/);
    cache.close();
  });
});

describe('bad inputs are coded errors', () => {
  it('empty or whitespace-only prompts: E_PROMPT "prompt is empty"', async () => {
    for (const [n, t] of [['', 'face'], ['face', '   '], ['\t\n', 'face']]) {
      const e = await codeOf(deltaT(tiny, n, t, { templates }));
      expect(e.code).toBe('E_PROMPT');
      expect(e.message).toMatch(/prompt is empty/);
    }
    expect((await codeOf(textEmbeddings(tiny, ['face', ' '], { templates }))).message).toBe('prompt 2 of 2: prompt is empty (only whitespace)');
  });

  it('over 77 tokens in any template: E_PROMPT with the prompt, its token count and the limit, before any encoding', async () => {
    // "face" is one token in tiny-clip; the longest template adds 14 (sot and eot included).
    const faces = (n: number) => Array(n).fill('face').join(' ');
    const longest = Math.max(...templates.map((t) => tiny.tokenizer.encode(fillTemplate(t, faces(1))).length));
    expect(longest).toBe(15);
    const fits = await textEmbeddings(tiny, [faces(63)], { templates });
    expect(fits.t[0].every(Number.isFinite)).toBe(true);
    const { enc, runs } = counting(tiny);
    const e = await codeOf(textEmbeddings(enc, ['face', faces(64)], { templates }));
    expect(e.code).toBe('E_PROMPT');
    expect(e.message).toContain('"face face face');
    expect(e.message).toMatch(/is 64 tokens; in template ".*" it is 78, over the limit of 77/);
    expect(e.hint).toMatch(/at most 63 tokens/);
    expect(runs()).toBe(0);
  });

  it('identical neutral and target (also after CLIP lower-cases): E_PROMPT, Δt is undefined', async () => {
    for (const [n, t] of [['face', 'face'], ['Face', '  face ']]) {
      const e = await codeOf(deltaT(tiny, n, t, { templates }));
      expect(e.code).toBe('E_PROMPT');
      expect(e.message).toMatch(/^neutral and target are the same prompt: Δt is undefined/);
    }
  });

  it('prompts the encoder cannot tell apart: E_NUMERIC, not a NaN direction', async () => {
    // colour-world maps "smiling" to nothing (docs/colour-world.md), so both t's are the same vector.
    const e = await codeOf(deltaT(world, 'face', 'smiling face', { templates }));
    expect(e.code).toBe('E_NUMERIC');
    expect(e.message).toMatch(/differ by .* \(< 0\.000001\)/);
  });

  it('unknown encoder folder: E_MISSING with a hint; a bad template file: E_MISSING / E_INPUT', async () => {
    const e = await codeOf(Encoder.open(join(tmp, 'no-such-encoder'), { parts: ['text'] }));
    expect(e.code).toBe('E_MISSING');
    expect(e.hint).toMatch(/models build/);
    expect((await codeOf((async () => loadTemplates(join(tmp, 'none.json')))())).code).toBe('E_MISSING');
    const noSlot = join(tmp, 'no-slot.json');
    writeFileSync(noSlot, JSON.stringify(['a photo of a {}.', 'a photo']));
    const t = await codeOf((async () => loadTemplates(noSlot))());
    expect([t.code, t.message]).toEqual(['E_INPUT', `${noSlot}: template 1 must be a string with exactly one "{}" slot, found "a photo"`]);
  });
});
