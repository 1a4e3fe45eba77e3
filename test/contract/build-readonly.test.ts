/**
 * Commands that only read a build leave its folder as it was: no -wal/-shm beside build.sqlite, no
 * byte or mtime changed (merge reading shards, catalogue and edit reading a build, a refused
 * --resume). A damaged build.sqlite is E_STORE for each of them, with nothing left behind.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../pipeline/cli/commands/index.ts';
import type { CliIO } from '../../pipeline/cli/command.ts';
import { runCatalogue } from '../../pipeline/stages/catalogue.ts';
import { mergeShards } from '../../pipeline/stages/merge.ts';
import { type RelevanceRun, runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { MODELS, modelDir } from '../helpers/bundles.ts';
import { expectCode } from '../helpers/builds.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const config: RelevanceRun['config'] = { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 2000, statsSeed: 500, channelSet: 'conv', chunkChannels: 80, batch: 12 };
const run = (outDir: string, extra: Partial<RelevanceRun> = {}) =>
  runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir, config, resume: false, runtime: {}, ...extra });
const whole = join(tmp, 'whole');
const shards = [0, 1].map((i) => join(tmp, `shard${i}`));
const prompts = join(tmp, 'prompts.json');
const io: CliIO = { out: () => {}, err: () => {}, isTTY: false, env: {}, cwd: tmp };
const edit = commands.find((c) => c.path.join(' ') === 'edit')!;
const editArgs = (build: string, out: string) => ({ build, neutral: 'photo', target: 'red photo', out, 'models-dir': MODELS, 'no-cache': true, alpha: '-1,0,1' });
const catalogue = (buildDir: string, outDir: string) => runCatalogue({ buildDir, promptsFile: prompts, outDir, modelsDir: MODELS, gallerySeeds: [7], galleryColumns: 2, runtime: {} });

/** Every file of a folder with its size, mtime and sha256. */
function snapshot(dir: string): string[] {
  return readdirSync(dir).sort().map((f) => {
    const s = statSync(join(dir, f));
    return `${f} ${s.size} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')}`;
  });
}

beforeAll(async () => {
  expect((await run(whole)).complete).toBe(true);
  for (const [i, d] of shards.entries()) expect((await run(d, { shard: { index: i, count: 2 } })).complete).toBe(true);
  writeFileSync(prompts, JSON.stringify({ format: 'styleatlas-prompts/1', id: 'one', title: 'One', description: 'one prompt', defaults: { alpha: 1, beta: 0.1, betaFloor: 5 },
    prompts: [{ id: 'red', neutral: 'photo', target: 'red photo', tags: [] }] }));
}, 300_000);

describe('reading a build', () => {
  it('a finished build is one database file: no -wal or -shm beside it', () => {
    for (const d of [whole, ...shards]) expect(readdirSync(d).sort()).toEqual(['build.lock', 'build.sqlite', 'fs3.npy', 'relevance.arrow', 'stats.npz']);
  });

  it('merge, catalogue, edit and refused runs and resumes change nothing in the build folders', async () => {
    const before = [whole, ...shards].map(snapshot);
    mergeShards(shards, join(tmp, 'merged'));
    await catalogue(whole, join(tmp, 'cat'));
    await edit.run({ values: editArgs(whole, join(tmp, 'edit.png')), positionals: [], io });
    expect(existsSync(join(tmp, 'edit.png'))).toBe(true);
    await expectCode(run(whole), 'E_RESUME', /already holds a build/);
    await expectCode(run(whole, { resume: true, config: { ...config, samples: 3 } }), 'E_RESUME', /other settings \(samples: 2 vs 3\)/);
    await expectCode(run(shards[0], { resume: true, shard: { index: 1, count: 2 } }), 'E_RESUME', /holds shard/);
    expect([whole, ...shards].map(snapshot)).toEqual(before);
    expect(readdirSync(join(tmp, 'merged')).sort()).toEqual(['build.sqlite', 'fs3.npy', 'relevance.arrow', 'stats.npz']);
  }, 300_000);
});

describe('a damaged build.sqlite', () => {
  const damaged = (name: string, harm: (db: string) => void): string => {
    const dir = join(tmp, name);
    cpSync(whole, dir, { recursive: true });
    harm(join(dir, 'build.sqlite'));
    return dir;
  };
  const cases: [string, (db: string) => void][] = [
    ['truncated', (db) => truncateSync(db, Math.floor(statSync(db).size / 2))],
    ['garbled', (db) => {
      const bytes = readFileSync(db);
      for (let i = 4096; i < bytes.length; i += 7) bytes[i] ^= 0x5a; // every page but the first
      writeFileSync(db, bytes);
    }],
    ['not-a-database', (db) => writeFileSync(db, 'not a database '.repeat(300))],
  ];

  it.each(cases)('%s: merge, --resume, catalogue and edit give E_STORE and leave nothing behind', async (name, harm) => {
    const dir = damaged(name, harm);
    const before = snapshot(dir);
    const said = new RegExp(`${name}/build\\.sqlite is not a readable build database`);
    const shard = damaged(`${name}-shard`, (db) => {
      cpSync(join(shards[0], 'build.sqlite'), db);
      harm(db);
    });
    await expectCode(() => mergeShards([shard, shards[1]], join(tmp, `${name}-merged`)), 'E_STORE', new RegExp(`${name}-shard/build\\.sqlite is not a readable build database`));
    expect(existsSync(join(tmp, `${name}-merged`))).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith(`${name}-merged`))).toEqual([]);
    await expectCode(run(dir, { resume: true }), 'E_STORE', said);
    await expectCode(catalogue(dir, join(tmp, `${name}-cat`)), 'E_STORE', said);
    expect(existsSync(join(tmp, `${name}-cat`))).toBe(false);
    await expectCode(edit.run({ values: editArgs(dir, join(tmp, `${name}.png`)), positionals: [], io }), 'E_STORE', said);
    expect(existsSync(join(tmp, `${name}.png`))).toBe(false);
    expect(snapshot(dir)).toEqual(before);
  }, 300_000);
});

describe('a build.sqlite without tables (its writer killed between creating the file and its schema)', () => {
  it('--resume starts the build there and finishes it; merge refuses it as a shard with no configuration', async () => {
    const dir = join(tmp, 'no-schema');
    mkdirSync(dir);
    new Database(join(dir, 'build.sqlite')).close(); // what SQLite leaves before the first CREATE TABLE
    const shard = join(tmp, 'no-schema-shard');
    mkdirSync(shard);
    new Database(join(shard, 'build.sqlite')).close();
    await expectCode(() => mergeShards([shard, shards[1]], join(tmp, 'no-schema-merged')), 'E_SHARD', /has no build configuration/);
    const done = await run(dir, { resume: true });
    expect(done.complete).toBe(true);
    expect(readFileSync(join(dir, 'fs3.npy')).equals(readFileSync(join(whole, 'fs3.npy')))).toBe(true);
  }, 300_000);
});
