/**
 * The catalogue's latent mappers on the colour-world oracle: a prompt of kind "mapper" is trained,
 * its gallery gets bluer with strength and its held-out score rises; a second run trains nothing;
 * changed settings retrain, a dropped kind removes it; a catalogue killed mid-training continues to
 * the weights of an uninterrupted one; bad prompt files are refused before anything is written.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { runCatalogue } from '../../pipeline/stages/catalogue.ts';
import { runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { decodeMapperFile } from '../../pipeline/store/mapper-file.ts';
import { decodeNpz } from '../../pipeline/store/npz.ts';
import { MODELS, REPO, modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const buildDir = join(tmp, 'build');
const MAPPER = { steps: 60, trainSamples: 16, testSamples: 6, checkpointEvery: 5 };
const promptFile = (mapper: Record<string, unknown> = MAPPER, kinds: string[] = ['direction', 'mapper']) => {
  const path = join(tmp, `prompts-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({
    format: 'styleatlas-prompts/1', id: 'mappers', title: 'Mappers', description: 'test', defaults: { alpha: 1, beta: 'auto', betaFloor: 10, alphaRange: [-2, 2] },
    prompts: [
      { id: 'blue', neutral: 'photo', target: 'blue photo', tags: ['colour'], kinds, mapper },
      { id: 'red', neutral: 'photo', target: 'red photo', tags: ['colour'] },
    ],
  }));
  return path;
};
const catalogue = (outDir: string, promptsFile: string) => runCatalogue({ buildDir, promptsFile, outDir, modelsDir: MODELS, gallerySeeds: [1000, 1001], galleryColumns: 5, runtime: {} });
const rows = (dir: string, sql: string) => {
  const db = new Database(join(dir, 'catalogue.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  await runRelevanceBuild({
    generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir: buildDir, resume: false, runtime: {}, inflight: 2,
    config: { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 500, statsSeed: 100000, channelSet: 'conv' as const, chunkChannels: 64, batch: 16 },
  });
}, 600_000);

describe('catalogue mappers', () => {
  const out = join(tmp, 'catalogue');
  it('trains the prompt that asks for a mapper: bluer with strength, a higher held-out score, its files', async () => {
    const s = await catalogue(out, promptFile());
    expect(s.mappers).toEqual({ computed: ['blue'], unchanged: [], removed: 0 });
    expect(s.computed.sort()).toEqual(['blue', 'red']);
    const [m] = rows(out, 'SELECT * FROM mappers');
    expect([m.slug, m.target, m.steps]).toEqual(['blue', 'blue photo', 60]);
    const pixels = JSON.parse(String(m.pixel_curve)) as { strength: number; blue: number; red: number }[];
    expect(pixels.map((p) => p.strength)).toEqual([0, 0.5, 1, 1.5, 2]);
    for (let i = 1; i < pixels.length; i++) expect(pixels[i].blue).toBeGreaterThan(pixels[i - 1].blue);
    const held = JSON.parse(String(m.held_out));
    expect(held.count).toBe(6);
    expect(held.scoreAfter).toBeGreaterThan(held.scoreBefore);
    expect(rows(out, 'SELECT * FROM mapper_gallery_items')).toHaveLength(2 * 5);
    const files = JSON.parse(String(m.files));
    expect(decodeMapperFile(readFileSync(join(out, files.safetensors))).header.target).toBe('blue photo');
    expect(existsSync(join(out, files.onnx))).toBe(true);
  }, 600_000);

  it('trains nothing again when nothing changed; retrains on changed settings; removes a dropped mapper and its work', async () => {
    const again = await catalogue(out, promptFile());
    expect(again.mappers).toEqual({ computed: [], unchanged: ['blue'], removed: 0 });
    const changed = await catalogue(out, promptFile({ ...MAPPER, steps: 30 }));
    expect(changed.mappers.computed).toEqual(['blue']);
    expect(changed.unchanged.sort()).toEqual(['blue', 'red']); // the direction does not depend on mapper settings
    expect(rows(out, 'SELECT steps FROM mappers')).toEqual([{ steps: 30 }]);
    const work = join(out, 'work', 'mappers', 'build');
    expect(readdirSync(work)).toHaveLength(1); // the 60-step run's folder went with its inputs
    const dropped = await catalogue(out, promptFile(MAPPER, ['direction']));
    expect(dropped.mappers).toEqual({ computed: [], unchanged: [], removed: 1 });
    expect(rows(out, 'SELECT * FROM mappers')).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
  }, 600_000);

  it('killed with SIGKILL while training a mapper, continues to the weights of an uninterrupted catalogue', async () => {
    const prompts = promptFile();
    const cliArgs = (dir: string) => [join(REPO, 'bin', 'styleatlas.mjs'), 'catalogue', '--build', buildDir, '--prompts', prompts, '--out', dir, '--models-dir', MODELS, '--gallery-seeds', '1000-1001', '--columns', '5', '--no-cache', '--quiet'];
    const killed = join(tmp, 'killed');
    const child = spawn(process.execPath, cliArgs(killed), { stdio: 'ignore' });
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    const step = () => {
      const work = join(killed, 'work', 'mappers', 'build');
      const run = existsSync(work) ? readdirSync(work)[0] : undefined;
      const ckpt = run && join(work, run, 'checkpoint.npz');
      if (!ckpt || !existsSync(ckpt)) return 0;
      const st = decodeNpz(readFileSync(ckpt)).get('state');
      return st?.dtype === 'unicode' ? (JSON.parse(st.text) as { step: number }).step : 0;
    };
    const deadline = Date.now() + 300_000;
    while (step() < 15 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(step()).toBeLessThan(60);
    const resumed = await catalogue(killed, prompts);
    expect(resumed.mappers.computed).toEqual(['blue']);
    const whole = join(tmp, 'whole');
    expect((await catalogue(whole, prompts)).mappers.computed).toEqual(['blue']);
    const weights = (dir: string) => readFileSync(join(dir, 'assets', 'mappers', 'build', 'blue.safetensors'));
    expect(weights(killed).equals(weights(whole))).toBe(true);
    expect(rows(killed, 'SELECT held_out, pixel_curve FROM mappers')).toEqual(rows(whole, 'SELECT held_out, pixel_curve FROM mappers'));
  }, 900_000);

  it('refuses an unknown prompt kind and mapper settings it cannot use before writing anything', async () => {
    const fresh = join(tmp, 'refused');
    const bad = promptFile(MAPPER, ['direction', 'mapping']);
    await expect(catalogue(fresh, bad)).rejects.toThrow(/field "kinds\.1": expected "direction" or "mapper" \(the prompt kinds\), found "mapping"/);
    await expect(catalogue(fresh, promptFile({ ...MAPPER, trainSamples: 1, batch: 2 }))).rejects.toThrow(/mapper batch 2 exceeds its 1 training samples/);
    await expect(catalogue(fresh, promptFile({ ...MAPPER, lr: 0 }))).rejects.toBeInstanceOf(StyleAtlasError);
    expect(existsSync(fresh)).toBe(false);
  }, 300_000);
});
