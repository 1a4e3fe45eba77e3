/**
 * `styleatlas import stylegan2|clip` as a user runs them (child processes), on small checkpoints written
 * by the PyTorch references: format recognition, coded errors that leave nothing behind, warnings,
 * refusals of what the graphs cannot represent, tokenizer checks, and unsafe pickles that run nothing.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { broadcastWs, truncate } from '../../pipeline/core/styles.ts';
import { loadGeneratorBundle } from '../../pipeline/models/bundle.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { importClip } from '../../pipeline/models/import/clip.ts';
import { OPENAI_CLIP_VOCAB } from '../../pipeline/models/import/clip-tokenizer.ts';
import { importStyleGAN2 } from '../../pipeline/models/import/stylegan2.ts';
import { clipTokenizerJson } from '../../pipeline/text/bpe.ts';
import { writeFixtures } from '../fixtures/checkpoint/fixtures.ts';
import { TINY_CLIP, TINY_NVIDIA, TINY_ROSINALITY, npyF32, runReference } from '../fixtures/parity/fixtures.ts';
import { cli } from '../helpers/cli.ts';
import { python } from '../helpers/python.ts';
import { relErr } from '../helpers/numeric.ts';
import { tempDir } from '../helpers/tmp.ts';


const work = tempDir('styleatlas-import-cli-');
const at = (...p: string[]) => join(work, ...p);
const MARKER = at('pwned');
const CONTROL = at('control-ran');

beforeAll(() => {
  const plain = ['--plain-ordered-dict'];
  runReference('stylegan2_rosinality.py', at('ros'), [...TINY_ROSINALITY, ...plain]);
  runReference('stylegan2_rosinality.py', at('ros-bare'), [...TINY_ROSINALITY, ...plain, '--bare']);
  runReference('stylegan2_rosinality.py', at('ros-box'), [...TINY_ROSINALITY, ...plain, '--kernel', '1,1,1,1']);
  runReference('stylegan2_rosinality.py', at('ros-real'), TINY_ROSINALITY);
  runReference('stylegan2_nvidia.py', at('nv'), TINY_NVIDIA);
  runReference('stylegan2_nvidia.py', at('nv-orig'), [...TINY_NVIDIA, '--architecture', 'orig']);
  runReference('clip_reference.py', at('clip'), [...TINY_CLIP, ...plain]);
  runReference('clip_reference.py', at('clip-real'), TINY_CLIP);
  mkdirSync(at('evil'));
  writeFixtures('malicious.py', [at('evil'), MARKER, CONTROL]);
}, 600_000);

function failsWith(args: string[], code: string, pattern: RegExp, out?: string): string {
  const r = cli(args);
  expect(r.stderr).toContain(`${code}:`);
  expect(r.stderr).toMatch(pattern);
  expect(r.status).toBe(code === 'E_USAGE' ? 2 : 1);
  if (out) expect(existsSync(out), `${out} must not be written`).toBe(false);
  return r.stderr;
}

describe('import stylegan2', () => {
  it('recognises a rosinality checkpoint, records its sha256, and renders as PyTorch does', async () => {
    const out = at('models', 'ros');
    const r = cli(['import', 'stylegan2', at('ros', 'checkpoint.pt'), '--out', out]);
    expect(r.stderr).not.toMatch(/warning/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    const { manifest } = loadGeneratorBundle(out);
    expect(manifest.id).toBe('ros');
    expect(manifest.origin).toMatchObject({ type: 'import', format: 'rosinality/stylegan2-pytorch', sourceFile: 'checkpoint.pt' });
    expect(manifest.layers.map((l) => l.name).slice(0, 5)).toEqual(['b4.conv1', 'b4.torgb', 'b8.conv0', 'b8.conv1', 'b8.torgb']);
    const gen = await Generator.open(out);
    const w = truncate(await gen.mapping(npyF32(at('ros'), 'z.npy'), 1), gen.wAvg, 0.7);
    const image = await gen.synthesis(await gen.styles(broadcastWs(w, 1, manifest.architecture.numWs), 1), 1);
    await gen.release();
    expect(relErr(image, npyF32(at('ros'), 'image_z.npy'))).toBeLessThan(1e-4);
  });

  it('estimates w_avg, with a warning, from a bare state dict without latent_avg', () => {
    const out = at('models', 'ros-bare');
    const r = cli(['import', 'stylegan2', at('ros-bare', 'checkpoint.pt'), '--out', out, '--id', 'bare-one']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: the checkpoint has no latent_avg');
    const { manifest } = loadGeneratorBundle(out);
    expect(manifest.id).toBe('bare-one');
    expect(manifest.origin.type === 'import' && manifest.origin.note).toContain('warning: the checkpoint has no latent_avg');
  });

  it('recognises an NVIDIA pickle (G_ema, not G) and renders as PyTorch does', async () => {
    const out = at('models', 'nv');
    const r = cli(['import', 'stylegan2', at('nv', 'network.pkl'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const gen = await Generator.open(out);
    const w = await gen.mapping(npyF32(at('nv'), 'z.npy'), 1);
    expect(relErr(w, npyF32(at('nv'), 'w.npy'))).toBeLessThan(1e-4); // G's mapping differs from G_ema's
    const image = await gen.synthesis(await gen.styles(broadcastWs(truncate(w, gen.wAvg, 0.7), 1, gen.manifest.architecture.numWs), 1), 1);
    await gen.release();
    expect(relErr(image, npyF32(at('nv'), 'image_z.npy'))).toBeLessThan(1e-4);
  });

  it('refuses a --format the file is not in, a foreign blur kernel and the orig architecture, writing nothing', () => {
    const out = at('models', 'refused');
    failsWith(['import', 'stylegan2', at('ros', 'checkpoint.pt'), '--out', out, '--format', 'nvidia'], 'E_INPUT', /is a torch\.save file/, out);
    failsWith(['import', 'stylegan2', at('ros-box', 'checkpoint.pt'), '--out', out], 'E_CHECKPOINT', /convs\.0\.conv\.blur\.kernel is not StyleGAN2's \[1,3,3,1\] FIR/, out);
    failsWith(['import', 'stylegan2', at('nv-orig', 'network.pkl'), '--out', out], 'E_CHECKPOINT', /"orig" architecture/, out);
    failsWith(['import', 'stylegan2', at('nothing.pt'), '--out', out], 'E_MISSING', /does not exist/, out);
    failsWith(['import', 'stylegan2', '--out', out], 'E_USAGE', /expected one checkpoint file/, out);
    failsWith(['import', 'stylegan2', at('ros', 'checkpoint.pt'), '--out', out, '--format', 'tf'], 'E_USAGE', /valid formats: rosinality, nvidia/, out);
  });

  it('keeps an existing bundle unless --force is given', () => {
    const out = at('models', 'ros');
    failsWith(['import', 'stylegan2', at('ros-bare', 'checkpoint.pt'), '--out', out], 'E_INPUT', /already exists/);
    expect(loadGeneratorBundle(out).manifest.origin).toMatchObject({ sourceFile: 'checkpoint.pt' });
    const r = cli(['import', 'stylegan2', at('ros-bare', 'checkpoint.pt'), '--out', out, '--force']);
    expect(r.status, r.stderr).toBe(0);
    expect(loadGeneratorBundle(out).manifest.origin.type === 'import' && loadGeneratorBundle(out).manifest.origin.note).toContain('bare g_ema state dict');
  });
});

describe('unsafe checkpoints', () => {
  it('control: the fixtures\' payload is live when Python unpickles one', () => {
    python("import pickle, sys; pickle.load(open(sys.argv[1], 'rb'))", [at('evil', 'control.pkl')]);
    expect(existsSync(CONTROL)).toBe(true);
  });

  it('refuses a checkpoint whose pickle calls os.system, and nothing runs', () => {
    for (const [cmd, file] of [['stylegan2', 'system-zip.pt'], ['stylegan2', 'system-p4.pkl'], ['clip', 'system-legacy.pt'], ['clip', 'inst.pkl']]) {
      const out = at('models', `evil-${cmd}`);
      failsWith(['import', cmd, at('evil', file), '--out', out], 'E_CHECKPOINT', /refusing (global|INST) (posix|os)\.system/, out);
    }
    expect(existsSync(MARKER)).toBe(false);
  });
});

describe('import clip', () => {
  it('recognises OpenAI and Hugging Face checkpoints and matches PyTorch', async () => {
    for (const [name, file, format] of [['clip-oa', 'openai.pt', 'openai/CLIP state dict'], ['clip-hf', 'hf/model.safetensors', 'Hugging Face transformers CLIPModel']]) {
      const out = at('models', name);
      const r = cli(['import', 'clip', at('clip', file), '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const enc = await Encoder.open(out);
      expect(enc.manifest.origin).toMatchObject({ type: 'import', format });
      expect(enc.manifest.tokenizer).toEqual({ vocabSize: 2514, sot: 2512, eot: 2513 });
      const image = await enc.encodeImages(npyF32(at('clip'), 'pixels.npy'), 2);
      await enc.release();
      expect(relErr(image, npyF32(at('clip'), 'image_embeds.npy'))).toBeLessThan(1e-4);
    }
    expect(readFileSync(at('models', 'clip-hf', 'tokenizer.json'), 'utf8')).toBe(readFileSync(at('models', 'clip-oa', 'tokenizer.json'), 'utf8'));
  });

  it('takes the merges of a given tokenizer.json, checks its vocabulary, and writes the same tokenizer', () => {
    const given = clipTokenizerJson(new Uint8Array(readFileSync(OPENAI_CLIP_VOCAB)), { maxMerges: 2000 });
    mkdirSync(at('tok'));
    writeFileSync(at('tok', 'tokenizer.json'), given);
    const out = at('models', 'clip-hf-tokjson');
    const r = cli(['import', 'clip', at('clip', 'hf', 'model.safetensors'), '--out', out, '--tokenizer', at('tok', 'tokenizer.json')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('tokenizer from tokenizer.json (merges and vocabulary checked)');
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(given);
  });

  it("checks a given vocabulary against the merges' ids", () => {
    const hf = at('hf-swapped');
    cpSync(at('clip', 'hf'), hf, { recursive: true });
    const vocab = JSON.parse(readFileSync(join(hf, 'vocab.json'), 'utf8')) as Record<string, number>;
    [vocab.a, vocab.b] = [vocab.b, vocab.a];
    writeFileSync(join(hf, 'vocab.json'), JSON.stringify(vocab));
    const out = at('models', 'swapped');
    failsWith(['import', 'clip', join(hf, 'model.safetensors'), '--out', out], 'E_INPUT', /token "[ab]" has id \d+, OpenAI's tokenizer gives it \d+/, out);
    failsWith(['import', 'clip', join(hf, 'model.safetensors'), '--out', out, '--tokenizer', join(hf, 'vocab.json')], 'E_INPUT', /OpenAI's tokenizer gives it/, out);
  });

  it('refuses an exact-GELU config and a --format the file is not in, writing nothing', () => {
    const hf = at('hf-gelu');
    cpSync(at('clip', 'hf'), hf, { recursive: true });
    const config = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8'));
    config.vision_config.hidden_act = 'gelu';
    writeFileSync(join(hf, 'config.json'), JSON.stringify(config));
    const out = at('models', 'gelu');
    failsWith(['import', 'clip', join(hf, 'model.safetensors'), '--out', out], 'E_CHECKPOINT', /vision_config\.hidden_act is "gelu"/, out);
    failsWith(['import', 'clip', at('clip', 'hf', 'model.safetensors'), '--out', out, '--format', 'openai'], 'E_INPUT', /holds Hugging Face/, out);
    failsWith(['import', 'clip', at('ros', 'checkpoint.pt'), '--out', out], 'E_CHECKPOINT', /holds no CLIP weights/, out);
  });
});

describe("real state_dict() files (module.state_dict() keeps a `_metadata` attribute that torch.save pickles)", () => {
  it('imports a rosinality checkpoint saved from g_ema.state_dict()', async () => {
    const r = await importStyleGAN2(at('ros-real', 'checkpoint.pt'), at('models', 'ros-real'), { id: 'ros-real' });
    expect(r.bundle.manifest.layers).toHaveLength(8);
  });

  it('imports an OpenAI CLIP state dict saved from model.state_dict()', async () => {
    const r = await importClip(at('clip-real', 'openai.pt'), at('models', 'clip-real'), { id: 'clip-real' });
    expect(r.format).toBe('openai');
  });
});

