/** Generator bundles: deterministic builds, and a coded error for each kind of bad bundle. */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, StyleAtlasError } from '../../pipeline/core/errors.ts';
import { readBundle } from '../../pipeline/models/bundle.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { tinyRecipe } from '../../pipeline/models/recipes/stylegan2-random.ts';
import { modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();

async function expectCode(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(StyleAtlasError);
  expect((e as StyleAtlasError).code).toBe(code);
  expect((e as StyleAtlasError).message).toMatch(message);
}

function copyTiny(name: string): string {
  const dir = join(tmp, name);
  cpSync(modelDir('tiny'), dir, { recursive: true });
  return dir;
}

describe('tiny generator bundle', () => {
  it('builds to identical bytes every time, matching the tracked manifest', async () => {
    const a = await tinyRecipe.build(join(tmp, 'a'), { log: () => {} });
    const b = await tinyRecipe.build(join(tmp, 'b'), { log: () => {} });
    expect(a.manifest.files).toEqual(b.manifest.files);
    expect(readFileSync(join(tmp, 'a', 'manifest.json'), 'utf8')).toBe(readFileSync(join(tmp, 'b', 'manifest.json'), 'utf8'));
    // The tracked models/tiny/manifest.json pins the sha256 of every generated file.
    expect(readFileSync(join(tmp, 'a', 'manifest.json'), 'utf8')).toBe(readFileSync(join(modelDir('tiny'), 'manifest.json'), 'utf8'));
  });

  it('a manifest with a wrong channel count is E_MANIFEST naming the key, expected and found', async () => {
    const dir = copyTiny('wrong-channels');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.layers[2].channels = 65;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await expectCode(Generator.open(dir), 'E_MANIFEST', /layers\.2\.channels": expected 64, found 65/);
  });

  it('a manifest that agrees with itself but not with the graph is E_MANIFEST', async () => {
    const dir = copyTiny('graph-mismatch');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.architecture.channels['64'] = 17; // layer table recomputed to agree; the ONNX graphs still say 16
    m.layers.find((l: { name: string }) => l.name === 'b64.conv1').channels = 17;
    m.layers.find((l: { name: string }) => l.name === 'b64.torgb').channels = 17;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await expectCode(Generator.open(dir), 'E_MANIFEST', /s_b64\.conv1 of shape \[batch, 17\], the graph has \[batch, 16\]/);
  });

  it('a schema error names the key, expected and found', async () => {
    const dir = copyTiny('schema');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.architecture.zDim = 'sixty-four';
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await expectCode(Generator.open(dir), 'E_MANIFEST', /key "architecture\.zDim": expected number, found "sixty-four"/);
  });

  it('a missing file is E_MISSING naming it', async () => {
    const dir = copyTiny('missing');
    rmSync(join(dir, 'synthesis.onnx'));
    await expectCode(Generator.open(dir), 'E_MISSING', /synthesis\.onnx is missing/);
  });

  it('a corrupted file is E_CHECKSUM naming it', async () => {
    const dir = copyTiny('corrupt');
    const p = join(dir, 'styles.onnx');
    const bytes = readFileSync(p);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(p, bytes);
    await expectCode(Generator.open(dir), 'E_CHECKSUM', /styles\.onnx does not match its manifest/);
  });

  it('an unknown folder and a folder without manifest are E_MISSING with a hint', async () => {
    await expectCode(Generator.open(join(tmp, 'nope')), 'E_MISSING', /does not exist/);
    await expectCode(Generator.open(tmp), 'E_MISSING', /no manifest\.json/);
  });

  it('a NaN style is E_NUMERIC naming the layer', async () => {
    const gen = await Generator.open(modelDir('tiny'));
    try {
      const s = await gen.stylesForSeeds([0], 0.7);
      s[gen.layout.layers[3].offset + 2] = Number.NaN;
      await expectCode(gen.synthesis(s, 1), 'E_NUMERIC', /style codes of layer b8\.conv1 has NaN/);
    } finally {
      await gen.release();
    }
  });

  it('records its origin honestly', () => {
    const m = readBundle(modelDir('tiny')).manifest;
    expect(m.origin.type).toBe('random');
    expect(m.origin.type === 'random' && m.origin.note).toMatch(/not a trained model/);
  });
});
