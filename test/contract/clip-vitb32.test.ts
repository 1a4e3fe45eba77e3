/**
 * vitb32-arch: the ViT-B/32 shapes (151 M parameters, ~580 MiB of ONNX) built, loaded by
 * onnxruntime and checked against the TypeScript reference on one image and one prompt.
 * Part of the contract project, so `npm test` runs it: it needs ~2.5 GiB of memory and one to two
 * minutes (134 s on a shared 2-core machine, 31 s of it CPU).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { loadEncoderBundle } from '../../pipeline/models/bundle.ts';
import { randomClipWeights, vitB32ArchRecipe } from '../../pipeline/models/recipes/clip-random.ts';
import { ModelSession, float32, int64 } from '../../pipeline/models/runtime.ts';
import { vitB32Arch } from '../../pipeline/onnx/clip/arch.ts';
import { createTokenizer } from '../../pipeline/text/tokenizer.ts';
import { tempDir } from '../helpers/tmp.ts';
import { referenceClipText, referenceClipVisual } from '../reference/clip-ref.ts';

const work = tempDir('styleatlas-vitb32-');

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

describe('vitb32-arch', () => {
  it('builds, loads in onnxruntime, and agrees with the reference on one image and one prompt', { timeout: 600_000 }, async () => {
    const dir = join(work, 'vitb32-arch');
    await vitB32ArchRecipe.build(dir, { log: () => {} });
    const { manifest } = loadEncoderBundle(dir);
    expect(manifest.architecture).toMatchObject({ imageSize: 224, embedDim: 512, contextLength: 77 });
    expect(manifest.tokenizer).toEqual({ vocabSize: 49408, sot: 49406, eot: 49407 });
    // The recipe's weights, drawn again from the same seed (the build is deterministic).
    const weights = randomClipWeights(vitB32Arch(), manifest.origin.type === 'random' ? manifest.origin.seed : -1);

    const visual = await ModelSession.open(join(dir, manifest.files.visual.path), 'vitb32 visual');
    const pixels = new Xoshiro128(9).fillNormal(new Float32Array(3 * 224 * 224));
    const { image_embeds } = await visual.run({ pixel_values: float32(pixels, [1, 3, 224, 224]) });
    await visual.release();
    expect(image_embeds.dims).toEqual([1, 512]);
    expect(relError(image_embeds.data as Float32Array, referenceClipVisual(weights, pixels, 1)[0])).toBeLessThan(1e-4);

    const text = await ModelSession.open(join(dir, manifest.files.text.path), 'vitb32 text');
    const tokenizer = createTokenizer(readFileSync(join(dir, manifest.files.tokenizer.path), 'utf8'));
    const batch = tokenizer.encodeBatch(['a photo of a smiling face']);
    const { text_embeds } = await text.run({ input_ids: int64(batch.ids, [1, 77]) });
    await text.release();
    expect(text_embeds.dims).toEqual([1, 512]);
    const ids = Array.from(batch.ids, Number);
    expect(relError(text_embeds.data as Float32Array, referenceClipText(weights, [ids])[0])).toBeLessThan(1e-4);
  });
});
