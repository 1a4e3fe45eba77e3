/**
 * Resume and shards give exactly the bytes one uninterrupted build gives (relevance.arrow and
 * fs3.npy, and the downloads a catalogue makes of them); bad combinations are refused.
 */
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, StyleAtlasError } from '../../pipeline/core/errors.ts';
import { BuildDb } from '../../pipeline/store/build-db.ts';
import { encodeNpy } from '../../pipeline/store/npy.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { commands } from '../../pipeline/cli/commands/index.ts';
import { openBuild } from '../../pipeline/stages/build-reader.ts';
import { runCatalogue } from '../../pipeline/stages/catalogue.ts';
import { mergeShards } from '../../pipeline/stages/merge.ts';
import { type RelevanceRun, runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { MODELS, modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const config: RelevanceRun['config'] = { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 2000, statsSeed: 500, channelSet: 'conv', chunkChannels: 40, batch: 12 };
const run = (outDir: string, extra: Partial<RelevanceRun> = {}) =>
  runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir, config, resume: false, runtime: {}, ...extra });

/** relevance.arrow and fs3.npy of two build folders hold the same bytes. */
function expectSameBytes(dir: string, reference: string) {
  for (const f of ['relevance.arrow', 'fs3.npy']) expect(readFileSync(join(dir, f)).equals(readFileSync(join(reference, f))), f).toBe(true);
}

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
    expectSameBytes(dir, join(tmp, 'whole'));
  }, 300_000);

  it('shards merged give identical columns; missing, duplicated and mismatched shards are refused', async () => {
    const dirs = [0, 1, 2].map((i) => join(tmp, `shard${i}`));
    for (const [i, d] of dirs.entries()) expect((await run(d, { shard: { index: i, count: 3 } })).complete).toBe(true);
    mergeShards(dirs, join(tmp, 'merged'));
    expect(columns(join(tmp, 'merged'))).toEqual(whole);
    expectSameBytes(join(tmp, 'merged'), join(tmp, 'whole'));
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

  it('a single shard is not a finished build: catalogue, edit and the build reader refuse it, naming what is missing', async () => {
    const shard = join(tmp, 'shard0');
    const said = /^.*shard0 is shard 0\/3 of a build: it holds 160 of the 464 channels, 304 are missing$/;
    await expectCode(() => openBuild(shard), 'E_SHARD', said);
    const prompts = join(tmp, 'one-prompt.json');
    writeFileSync(prompts, JSON.stringify({ format: 'styleatlas-prompts/1', id: 'one', title: 'One', description: 'one prompt', defaults: { alpha: 2, beta: 0.1, betaFloor: 5 },
      prompts: [{ id: 'red', neutral: 'photo', target: 'red photo', tags: [] }] }));
    const out = join(tmp, 'cat-shard');
    await expectCode(runCatalogue({ buildDir: shard, promptsFile: prompts, outDir: out, modelsDir: MODELS, gallerySeeds: [7], galleryColumns: 2, runtime: {} }), 'E_SHARD', said);
    expect(existsSync(out)).toBe(false);
    const edit = commands.find((c) => c.path.join(' ') === 'edit')!;
    const png = join(tmp, 'shard-edit.png');
    const io = { out: () => {}, err: () => {}, isTTY: false, env: {}, cwd: tmp };
    await expectCode(edit.run({ values: { build: shard, neutral: 'photo', target: 'red photo', out: png, 'models-dir': MODELS, 'no-cache': true }, positionals: [], io }), 'E_SHARD', said);
    expect(existsSync(png)).toBe(false);
    expect(openBuild(join(tmp, 'merged')).table.rows).toBe(464);
  }, 300_000);

  it('edit --codes with zero rows of codes is refused (E_INPUT) and writes no image', async () => {
    const edit = commands.find((c) => c.path.join(' ') === 'edit')!;
    const io = { out: () => {}, err: () => {}, isTTY: false, env: {}, cwd: tmp };
    const total = openBuild(join(tmp, 'whole')).layout.total;
    for (const shape of [[0, total], [0, 4, 8]]) {
      const codes = join(tmp, `zero-${shape.length}.npy`);
      writeFileSync(codes, encodeNpy({ dtype: 'float32', shape, data: new Float32Array(0) }));
      const png = join(tmp, `zero-${shape.length}.png`);
      const values = { build: join(tmp, 'whole'), neutral: 'photo', target: 'red photo', out: png, codes, 'models-dir': MODELS, 'no-cache': true };
      await expectCode(edit.run({ values, positionals: [], io }), 'E_INPUT', new RegExp(`^zero-${shape.length}\\.npy holds no codes: its shape is \\[${shape.join(', ')}\\]$`));
      expect(existsSync(png)).toBe(false);
    }
  }, 300_000);

  it("a catalogue of the resumed build publishes the uninterrupted build's download bytes", async () => {
    // The catalogue names a build by its folder, so the resumed build is looked at under the same name.
    const alias = join(tmp, 'alias', 'whole');
    cpSync(join(tmp, 'resumed'), alias, { recursive: true });
    const prompts = join(tmp, 'prompts.json');
    writeFileSync(prompts, JSON.stringify({ format: 'styleatlas-prompts/1', id: 'two', title: 'Two', description: 'two prompts', defaults: { alpha: 2, beta: 0.1, betaFloor: 5 },
      prompts: [{ id: 'red', neutral: 'photo', target: 'red photo', tags: [] }, { id: 'bright', neutral: 'photo', target: 'bright photo', tags: [] }] }));
    const catalogue = (buildDir: string, outDir: string) => runCatalogue({ buildDir, promptsFile: prompts, outDir, modelsDir: MODELS, gallerySeeds: [7], galleryColumns: 2, runtime: {} });
    await catalogue(join(tmp, 'whole'), join(tmp, 'cat-whole'));
    await catalogue(alias, join(tmp, 'cat-resumed'));
    const files = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length));
    for (const kind of ['builds', 'directions']) {
      const a = join(tmp, 'cat-whole', 'assets', kind);
      const b = join(tmp, 'cat-resumed', 'assets', kind);
      expect(files(b).sort()).toEqual(files(a).sort());
      for (const f of files(a)) expect(readFileSync(b + f).equals(readFileSync(a + f)), f).toBe(true);
    }
  }, 300_000);

  it('resuming with other settings, or another shard, is refused', async () => {
    const dir = join(tmp, 'resumed');
    await expectCode(run(dir, { resume: true, config: { ...config, samples: 3 } }), 'E_RESUME', /samples: 2 vs 3/);
    await expectCode(run(dir, { resume: true, shard: { index: 0, count: 2 } }), 'E_RESUME', /holds shard/);
  });

  it('records what determines the numbers in the Arrow schema metadata, and when and where it ran in build.sqlite', () => {
    const t = readRelevanceArrowFile(join(tmp, 'whole', 'relevance.arrow'));
    expect(JSON.parse(t.metadata['styleatlas.config'])).toMatchObject({ samples: 2, alphaP: 5, psi: 0.7, channelSet: 'conv', generator: { id: 'tiny' }, encoder: { id: 'colour-world' } });
    expect(t.metadata['styleatlas.tool']).toMatch(/^styleatlas /);
    expect(Object.keys(t.metadata).filter((k) => /started|finished|commit|host|time/.test(k))).toEqual([]);
    const db = new BuildDb(join(tmp, 'whole', 'build.sqlite'), { readonly: true });
    const meta = db.allMeta();
    db.close();
    expect(meta.commit).toMatch(/^([0-9a-f]{40}(\+dirty)?|unknown)$/);
    expect(Date.parse(meta.started)).toBeLessThanOrEqual(Date.parse(meta.finished));
    expect(t.layer[0]).toBe('b4.conv1');
    expect(t.layer.includes('b4.torgb')).toBe(false);
  });
});
