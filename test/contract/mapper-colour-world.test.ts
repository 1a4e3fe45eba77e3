/**
 * Method 2 checked for meaning on the colour-world oracle (tiny generator + hand-built encoder):
 * a mapper trained for "a blue photo" makes held-out samples bluer, measured on their pixels, for
 * (nearly) every sample; the training loss falls; λ_L2 bounds the step; runs repeat bit for bit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { Identity } from '../../pipeline/models/identity.ts';
import { CodeSet } from '../../pipeline/stages/mapper-codes.ts';
import { type MapperResult, runMapperTraining } from '../../pipeline/stages/mapper-run.ts';
import type { SampleScore } from '../../pipeline/stages/mapper-apply.ts';
import { modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const TRAIN = Array.from({ length: 64 }, (_, i) => 10_000 + i);
const TEST = Array.from({ length: 24 }, (_, i) => 1000 + i);
let gen: Generator;
let enc: Encoder;
let train: CodeSet;
let test: CodeSet;

const run = (name: string, lambdaL2: number, steps = 120, lambdaId = 0) =>
  runMapperTraining({
    gen, enc, runtime: {}, outDir: join(tmp, name), resume: false, checkpointEvery: 1000, train, test, identity: lambdaId > 0 ? identity : undefined,
    settings: { target: 'a blue photo', steps, lr: 0.5, batch: 2, lambdaL2, lambdaId, seed: 0 },
  });
let identity: Identity;

/** Blue chroma: B − (R + G)/2 of a sample's mean pixel. */
const blueness = (p: SampleScore['before']) => p.blue - (p.red + p.green) / 2;
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

let official: MapperResult;
let stiff: MapperResult;

beforeAll(async () => {
  gen = await Generator.open(modelDir('tiny'));
  identity = Identity.open(modelDir('tiny-ir-se'));
  enc = await Encoder.open(modelDir('colour-world'), { parts: ['text'] });
  train = await CodeSet.fromSeeds(gen, TRAIN, 0.7);
  test = await CodeSet.fromSeeds(gen, TEST, 0.7);
  official = await run('official', 0.8);
  stiff = await run('stiff', 50);
}, 600_000);

afterAll(async () => {
  await enc?.release();
  await gen?.release();
});

describe('a mapper for "a blue photo" on the colour-world oracle', () => {
  it('makes held-out samples bluer on their pixels, nearly all of them, and raises their CLIP score', () => {
    const rows = official.scores.perSample;
    const gains = rows.map((r) => blueness(r.after) - blueness(r.before));
    console.log(`blueness gain over ${rows.length} held-out samples: mean ${mean(gains).toFixed(3)}, min ${Math.min(...gains).toFixed(3)}; CLIP score ${official.scores.mean.scoreBefore.toFixed(3)} → ${official.scores.mean.scoreAfter.toFixed(3)}`);
    expect(gains.filter((g) => g > 0.05).length / rows.length).toBeGreaterThanOrEqual(0.9);
    expect(mean(gains)).toBeGreaterThan(0.2);
    expect(official.scores.improved).toBeGreaterThanOrEqual(0.9);
    expect(official.scores.mean.scoreAfter - official.scores.mean.scoreBefore).toBeGreaterThan(0.1);
  });

  it('lowers the training loss', () => {
    const c = official.state.curve;
    expect(c).toHaveLength(120);
    const first = mean(c.slice(0, 10).map((p) => p.clip));
    const last = mean(c.slice(-10).map((p) => p.clip));
    console.log(`training D_CLIP: first 10 steps ${first.toFixed(4)}, last 10 ${last.toFixed(4)}`);
    expect(last).toBeLessThan(first - 0.05);
  });

  it('takes a bounded step that λ_L2 shrinks', () => {
    const w = test.range(0, test.count);
    const wNorm = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / test.count);
    const step = official.scores.mean.stepNorm;
    const stiffStep = stiff.scores.mean.stepNorm;
    console.log(`‖w′ − w‖: λ_L2 0.8 → ${step.toFixed(3)}, λ_L2 50 → ${stiffStep.toFixed(3)} (‖w‖ ≈ ${wNorm.toFixed(3)})`);
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThan(wNorm);
    expect(stiffStep).toBeLessThan(0.5 * step);
    expect(Math.max(...official.scores.perSample.map((r) => r.stepNorm))).toBeLessThan(2 * step);
  });

  it('with an identity network, λ_ID keeps the edited images nearer the originals in its feature space', async () => {
    // Both runs carry the identity term (so it is measured), weighted 1e-9 (nearly off) and 20.
    const off = await run('id-off', 0.8, 60, 1e-9);
    const on = await run('id-on', 0.8, 60, 20);
    const tail = (r: MapperResult) => mean(r.state.curve.slice(-20).map((p) => p.id!));
    console.log(`identity term, last 20 steps: λ_ID 1e-9 → ${tail(off).toFixed(4)}, λ_ID 20 → ${tail(on).toFixed(4)}`);
    expect(off.state.curve.every((p) => typeof p.id === 'number')).toBe(true);
    expect(tail(on)).toBeLessThan(0.5 * tail(off));
    expect(JSON.parse(readFileSync(on.files.provenance, 'utf8')).identity.id).toBe('tiny-ir-se');
  }, 300_000);

  it('gives the same weights, byte for byte, when run again', async () => {
    const again = await run('again', 0.8);
    expect(readFileSync(again.files.weights).equals(readFileSync(official.files.weights))).toBe(true);
    expect(again.scores).toEqual(official.scores);
  }, 300_000);
});
