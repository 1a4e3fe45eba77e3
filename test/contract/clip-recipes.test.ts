/**
 * The tiny-clip bundle as built by its recipe: deterministic bytes, an honest manifest, a tokenizer
 * that matches the text tower, and graphs that load and run through the runtime adapter.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEncoderBundle } from '../../pipeline/models/bundle.ts';
import type { EncoderManifest } from '../../pipeline/models/manifest.ts';
import { CLIP_MEAN, CLIP_STD } from '../../pipeline/models/encoder-bundle.ts';
import { findRecipe } from '../../pipeline/models/recipes/index.ts';
import { ModelSession, float32, int64 } from '../../pipeline/models/runtime.ts';
import { createTokenizer } from '../../pipeline/text/tokenizer.ts';

const work = mkdtempSync(join(tmpdir(), 'styleatlas-clip-'));
const quiet = { log: () => {} };

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('tiny-clip recipe', () => {
  const recipe = findRecipe('tiny-clip')!;
  let manifest: EncoderManifest;
  let dir: string;

  beforeAll(async () => {
    dir = join(work, 'a');
    await recipe.build(dir, quiet);
    manifest = loadEncoderBundle(dir).manifest;
  });

  it('is registered as a default encoder; vitb32-arch only on demand', () => {
    expect(recipe).toMatchObject({ kind: 'encoder', onDemand: false });
    expect(findRecipe('vitb32-arch')).toMatchObject({ kind: 'encoder', onDemand: true });
  });

  it('builds the same bytes twice', async () => {
    const again = join(work, 'b');
    await recipe.build(again, quiet);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['manifest.json', 'text.onnx', 'tokenizer.json', 'visual.onnx']);
    expect(readdirSync(again).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(again, f)).equals(readFileSync(join(dir, f))), f).toBe(true);
  });

  it('says what it is in its manifest', () => {
    expect(manifest.origin).toEqual({ type: 'random', seed: 3, note: 'random weights of the real CLIP architecture; not a trained model' });
    expect(manifest.architecture).toEqual({
      family: 'clip',
      imageSize: 32,
      embedDim: 64,
      contextLength: 77,
      mean: CLIP_MEAN,
      std: CLIP_STD,
      details: { visionWidth: 128, visionLayers: 2, patchSize: 8, textWidth: 128, textLayers: 2, vocabSize: 2514 },
    });
    expect(manifest.tokenizer).toEqual({ vocabSize: 2514, sot: 2512, eot: 2513 });
  });

  it('runs both towers on the contract shapes, with its own tokenizer', async () => {
    const visual = await ModelSession.open(join(dir, manifest.files.visual.path), 'tiny-clip visual');
    const text = await ModelSession.open(join(dir, manifest.files.text.path), 'tiny-clip text');
    const tokenizer = createTokenizer(readFileSync(join(dir, manifest.files.tokenizer.path), 'utf8'));
    try {
      expect(visual.inputs.map((i) => [i.name, i.shape])).toEqual([['pixel_values', ['batch', 3, 32, 32]]]);
      expect(text.inputs.map((i) => [i.name, i.type, i.shape])).toEqual([['input_ids', 'int64', ['batch', 77]]]);

      const pixels = new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i / 7));
      const { image_embeds } = await visual.run({ pixel_values: float32(pixels, [2, 3, 32, 32]) });
      expect(image_embeds.dims).toEqual([2, 64]);

      const batch = tokenizer.encodeBatch(['a photo of a face', 'a smiling face']);
      expect(Math.max(...Array.from(batch.ids.subarray(0, 77), Number))).toBe(manifest.tokenizer.eot);
      const { text_embeds } = await text.run({ input_ids: int64(batch.ids, [2, 77]) });
      expect(text_embeds.dims).toEqual([2, 64]);
      // Random weights, but not degenerate: embeddings have unit-order norms and differ per input.
      const e = text_embeds.data as Float32Array;
      const norm = (v: Float32Array) => Math.hypot(...v);
      const [a, b] = [e.subarray(0, 64), e.subarray(64)];
      const cos = a.reduce((s, v, i) => s + v * b[i], 0) / (norm(a) * norm(b));
      expect(norm(a)).toBeGreaterThan(1);
      expect(norm(a)).toBeLessThan(100);
      expect(cos).toBeLessThan(0.999);
    } finally {
      await visual.release();
      await text.release();
    }
  });
});
