/**
 * A relevance build with --render-graph nchwc: deterministic (killed after two chunks and resumed,
 * or sharded and merged, it gives the uninterrupted build's bytes), recorded (the config in the
 * Arrow metadata, the render graph of each run in build.sqlite), and the same Δi as the default
 * portable graph up to floating-point reordering.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, expect, it } from 'vitest';
import { mergeShards } from '../../pipeline/stages/merge.ts';
import { type RelevanceRun, runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { relevanceColumns } from '../helpers/builds.ts';
import { modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
// batch 12 with chunks of 20 channels: every chunk ends in a short batch (padded to 12 for the NCHWc model).
const config: RelevanceRun['config'] = { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 3, statsSamples: 300, statsSeed: 9, channelSet: 'conv', chunkChannels: 20, batch: 12 };
const nchwc: RelevanceRun['config'] = { ...config, renderGraph: 'nchwc' };
const run = (outDir: string, extra: Partial<RelevanceRun> = {}) =>
  runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir, config: nchwc, resume: false, runtime: {}, ...extra });
const bytes = (dir: string) => ['relevance.arrow', 'fs3.npy'].map((f) => readFileSync(join(dir, f)));

beforeAll(async () => {
  expect((await run(join(tmp, 'whole'))).complete).toBe(true);
}, 300_000);

it('records the render graph in the Arrow config and in every run', () => {
  const meta = readRelevanceArrowFile(join(tmp, 'whole', 'relevance.arrow')).metadata;
  expect(JSON.parse(meta['styleatlas.config']).renderGraph).toBe('nchwc');
  const db = new Database(join(tmp, 'whole', 'build.sqlite'), { readonly: true });
  const runs = db.prepare('SELECT render FROM runs').all() as { render: string }[];
  db.close();
  expect(runs.map((r) => r.render)).toEqual([expect.stringMatching(/^nchwc \(onnxruntime com\.microsoft\.nchwc, block (8|16)\): asked for$/)]);
});

it('killed after two chunks and resumed, or sharded and merged, gives the same bytes', async () => {
  const dir = join(tmp, 'resumed');
  expect((await run(dir, { maxChunks: 2 })).complete).toBe(false);
  expect((await run(dir, { resume: true })).complete).toBe(true);
  expect(bytes(dir)).toEqual(bytes(join(tmp, 'whole')));
  const shards = [0, 1].map((i) => join(tmp, `shard${i}`));
  const stats = join(tmp, 'whole', 'stats.npz');
  for (const [i, d] of shards.entries()) await run(d, { shard: { index: i, count: 2 }, statsFile: stats, config: { ...nchwc, statsSamples: undefined, statsSeed: undefined } });
  mergeShards(shards, join(tmp, 'merged'));
  expect(relevanceColumns(join(tmp, 'merged'))).toEqual(relevanceColumns(join(tmp, 'whole')));
}, 300_000);

it('merge refuses shards that ran different render graphs (their last bits differ): E_SHARD naming renderGraph', async () => {
  const portable = join(tmp, 'portable-shard1');
  const stats = join(tmp, 'whole', 'stats.npz');
  await run(portable, { shard: { index: 1, count: 2 }, statsFile: stats, config: { ...config, statsSamples: undefined, statsSeed: undefined } });
  expect(() => mergeShards([join(tmp, 'shard0'), portable], join(tmp, 'mixed'))).toThrow(expect.objectContaining({ code: 'E_SHARD', message: expect.stringMatching(/built with other settings .*renderGraph: "nchwc" vs "prefix-nchwc"/) }));
}, 300_000);

it('gives the portable graph\'s Δi up to floating-point reordering', async () => {
  const dir = join(tmp, 'portable');
  expect((await run(dir, { config })).complete).toBe(true);
  const a = relevanceColumns(join(tmp, 'whole'));
  const b = relevanceColumns(dir);
  expect(a.channel).toEqual(b.channel);
  let worst = 0;
  for (let i = 0; i < a.direction.length; i++) worst = Math.max(worst, Math.abs(a.direction[i] - b.direction[i]));
  expect(worst).toBeLessThan(1e-4);
  expect(worst, 'the two graphs really are different computations').toBeGreaterThan(0);
}, 300_000);
