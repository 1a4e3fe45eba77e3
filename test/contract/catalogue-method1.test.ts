/**
 * Method 1 beside method 3 in the catalogue and on the site (tiny generator + colour-world oracle):
 * `catalogue --method1` optimises the gallery samples of chosen prompts, stores score and time in
 * tables of their own keyed by (build, slug), skips unchanged work, prunes removed prompts, refuses
 * an unknown prompt before writing anything, and the site shows both methods side by side.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, StyleAtlasError } from '../../pipeline/core/errors.ts';
import { buildSite } from '../../pipeline/site/build-site.ts';
import { readSiteCatalogue } from '../../pipeline/site/catalogue-data.ts';
import { type CatalogueRun, runCatalogue } from '../../pipeline/stages/catalogue.ts';
import { METHOD1_CATALOGUE_DEFAULTS } from '../../pipeline/stages/method1-catalogue.ts';
import { runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { decodeRGB } from '../../pipeline/store/images.ts';
import { MODELS, REPO, modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const buildDir = join(tmp, 'tiny-cw');
const catDir = join(tmp, 'catalogue');
const allPrompts = JSON.parse(readFileSync(join(REPO, 'data', 'prompts', 'colour-world.json'), 'utf8'));
const promptFile = (ids: string[]) => {
  const file = join(tmp, `prompts-${ids.join('-')}.json`);
  writeFileSync(file, JSON.stringify({ ...allPrompts, prompts: allPrompts.prompts.filter((p: { id: string }) => ids.includes(p.id)) }));
  return file;
};
const STEPS = 40;
const catalogue = (ids: string[], method1: CatalogueRun['method1']) =>
  runCatalogue({ buildDir, promptsFile: promptFile(ids), outDir: catDir, modelsDir: MODELS, gallerySeeds: [1000, 1001, 1002, 1003], galleryColumns: 5, runtime: {}, method1 });
const settings = { ...METHOD1_CATALOGUE_DEFAULTS, steps: STEPS };
const rows = () => {
  const db = new Database(join(catDir, 'catalogue.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM latent_optimisations ORDER BY slug').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
};

/** Mean red chroma (R − luma) of an RGB8 image. */
function redness(rgb: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < rgb.length; i += 3) s += (rgb[i] - (0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2])) / 255;
  return s / (rgb.length / 3);
}

beforeAll(async () => {
  const config = { samples: 4, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 2000, statsSeed: 1_000_000, channelSet: 'conv' as const, chunkChannels: 64, batch: 16 };
  expect((await runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir: buildDir, config, resume: false, runtime: {} })).complete).toBe(true);
}, 600_000);

describe('catalogue --method1', () => {
  it('refuses a prompt the prompt file does not have, before writing anything', async () => {
    const e = await catalogue(['red', 'blue'], { settings, prompts: ['red', 'purple-rain'] }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(StyleAtlasError);
    expect((e as StyleAtlasError).code).toBe('E_INPUT' satisfies ErrorCode);
    expect((e as StyleAtlasError).message).toMatch(/method 1: purple-rain is not in colour-world/);
    expect(existsSync(join(catDir, 'catalogue.sqlite'))).toBe(false);
  });

  it('optimises the gallery samples of the chosen prompts, raising the CLIP score, and records what each method took', async () => {
    const s = await catalogue(['red', 'blue', 'bright'], { settings, prompts: ['red', 'blue'] });
    expect(s.method1).toEqual({ computed: ['red', 'blue'], unchanged: [] });
    const r = rows();
    expect(r.map((x) => x.slug)).toEqual(['blue', 'red']);
    for (const x of r) {
      expect(Number(x.score_after)).toBeGreaterThan(Number(x.score_before) + 0.05);
      expect(JSON.parse(String(x.settings))).toMatchObject({ steps: STEPS, lr: 0.1, lambdaL2: 0.008, lambdaId: 0, batch: 4 });
      expect(Number(x.direction_seconds)).toBeGreaterThan(0);
      expect(Number(x.seconds)).toBeGreaterThan(Number(x.direction_seconds)); // a direction is a dot product away; optimisation is 40 gradient steps
      expect(JSON.parse(String(x.loss_curve)).at(-1).step).toBe(STEPS);
    }
    const site = readSiteCatalogue(catDir);
    const red = site.directions.find((d) => d.slug === 'red')!;
    expect(site.directions.find((d) => d.slug === 'bright')!.method1).toBeUndefined();
    expect(red.method1!.items.map((i) => i.sampleSeed)).toEqual([1000, 1001, 1002, 1003]);
    // The oracle: every optimised sample is redder than it started.
    for (const i of red.method1!.items) {
      const before = await decodeRGB(readFileSync(join(catDir, i.beforePath)));
      const after = await decodeRGB(readFileSync(join(catDir, i.afterPath)));
      expect(redness(after.data)).toBeGreaterThan(redness(before.data) + 0.1);
    }
  }, 600_000);

  it('skips prompts whose inputs did not change, and recomputes when the settings do', async () => {
    const before = rows().map((x) => x.updated_at);
    const again = await catalogue(['red', 'blue', 'bright'], { settings, prompts: ['red', 'blue'] });
    expect(again.method1).toEqual({ computed: [], unchanged: ['red', 'blue'] });
    expect(rows().map((x) => x.updated_at)).toEqual(before);
    const more = await catalogue(['red', 'blue', 'bright'], { settings: { ...settings, steps: STEPS + 1 }, prompts: ['red'] });
    expect(more.method1).toEqual({ computed: ['red'], unchanged: [] });
  }, 600_000);

  it('removes the method-1 result of a prompt that left the prompt file', async () => {
    await catalogue(['red', 'bright'], undefined);
    expect(rows().map((x) => x.slug)).toEqual(['red']);
    const db = new Database(join(catDir, 'catalogue.sqlite'), { readonly: true });
    expect((db.prepare("SELECT count(*) AS n FROM latent_optimisation_items WHERE slug = 'blue'").get() as { n: number }).n).toBe(0);
    db.close();
  }, 600_000);

  it('puts method 1 beside method 3 on the site: the direction page and the build’s methods page', async () => {
    const out = join(tmp, 'site');
    await buildSite({ catalogueDir: catDir, outDir: out, env: process.env });
    const page = readFileSync(join(out, 'd', 'tiny-cw', 'red', 'index.html'), 'utf8');
    expect(page).toContain('data-method1');
    expect(page).toMatch(/score, method 1/);
    expect(page).toMatch(/time, method 3/);
    const images = [...page.matchAll(/src="\/(assets\/method1\/[^"]+)"/g)].map((m) => m[1]);
    expect(images).toHaveLength(8); // four samples, before and after
    for (const img of images) expect(existsSync(join(out, img))).toBe(true);
    expect(readFileSync(join(out, 'd', 'tiny-cw', 'bright', 'index.html'), 'utf8')).not.toContain('data-method1');
    const methods = readFileSync(join(out, 'methods', 'tiny-cw', 'index.html'), 'utf8');
    expect(methods).toContain('Method 1 beside method 3');
    expect(methods).toContain('/d/tiny-cw/red/');
    expect(readFileSync(join(out, 'builds', 'tiny-cw', 'index.html'), 'utf8')).toContain('data-methods-link');
  }, 600_000);
});
