/**
 * CLIP importers against PyTorch at the full ViT-B/32 shapes (151 M parameters): OpenAI's layout
 * (model.py names, nn.MultiheadAttention, float16 weights as the released TorchScript state dict has
 * them), the same model as a traced TorchScript archive (what OpenAI releases as ViT-B-32.pt, read as
 * data), and the same weights as a Hugging Face CLIPModel model.safetensors (+ config.json, vocab.json,
 * merges.txt). Each imported bundle (through Encoder, i.e. onnxruntime) must give PyTorch's image
 * and text embeddings within 1e-4 relative, and its tokenizer OpenAI's token ids.
 * ~30 s of PyTorch (writing 1.5 GB of checkpoints), ~10 s per import, ~2.5 GiB of memory.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { type ClipFormat, importClip } from '../../pipeline/models/import/clip.ts';
import { encodeNpy } from '../../pipeline/store/npy.ts';
import { npyF32, runReference } from '../fixtures/parity/fixtures.ts';
import { relErr } from '../helpers/numeric.ts';
import { REPO } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const TOLERANCE = 1e-4;
const REFERENCE_TOKENS: { text: string; ids: number[] }[] = JSON.parse(readFileSync(join(REPO, 'test/fixtures/clip/reference-tokens.json'), 'utf8'));
const PROMPTS = REFERENCE_TOKENS.slice(3, 6);

const work = tempDir('styleatlas-parity-clip-');
const ref = join(work, 'reference');
const errors: Record<string, number> = {};

beforeAll(() => {
  // OpenAI's own ids for three prompts, zero-padded to 77: the text tower's input on both sides.
  const ids = new BigInt64Array(PROMPTS.length * 77);
  PROMPTS.forEach((p, i) => p.ids.forEach((id, j) => (ids[i * 77 + j] = BigInt(id))));
  mkdirSync(ref, { recursive: true });
  writeFileSync(join(ref, 'ids.npy'), encodeNpy({ dtype: 'int64', shape: [PROMPTS.length, 77], data: ids }));
  const t0 = performance.now();
  runReference('clip_reference.py', ref, ['--seed', '1', '--torchscript']);
  console.log(`CLIP PyTorch reference: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}, 600_000);

afterAll(() => console.log(`CLIP parity (relative L2 errors): ${JSON.stringify(errors)}`));

function importedSuite(label: string, format: ClipFormat, file: string): void {
  describe(`${label} checkpoint`, () => {
    const out = join(work, `bundle-${label}`);
    let enc: Encoder;
    beforeAll(async () => {
      const t0 = performance.now();
      const r = await importClip(join(ref, file), out, { id: `vitb32-${label}` });
      expect(r.format).toBe(format);
      enc = await Encoder.open(out);
      console.log(`${label}: import + open ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }, 600_000);
    afterAll(async () => {
      await enc?.release();
      rmSync(out, { recursive: true, force: true });
    });

    it('records ViT-B/32 and the checkpoint sha256 in the manifest', () => {
      const m = enc.manifest;
      expect(m.architecture).toMatchObject({ family: 'clip', imageSize: 224, embedDim: 512, contextLength: 77 });
      expect(m.architecture.details).toMatchObject({ visionWidth: 768, visionLayers: 12, patchSize: 32, textWidth: 512, textLayers: 12, vocabSize: 49408 });
      expect(m.tokenizer).toEqual({ vocabSize: 49408, sot: 49406, eot: 49407 });
      const sha = createHash('sha256').update(readFileSync(join(ref, file))).digest('hex');
      expect(m.origin).toMatchObject({ type: 'import', sourceFile: file.split('/').pop(), sourceSha256: sha });
    });

    it("tokenizes every reference prompt to OpenAI's ids", () => {
      for (const p of REFERENCE_TOKENS) expect(enc.tokenizer.encode(p.text), p.text).toEqual(p.ids);
    });

    it(`gives PyTorch's image and text embeddings within ${TOLERANCE} relative`, async () => {
      const image = await enc.encodeImages(npyF32(ref, 'pixels.npy'), 2);
      errors[`${label}.image`] = relErr(image, npyF32(ref, 'image_embeds.npy'));
      const ids = enc.tokenizer.encodeBatch(PROMPTS.map((p) => p.text)).ids;
      const text = await enc.encodeTokenIds(ids, PROMPTS.length);
      errors[`${label}.text`] = relErr(text, npyF32(ref, 'text_embeds.npy'));
      expect(errors[`${label}.image`]).toBeLessThan(TOLERANCE);
      expect(errors[`${label}.text`]).toBeLessThan(TOLERANCE);
    }, 300_000);
  });
}

importedSuite('openai', 'openai', 'openai.pt');
importedSuite('openai-torchscript', 'openai', 'openai-jit.pt');
importedSuite('hf', 'hf', 'hf/model.safetensors');
