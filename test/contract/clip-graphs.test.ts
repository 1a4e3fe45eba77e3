/**
 * The ONNX CLIP towers against the independent TypeScript forward (test/reference/clip-ref.ts), on
 * the tiny shapes with random weights; the end-of-text pooling; shape errors when loading weights.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { randomClipWeights } from '../../pipeline/models/recipes/clip-random.ts';
import { ModelSession, float32, int64 } from '../../pipeline/models/runtime.ts';
import { TINY_CLIP_MERGES, tinyClipArch } from '../../pipeline/onnx/clip/arch.ts';
import { buildClipText, buildClipVisual } from '../../pipeline/onnx/clip/graphs.ts';
import { type StateDict, f32 } from '../../pipeline/onnx/params.ts';
import { clipTokenizerJson } from '../../pipeline/text/bpe.ts';
import { createTokenizer } from '../../pipeline/text/tokenizer.ts';
import { REPO } from '../helpers/bundles.ts';
import { referenceClipText, referenceClipTextAllPositions, referenceClipVisual } from '../reference/clip-ref.ts';

const arch = tinyClipArch();
const N = arch.contextLength;
const D = arch.embedDim;
const weights = randomClipWeights(arch, 11);

/** max |a − b| over the largest |b|: the error relative to the output's scale. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

function rows(flat: Float32Array, width: number): Float32Array[] {
  return Array.from({ length: flat.length / width }, (_, i) => flat.subarray(i * width, (i + 1) * width));
}

let visual: ModelSession;
let text: ModelSession;

beforeAll(async () => {
  visual = await ModelSession.open(buildClipVisual(arch, weights).toBytes(), 'tiny visual');
  text = await ModelSession.open(buildClipText(arch, weights).toBytes(), 'tiny text');
});

afterAll(async () => {
  await visual?.release();
  await text?.release();
});

async function encodeText(idRows: readonly (readonly number[])[]): Promise<Float32Array[]> {
  const ids = new BigInt64Array(idRows.length * N);
  idRows.forEach((r, b) => r.forEach((id, t) => (ids[b * N + t] = BigInt(id))));
  const { text_embeds } = await text.run({ input_ids: int64(ids, [idRows.length, N]) });
  expect(text_embeds.dims).toEqual([idRows.length, D]);
  return rows(text_embeds.data as Float32Array, D);
}

describe('image tower', () => {
  it('declares the encoder contract', () => {
    expect(visual.inputs).toEqual([{ name: 'pixel_values', type: 'float32', shape: ['batch', 3, 32, 32] }]);
    expect(visual.outputs).toEqual([{ name: 'image_embeds', type: 'float32', shape: ['batch', D] }]);
  });

  it('agrees with the TypeScript reference to 1e-4 (relative)', async () => {
    const batch = 3;
    const pixels = new Xoshiro128(5).fillNormal(new Float32Array(batch * 3 * 32 * 32));
    const { image_embeds } = await visual.run({ pixel_values: float32(pixels, [batch, 3, 32, 32]) });
    expect(image_embeds.dims).toEqual([batch, D]);
    const ref = referenceClipVisual(weights, pixels, batch);
    const got = rows(image_embeds.data as Float32Array, D);
    for (let b = 0; b < batch; b++) expect(relError(got[b], ref[b])).toBeLessThan(1e-4);
    // Distinct images give distinct embeddings: the batch axis is not mixed up.
    expect(relError(got[0], got[1])).toBeGreaterThan(0.05);
  });
});

describe('text tower', () => {
  const tokenizer = createTokenizer(
    clipTokenizerJson(readFileSync(join(REPO, 'data/clip/bpe_simple_vocab_16e6.txt.gz')), { maxMerges: TINY_CLIP_MERGES }),
  );
  const eot = tokenizer.eot;
  const padded = (ids: number[]) => [...ids, ...new Array(N - ids.length).fill(0)];
  const randomIds = (rng: Xoshiro128, n: number) => Array.from({ length: n }, () => rng.nextUint32() % eot);

  it('declares the encoder contract', () => {
    expect(text.inputs).toEqual([{ name: 'input_ids', type: 'int64', shape: ['batch', N] }]);
    expect(text.outputs).toEqual([{ name: 'text_embeds', type: 'float32', shape: ['batch', D] }]);
    expect(eot).toBe(arch.vocabSize - 1);
  });

  it('agrees with the TypeScript reference to 1e-4 (relative)', async () => {
    const rng = new Xoshiro128(6);
    const idRows = [
      padded(tokenizer.encode('a photo of a smiling face')),
      padded(tokenizer.encode('')),
      [tokenizer.sot, ...randomIds(rng, N - 2), eot], // a full context: eot in the last position
    ];
    const got = await encodeText(idRows);
    const ref = referenceClipText(weights, idRows);
    for (let b = 0; b < idRows.length; b++) expect(relError(got[b], ref[b])).toBeLessThan(1e-4);
  });

  it('pools the features at the end-of-text position (argmax of ids)', async () => {
    const ids = padded([tokenizer.sot, ...randomIds(new Xoshiro128(7), 6), eot]); // eot at 7
    const [got] = await encodeText([ids]);
    const all = referenceClipTextAllPositions(weights, ids);
    expect(relError(got, all[7])).toBeLessThan(1e-4);
    for (const other of [0, 6, 8, N - 1]) expect(relError(got, all[other])).toBeGreaterThan(0.05);
  });

  it('ignores tokens after the end-of-text token (causal mask), and follows where eot is', async () => {
    const rng = new Xoshiro128(8);
    const prefix = [tokenizer.sot, ...randomIds(rng, 5)];
    const clean = padded([...prefix, eot]); // eot at 6, zero padding
    const noisy = [...prefix, eot, ...randomIds(rng, N - 7)]; // same, but junk after eot
    const moved = padded([...prefix, ...randomIds(rng, 3), eot]); // same prefix, eot at 9
    const [a, b, c] = await encodeText([clean, noisy, moved]);
    expect(relError(b, a)).toBeLessThan(1e-6);
    expect(relError(c, a)).toBeGreaterThan(0.05);
  });
});

describe('loading weights', () => {
  function withTensor(name: string, dims: number[]): StateDict {
    const sd = new Map(weights);
    sd.set(name, f32(dims));
    return sd;
  }

  function shapeError(build: () => unknown): string {
    try {
      build();
    } catch (e) {
      expect(isStyleAtlasError(e) && e.code).toBe('E_SHAPE');
      return (e as Error).message;
    }
    throw new Error('expected E_SHAPE');
  }

  it('names the tensor, the expected shape and the found shape', () => {
    const name = 'visual.transformer.resblocks.1.mlp.c_fc.weight';
    const msg = shapeError(() => buildClipVisual(arch, withTensor(name, [512, 129])));
    expect(msg).toContain(name);
    expect(msg).toContain('[512, 129]');
    expect(msg).toContain('expected [512, 128]');
    const textMsg = shapeError(() => buildClipText(arch, withTensor('token_embedding.weight', [49408, 128])));
    expect(textMsg).toMatch(/token_embedding\.weight has shape \[49408, 128\], expected \[2514, 128\]/);
  });

  it('names a missing tensor', () => {
    const sd = new Map(weights);
    sd.delete('ln_final.bias');
    expect(shapeError(() => buildClipText(arch, sd))).toMatch(/ln_final\.bias is missing \(expected shape \[128\]\)/);
  });
});
