/**
 * Faults in the middle of a relevance build end in a coded error, never a crash or a hang, and
 * leave the build resumable: a worker that dies with runs in flight (E_RUNTIME), a model that
 * renders NaN for one channel (E_NUMERIC). Sessions read their feeds and never detach them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { WorkerSession, float32 } from '../../pipeline/models/runtime.ts';
import { BuildDb } from '../../pipeline/store/build-db.ts';
import { type RelevanceRun, runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { channelsOf } from '../../pipeline/stages/relevance-plan.ts';
import { computeStyleStats } from '../../pipeline/stages/stats.ts';
import { modelDir } from '../helpers/bundles.ts';
import { buildNaNGenerator } from '../helpers/nan-world.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const config = { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 2000, statsSeed: 500, channelSet: 'conv', chunkChannels: 40, batch: 8 } satisfies RelevanceRun['config'];
const build = (outDir: string, extra: Partial<RelevanceRun> = {}) =>
  runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir, config, resume: false, runtime: {}, ...extra });

async function refusal(p: Promise<unknown>): Promise<StyleAtlasError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(StyleAtlasError);
  return e as StyleAtlasError;
}

function doneChunks(dir: string): number[] {
  const db = new BuildDb(join(dir, 'build.sqlite'), { readonly: true });
  try {
    return [...db.doneChunks()].sort((a, b) => a - b);
  } finally {
    db.close();
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  expect((await build(join(tmp, 'whole'))).complete).toBe(true);
  return () => process.off('unhandledRejection', onUnhandled);
}, 300_000);
afterEach(() => {
  vi.restoreAllMocks();
  expect(unhandled, 'no unhandled rejections').toEqual([]);
});

it('a worker that dies mid-build is E_RUNTIME naming the chunk, not a hang; --resume then gives the uninterrupted bytes', async () => {
  // Every worker opens through openSet (prefix reuse opens one per style layer): the last one opened is killed.
  const open = WorkerSession.openSet.bind(WorkerSession);
  let session: WorkerSession | undefined;
  vi.spyOn(WorkerSession, 'openSet').mockImplementation(async (...args) => (session = await open(...args)));
  const dir = join(tmp, 'killed');
  let killed = false;
  const e = await refusal(
    build(dir, {
      onProgress: (p) => {
        // When the first chunk's last batch is in (160 renders a chunk) the worker thread is stopped;
        // the next chunk's runs then go to a dead worker. (Stopped while onnxruntime computes in
        // it, a worker takes the whole process down: see WorkerSession.release.)
        if (p.phase === 'relevance' && p.done === 160 && !killed) {
          killed = true;
          void (session as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
        }
      },
    }),
  );
  expect(killed).toBe(true);
  expect(e.code).toBe('E_RUNTIME');
  expect(e.message).toMatch(/^relevance chunk 1 \(channels \d+–\d+\): render\+encode from b4\.conv1: the onnxruntime worker stopped \(exit code 1\)/);
  expect(e.hint).toMatch(/--resume/);
  expect(doneChunks(dir)).toEqual([0]);
  vi.restoreAllMocks();
  const resumed = await build(dir, { resume: true });
  expect(resumed.complete).toBe(true);
  for (const f of ['relevance.arrow', 'fs3.npy']) expect(readFileSync(join(dir, f)).equals(readFileSync(join(tmp, 'whole', f))), f).toBe(true);
}, 120_000);

it('a model that renders NaN for one channel is E_NUMERIC naming the chunk; the chunks before it stay committed', async () => {
  const tiny = await Generator.open(modelDir('tiny'));
  const st = await computeStyleStats(tiny, { samples: config.statsSamples, seed: config.statsSeed, psi: config.psi });
  const own = await tiny.stylesForSeeds([0, 1], config.psi);
  await tiny.release();
  const channel = channelsOf(tiny.layout, 'conv')[2 * 40 + 5]; // in chunk 2
  const threshold = st.mu[channel] - 3 * st.sigma[channel];
  for (let n = 0; n < 2; n++) expect(own[n * tiny.layout.total + channel], 'the samples themselves render finite images').toBeGreaterThan(threshold);
  const generatorDir = await buildNaNGenerator(tmp, channel, threshold, st.sigma);
  const dir = join(tmp, 'nan');
  const run = () => build(dir, { generatorDir, resume: true });
  const e = await refusal(run());
  expect(e.code).toBe('E_NUMERIC');
  expect(e.message).toMatch(/^relevance chunk 2 \(channels \d+–\d+\): render\+encode output image_embeds has NaN/);
  expect(doneChunks(dir)).toEqual([0, 1]);
  // Resumable: a second run starts at chunk 2 and meets the same fault, with nothing else changed.
  expect((await refusal(run())).message).toMatch(/^relevance chunk 2 /);
  expect(doneChunks(dir)).toEqual([0, 1]);
}, 120_000);

it('a worker session reads its feeds and leaves the caller\'s buffers as they were', async () => {
  const session = await WorkerSession.open(join(modelDir('tiny'), 'mapping.onnx'), 'tiny/mapping.onnx');
  try {
    const z = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i));
    const copy = z.slice();
    const out = await session.run({ z: float32(z, [2, 64]) });
    expect(out.w.dims).toEqual([2, 64]);
    expect(z.length).toBe(128); // not detached by a transfer
    expect(z).toEqual(copy);
  } finally {
    await session.release();
  }
  await expect(session.run({})).rejects.toMatchObject({ code: 'E_RUNTIME' });
});
