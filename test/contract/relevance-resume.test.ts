/** Resume and shards give exactly what one uninterrupted build gives; bad combinations are refused. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, StyleAtlasError } from '../../pipeline/core/errors.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { mergeShards } from '../../pipeline/stages/merge.ts';
import { type RelevanceRun, runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const config: RelevanceRun['config'] = { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 2000, statsSeed: 500, channelSet: 'conv', chunkChannels: 40, batch: 12 };
const run = (outDir: string, extra: Partial<RelevanceRun> = {}) =>
  runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir, config, resume: false, runtime: {}, ...extra });

function columns(dir: string) {
  const t = readRelevanceArrowFile(join(dir, 'relevance.arrow'));
  return { channel: t.channel, mu: t.mu, sigma: t.sigma, effect: t.effect, consistency: t.consistency, degenerate: t.degenerate, direction: t.direction };
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode, message: RegExp) {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StyleAtlasError);
  expect((err as StyleAtlasError).code).toBe(code);
  expect((err as StyleAtlasError).message).toMatch(message);
}

let whole: ReturnType<typeof columns>;
beforeAll(async () => {
  const s = await run(join(tmp, 'whole'));
  expect(s.complete).toBe(true);
  expect(s.chunksTotal).toBe(12); // 464 conv channels in chunks of 40
  whole = columns(join(tmp, 'whole'));
}, 300_000);

describe('relevance builds', () => {
  it('an interrupted build resumed gives identical columns and fs3.npy', async () => {
    const dir = join(tmp, 'resumed');
    const first = await run(dir, { maxChunks: 5 });
    expect(first.complete).toBe(false);
    expect(first.chunksDone).toBe(5);
    await expectCode(run(dir), 'E_RESUME', /already holds a build/);
    const second = await run(dir, { resume: true });
    expect(second.complete).toBe(true);
    expect(second.renders).toBe(7 * 40 * 4 - (40 * 12 - 464) * 4); // the 7 chunks left, last one short
    expect(columns(dir)).toEqual(whole);
    expect(readFileSync(join(dir, 'fs3.npy')).equals(readFileSync(join(tmp, 'whole', 'fs3.npy')))).toBe(true);
  }, 300_000);

  it('shards merged give identical columns; missing, duplicated and mismatched shards are refused', async () => {
    const dirs = [0, 1, 2].map((i) => join(tmp, `shard${i}`));
    for (const [i, d] of dirs.entries()) expect((await run(d, { shard: { index: i, count: 3 } })).complete).toBe(true);
    mergeShards(dirs, join(tmp, 'merged'));
    expect(columns(join(tmp, 'merged'))).toEqual(whole);
    await expectCode(() => mergeShards([dirs[0], dirs[2]], join(tmp, 'm2')), 'E_SHARD', /missing shard 1\/3/);
    await expectCode(() => mergeShards([dirs[0], dirs[1], dirs[1]], join(tmp, 'm3')), 'E_SHARD', /given twice/);
    const other = join(tmp, 'other-psi');
    await runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir: other, config: { ...config, psi: 0.5 }, shard: { index: 1, count: 3 }, resume: false, runtime: {}, maxChunks: 1 });
    await expectCode(() => mergeShards([dirs[0], other, dirs[2]], join(tmp, 'm4')), 'E_SHARD', /other settings.*psi: 0.7 vs 0.5/);
    const partial = join(tmp, 'partial');
    await run(partial, { shard: { index: 1, count: 3 }, maxChunks: 1 });
    await expectCode(() => mergeShards([dirs[0], partial, dirs[2]], join(tmp, 'm5')), 'E_SHARD', /incomplete: 3 of 4 chunks left/);
    await expectCode(() => mergeShards(dirs, join(tmp, 'merged')), 'E_SHARD', /already holds a build/);
  }, 300_000);

  it('resuming with other settings, or another shard, is refused', async () => {
    const dir = join(tmp, 'resumed');
    await expectCode(run(dir, { resume: true, config: { ...config, samples: 3 } }), 'E_RESUME', /samples: 2 vs 3/);
    await expectCode(run(dir, { resume: true, shard: { index: 0, count: 2 } }), 'E_RESUME', /holds shard/);
  });

  it('records provenance in the Arrow schema metadata', () => {
    const t = readRelevanceArrowFile(join(tmp, 'whole', 'relevance.arrow'));
    expect(JSON.parse(t.metadata['styleatlas.config'])).toMatchObject({ samples: 2, alphaP: 5, psi: 0.7, channelSet: 'conv', generator: { id: 'tiny' }, encoder: { id: 'colour-world' } });
    expect(t.metadata['styleatlas.tool']).toMatch(/^styleatlas /);
    expect(t.metadata['styleatlas.commit']).toMatch(/^([0-9a-f]{40}(\+dirty)?|unknown)$/);
    expect(t.layer[0]).toBe('b4.conv1');
    expect(t.layer.includes('b4.torgb')).toBe(false);
  });
});
