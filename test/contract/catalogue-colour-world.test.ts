/**
 * The method checked for meaning on the colour-world oracle (tiny generator + hand-built encoder):
 * relevance ranks channels that make images redder; the catalogue's "red" gallery gets redder
 * with α and "blue" the opposite (measured on the published WebP pixels); the catalogue is
 * sound, searchable, incremental, and unchanged by bad inputs.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, StyleAtlasError } from '../../pipeline/core/errors.ts';
import { relevanceScores } from '../../pipeline/core/directions.ts';
import { toRGB8 } from '../../pipeline/core/image.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { CatalogueDb } from '../../pipeline/store/catalogue-db.ts';
import { decodeRGB } from '../../pipeline/store/images.ts';
import { openBuild } from '../../pipeline/stages/build-reader.ts';
import { runCatalogue } from '../../pipeline/stages/catalogue.ts';
import { runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { deltaT, loadTemplates } from '../../pipeline/stages/text-directions.ts';
import { MODELS, REPO, modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const buildDir = join(tmp, 'tiny-colour-world');
const catDir = join(tmp, 'catalogue');
const prompts = join(REPO, 'data', 'prompts', 'colour-world.json');
const catalogue = (extra: Partial<Parameters<typeof runCatalogue>[0]> = {}) =>
  runCatalogue({ buildDir, promptsFile: prompts, outDir: catDir, modelsDir: MODELS, gallerySeeds: [1000, 1001, 1002, 1003], galleryColumns: 9, runtime: {}, ...extra });

/** Mean red chroma (R − luma) of an RGB8 image, in [−1, 1]. */
function redness(rgb: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < rgb.length; i += 3) s += (rgb[i] - (0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2])) / 255;
  return s / (rgb.length / 3);
}

async function expectCode(p: Promise<unknown>, code: ErrorCode, message: RegExp) {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(StyleAtlasError);
  expect((e as StyleAtlasError).code).toBe(code);
  expect((e as StyleAtlasError).message).toMatch(message);
}

beforeAll(async () => {
  const config = { samples: 8, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 5000, statsSeed: 1_000_000, channelSet: 'conv' as const, chunkChannels: 32, batch: 16 };
  expect((await runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir: buildDir, config, resume: false, runtime: {} })).complete).toBe(true);
}, 300_000);

describe('colour-world oracle', () => {
  it('channels ranked most relevant to "red photo" make rendered images redder; the least relevant do not', async () => {
    const build = openBuild(buildDir);
    const enc = await Encoder.open(modelDir('colour-world'), { parts: ['text'] });
    const dt = await deltaT(enc, 'photo', 'red photo', { templates: loadTemplates() });
    await enc.release();
    const r = relevanceScores(build.table.direction, dt.deltaT);
    const order = Array.from(r.keys()).sort((a, b) => r[b] - r[a]);
    const top = order.slice(0, 10).map((i) => build.table.channel[i]);
    const least = Array.from(r.keys()).sort((a, b) => Math.abs(r[a]) - Math.abs(r[b])).slice(0, 10).map((i) => build.table.channel[i]);
    const gen = await Generator.open(modelDir('tiny'));
    const seeds = [500, 501, 502, 503, 504, 505];
    const base = await gen.stylesForSeeds(seeds, 0.7);
    const res = gen.arch.resolution;
    const redOf = async (codes: Float32Array) => {
      const img = await gen.synthesis(codes, seeds.length);
      return seeds.map((_, b) => redness(toRGB8(img, b, res, res))).reduce((a, b) => a + b) / seeds.length;
    };
    const before = await redOf(base);
    const change = async (c: number) => {
      const pushed = base.slice();
      for (let b = 0; b < seeds.length; b++) pushed[b * gen.layout.total + c] += 5 * build.sigma[c];
      return (await redOf(pushed)) - before;
    };
    const topChanges = await Promise.all(top.map(change));
    const leastChanges = await Promise.all(least.map(change));
    await gen.release();
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
    expect(topChanges.filter((d) => d > 0).length).toBeGreaterThanOrEqual(9);
    expect(median(topChanges)).toBeGreaterThan(0.01);
    expect(median(leastChanges.map(Math.abs))).toBeLessThan(0.25 * median(topChanges));
  }, 120_000);

  it('the "red" gallery gets redder along α and "blue" the opposite, on the published pixels', async () => {
    const s = await catalogue();
    expect(s.computed.length).toBe(16);
    const db = new Database(join(catDir, 'catalogue.sqlite'), { readonly: true });
    const rowsOf = async (slug: string) => {
      const items = db.prepare('SELECT g.row, g.col, g.path FROM gallery_items g JOIN directions d ON d.id = g.direction_id WHERE d.slug = ? ORDER BY g.row, g.col').all(slug) as { row: number; col: number; path: string }[];
      const rows: number[][] = [];
      for (const it of items) (rows[it.row] ??= [])[it.col] = redness((await decodeRGB(readFileSync(join(catDir, it.path)))).data);
      return rows;
    };
    const monotone = (xs: number[], sign: 1 | -1) => xs.every((v, i) => i === 0 || sign * (v - xs[i - 1]) >= -0.005);
    const red = await rowsOf('red');
    const blue = await rowsOf('blue');
    db.close();
    expect(red).toHaveLength(4);
    expect(red.filter((row) => monotone(row, 1)).length).toBeGreaterThanOrEqual(3);
    expect(blue.filter((row) => monotone(row, -1)).length).toBeGreaterThanOrEqual(3);
    for (const row of red) expect(row[8] - row[0]).toBeGreaterThan(0.1);
    for (const row of blue) expect(row[8] - row[0]).toBeLessThan(-0.05);
  }, 300_000);

  it('passes integrity_check, finds prompts by prefix, and a second run recomputes nothing', async () => {
    const db = new CatalogueDb(join(catDir, 'catalogue.sqlite'));
    expect(db.integrityCheck()).toBe('ok');
    expect(db.searchPrompts('bri').map((r) => r.slug).sort()).toEqual(['bright', 'bright-centre', 'dark']); // dark: by its tag "brightness"
    expect(db.searchPrompts('bright cen').map((r) => r.slug)).toEqual(['bright-centre']);
    expect(db.searchPrompts('contrast').map((r) => r.slug).sort()).toEqual(['high-contrast', 'low-contrast']);
    db.close();
    const again = await catalogue();
    expect(again.computed).toEqual([]);
    expect(again.unchanged.length).toBe(16);
  }, 120_000);

  it('bad inputs are refused with a clear error and leave the catalogue file unchanged', async () => {
    const file = join(catDir, 'catalogue.sqlite');
    const digest = () => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = digest();
    await expectCode(catalogue({ buildDir: join(tmp, 'no-such-build') }), 'E_MISSING', /not a relevance build/);
    const bad = (name: string, edit: (j: { prompts: Record<string, unknown>[]; defaults: Record<string, unknown> }) => void) => {
      const j = JSON.parse(readFileSync(prompts, 'utf8'));
      edit(j);
      const p = join(tmp, name);
      writeFileSync(p, JSON.stringify(j));
      return p;
    };
    await expectCode(catalogue({ promptsFile: bad('missing.json', (j) => delete j.prompts[2].target) }), 'E_INPUT', /prompts\[2\] \(id "blue"\): field "target": expected a non-empty string, found nothing/);
    await expectCode(catalogue({ promptsFile: bad('beta.json', (j) => (j.prompts[0].beta = 1.5)) }), 'E_INPUT', /prompts\[0\] \(id "red"\): field "beta"/);
    await expectCode(catalogue({ promptsFile: bad('alpha.json', (j) => (j.defaults.alphaRange = ['a', 2])) }), 'E_INPUT', /alphaRange/);
    await expectCode(catalogue({ promptsFile: bad('unknown-word.json', (j) => (j.prompts[0].target = 'smiling photo')) }), 'E_NUMERIC', /prompt "red"/);
    expect(digest()).toBe(before);
  }, 120_000);
});
