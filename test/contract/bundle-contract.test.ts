/**
 * Every graph of a bundle is checked against its manifest when the bundle is opened, whether a
 * command opens a session on it or embeds it in a fused model (the relevance and gallery models
 * embed visual.onnx): the error names the key, the shape it implies and the shape found.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { sha256Hex } from '../../pipeline/models/bundle.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { graphSignature } from '../../pipeline/onnx/signature.ts';
import { runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();

/** colour-world's manifest (224 px, D = 32) over tiny-clip's visual tower (32 px, D = 64), checksums updated. */
function mismatchedEncoder(): string {
  const dir = join(tmp, 'mismatched');
  cpSync(modelDir('colour-world'), dir, { recursive: true });
  const visual = readFileSync(join(modelDir('tiny-clip'), 'visual.onnx'));
  writeFileSync(join(dir, 'visual.onnx'), visual);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  m.files.visual = { ...m.files.visual, sha256: sha256Hex(visual), bytes: visual.byteLength };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

async function refusal(p: Promise<unknown>): Promise<StyleAtlasError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(StyleAtlasError);
  return e as StyleAtlasError;
}

it('reads a graph signature from the bytes: names, element types, fixed and symbolic sizes', () => {
  const sig = graphSignature(readFileSync(join(modelDir('tiny-clip'), 'text.onnx')), 'tiny-clip text.onnx');
  expect(sig.inputs).toEqual([{ name: 'input_ids', type: 'int64', shape: ['batch', 77] }]);
  expect(sig.outputs).toEqual([{ name: 'text_embeds', type: 'float32', shape: ['batch', 64] }]);
  const e = (() => {
    try {
      graphSignature(new Uint8Array([0x3a, 0xff, 0x01]), 'garbage.onnx');
    } catch (err) {
      return err as StyleAtlasError;
    }
  })();
  expect(e?.code).toBe('E_MANIFEST');
});

it('a relevance build refuses an encoder whose visual.onnx disagrees with its manifest, before anything is written', async () => {
  const out = join(tmp, 'build');
  const config = { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 0, statsSamples: 100, statsSeed: 1, channelSet: 'conv' as const, chunkChannels: 64, batch: 4 };
  const e = await refusal(runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: mismatchedEncoder(), outDir: out, config, resume: false, runtime: {} }));
  expect(e.code).toBe('E_MANIFEST');
  expect(e.message).toMatch(/key "architecture\.imageSize": expects visual\.onnx input pixel_values of shape \[batch, 3, 224, 224\], the graph has \[batch, 3, 32, 32\]/);
  expect(() => readFileSync(join(out, 'build.sqlite'))).toThrow();
});

it('opening only the text tower still checks visual.onnx', async () => {
  const e = await refusal(Encoder.open(mismatchedEncoder(), { parts: ['text'] }));
  expect(e.code).toBe('E_MANIFEST');
  expect(e.message).toMatch(/visual\.onnx input pixel_values/);
});

it('an embedding size D that disagrees with visual.onnx is refused at open, naming architecture.embedDim', async () => {
  const dir = join(tmp, 'other-d');
  cpSync(modelDir('colour-world'), dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const d = m.architecture.embedDim;
  m.architecture.embedDim = d + 1;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  const e = await refusal(Encoder.open(dir, { parts: [] }));
  expect(e.code).toBe('E_MANIFEST');
  expect(e.message).toMatch(new RegExp(`key "architecture\\.embedDim": expects visual\\.onnx output image_embeds of shape \\[batch, ${d + 1}\\], the graph has \\[batch, ${d}\\]`));
});
