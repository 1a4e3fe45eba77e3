/**
 * Our float preprocessing (the ONNX graph) against PIL, run by test/fixtures/preprocess/pil_preprocess.py
 * under Debian's /usr/bin/python3 (python3-pil, python3-numpy) on the same sample images:
 *   - PIL's float ('F') resampling with the same clamps: must agree to float precision, which pins
 *     our kernel, window, antialiasing and crop to PIL's;
 *   - the reference path (uint8 quantisation, 8-bit PIL resize): the difference we accept and
 *     document (docs/preprocessing.md); the printed table is where its numbers come from.
 * A missing Python, PIL or NumPy fails the tests with the command that installs them (CI installs
 * them: scripts/install-test-deps.sh); nothing is skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipPreprocessSpec } from '../../pipeline/core/preprocess.ts';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { CLIP_MEAN, CLIP_STD } from '../../pipeline/models/encoder-bundle.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { buildPreprocessGraph } from '../../pipeline/onnx/preprocess.ts';
import { decodeNpy, encodeNpy } from '../../pipeline/store/npy.ts';
import { modelDir } from '../helpers/bundles.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../fixtures/preprocess/pil_preprocess.py', import.meta.url));
/** Why PIL cannot run here, or undefined when it can. */
function pilProblem(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} could not run (${r.error.message})`;
  return r.status === 0 ? undefined : `${PYTHON} cannot import PIL and numpy:\n${r.stderr.trim().split('\n').at(-1)}`;
}
const work = mkdtempSync(join(tmpdir(), 'styleatlas-pil-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Photo-like test card [B, 3, H, W]: gradients, hard-edged discs and bars, soft blobs, grain, some clipping. */
function testCard(seed: number, batch: number, h: number, w: number): Float32Array {
  const rng = new Xoshiro128(seed, 0);
  const out = new Float32Array(batch * 3 * h * w);
  for (let b = 0; b < batch; b++) {
    const discs = Array.from({ length: 6 }, () => ({ y: rng.nextUniform() * h, x: rng.nextUniform() * w, r: (0.05 + 0.2 * rng.nextUniform()) * Math.min(h, w), c: [0, 1, 2].map(() => 2.2 * rng.nextUniform() - 1.1) }));
    const tilt = [0, 1, 2].map(() => rng.nextUniform() - 0.5);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) {
          let v = tilt[c] * (y / h + x / w) + 0.3 * Math.sin((6 * x) / w + c) * Math.cos((5 * y) / h);
          for (const d of discs) if ((y - d.y) ** 2 + (x - d.x) ** 2 < d.r ** 2) v = d.c[c];
          if (Math.floor((8 * x) / w) === 3) v = c === 0 ? 1.05 : -1.05; // a saturated bar with sharp edges
          out[((b * 3 + c) * h + y) * w + x] = v + 0.04 * rng.nextNormal();
        }
  }
  return out;
}

function uniformNoise(seed: number, batch: number, h: number, w: number): Float32Array {
  const rng = new Xoshiro128(seed, 0);
  return Float32Array.from({ length: batch * 3 * h * w }, () => 2 * rng.nextUniform() - 1);
}

async function tinyGeneratorImages(seeds: number[]): Promise<Float32Array> {
  const gen = await Generator.open(modelDir('tiny'));
  try {
    return await gen.synthesis(await gen.stylesForSeeds(seeds, 0.7), seeds.length);
  } finally {
    await gen.release();
  }
}

interface Stats {
  max: number;
  mean: number;
}

function diffStats(a: Float32Array, b: Float32Array): Stats {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

async function compare(name: string, image: Float32Array, batch: number, h: number, w: number, size: number): Promise<{ float: Stats; uint8: Stats }> {
  const spec: ClipPreprocessSpec = { inSize: [h, w], outSize: size, mean: CLIP_MEAN, std: CLIP_STD };
  const session = await ModelSession.open(buildPreprocessGraph(spec).toBytes(), 'preprocess');
  const ours = (await session.run({ image: float32(image, [batch, 3, h, w]) })).pixel_values.data as Float32Array;
  await session.release();
  const dir = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'images.npy'), encodeNpy({ dtype: 'float32', shape: [batch, 3, h, w], data: image }));
  execFileSync(PYTHON, [SCRIPT, join(dir, 'images.npy'), String(size), CLIP_MEAN.join(','), CLIP_STD.join(','), dir]);
  const read = (f: string) => {
    const arr = decodeNpy(readFileSync(join(dir, f)), f);
    expect(arr.shape).toEqual([batch, 3, size, size]);
    return arr.data as Float32Array;
  };
  return { float: diffStats(ours, read('float.npy')), uint8: diffStats(ours, read('uint8.npy')) };
}

describe('preprocessing vs PIL (reference path)', () => {
  const rows: string[] = [];
  beforeAll(() => {
    const problem = pilProblem();
    if (problem) throw new Error(`${problem}\nrun scripts/install-test-deps.sh (python3-pil, python3-numpy), as .ci/run does`);
  });
  afterAll(() => {
    console.info(['case | vs PIL float: max | vs PIL uint8: max | mean', ...rows].join('\n'));
  });

  const cases: { name: string; make: () => Promise<Float32Array> | Float32Array; batch: number; h: number; w: number; size: number; meanBound: number }[] = [
    { name: 'tiny generator 64 → 32', make: () => tinyGeneratorImages([1, 2, 3, 4]), batch: 4, h: 64, w: 64, size: 32, meanBound: 0.01 },
    { name: 'tiny generator 64 → 224', make: () => tinyGeneratorImages([1, 2, 3, 4]), batch: 4, h: 64, w: 64, size: 224, meanBound: 0.01 },
    { name: 'test card 1024 → 224', make: () => testCard(11, 2, 1024, 1024), batch: 2, h: 1024, w: 1024, size: 224, meanBound: 0.01 },
    { name: 'test card 96×160 → 64', make: () => testCard(12, 2, 96, 160), batch: 2, h: 96, w: 160, size: 64, meanBound: 0.01 },
    // Worst case: every pixel independent, so every intermediate rounding lands in the output.
    { name: 'uniform noise 256 → 224', make: () => uniformNoise(13, 2, 256, 256), batch: 2, h: 256, w: 256, size: 224, meanBound: 0.01 },
  ];
  for (const c of cases) {
    it(`${c.name}: equals PIL's float resampling; within the quantisation noise of its uint8 path`, async () => {
      const { float, uint8 } = await compare(c.name, await c.make(), c.batch, c.h, c.w, c.size);
      rows.push(`${c.name} | ${float.max.toExponential(2)} | ${uint8.max.toFixed(4)} | ${uint8.mean.toFixed(4)}`);
      expect(float.max).toBeLessThan(1e-5);
      expect(uint8.mean).toBeLessThan(c.meanBound);
      // One 8-bit step is 1/255/std ≈ 0.015 in pixel_values; three roundings (input, width pass,
      // height pass) and PIL's fixed-point weights stay within a few steps.
      expect(uint8.max).toBeLessThan(0.05);
    });
  }
});
