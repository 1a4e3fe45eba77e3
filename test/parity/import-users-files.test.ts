/**
 * The files real users have, imported as they are (child processes, as a user runs them), against
 * the PyTorch references: OpenAI's TorchScript CLIP archives (traced and scripted), rosinality's
 * train.py checkpoints (args and optimiser states beside g_ema), and a stylegan2-ada-pytorch
 * generator whose conv_clamp actually clamps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { broadcastWs, truncate } from '../../pipeline/core/styles.ts';
import { loadGeneratorBundle } from '../../pipeline/models/bundle.ts';
import { readCheckpoint, scriptStateDict } from '../../pipeline/models/checkpoint/index.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { TINY_CLIP, TINY_NVIDIA, TINY_ROSINALITY, npyF32, referenceStyles, runReference } from '../fixtures/parity/fixtures.ts';
import { cli } from '../helpers/cli.ts';
import { relErr } from '../helpers/numeric.ts';
import { tempDir } from '../helpers/tmp.ts';

const work = tempDir('styleatlas-import-users-');
const at = (...p: string[]) => join(work, ...p);

beforeAll(() => {
  runReference('clip_reference.py', at('clip-jit'), [...TINY_CLIP, '--torchscript']);
  runReference('stylegan2_rosinality.py', at('ros-train'), [...TINY_ROSINALITY, '--train-checkpoint']);
  // Strong noise drives activations past ±256, so the reference clamps many elements of both kinds.
  runReference('stylegan2_nvidia.py', at('nv-clamp'), [...TINY_NVIDIA, '--conv-clamp', '256', '--noise-strength', '300']);
}, 600_000);

describe('OpenAI CLIP as released', () => {
  it("imports OpenAI's TorchScript archives (traced and scripted) as data, with torch.jit.load's state dict, matching PyTorch", async () => {
    const jitState = JSON.parse(readFileSync(at('clip-jit', 'jit-state.json'), 'utf8')) as Record<string, Record<string, [number[], string]>>;
    for (const file of ['openai-jit.pt', 'openai-script.pt']) {
      // The reader's state dict is exactly what PyTorch's own loader gives (the scripted mask attribute is not in it).
      const checkpoint = readCheckpoint(readFileSync(at('clip-jit', file)));
      const sd = scriptStateDict(checkpoint.value, checkpoint.size);
      expect(Object.fromEntries([...sd].map(([k, t]) => [k, [t.shape, `torch.${t.dtype}`]])), file).toEqual(jitState[file]);
      const out = at('models', file.replace('.pt', ''));
      const r = cli(['import', 'clip', at('clip-jit', file), '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
      const enc = await Encoder.open(out);
      expect(enc.manifest.origin).toMatchObject({ type: 'import', format: 'openai/CLIP TorchScript archive', sourceFile: file });
      expect(enc.manifest.origin.type === 'import' && enc.manifest.origin.note).toContain('TorchScript archive read as data');
      const image = await enc.encodeImages(npyF32(at('clip-jit'), 'pixels.npy'), 2);
      await enc.release();
      expect(relErr(image, npyF32(at('clip-jit'), 'image_embeds.npy')), file).toBeLessThan(1e-4);
    }
  });

  it('is not taken for a generator', () => {
    const out = at('models', 'not-a-generator');
    const r = cli(['import', 'stylegan2', at('clip-jit', 'openai-jit.pt'), '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E_CHECKPOINT: openai-jit\.pt is a TorchScript archive/);
  });
});

describe('training and ADA generators', () => {
  it("imports rosinality's train.py checkpoint as it is: g_ema (not g), args read as data, optimiser states left alone", async () => {
    const out = at('models', 'ros-train');
    const r = cli(['import', 'stylegan2', at('ros-train', 'checkpoint.pt'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: the checkpoint has no latent_avg'); // train.py does not save one
    const { manifest } = loadGeneratorBundle(out);
    const note = manifest.origin.type === 'import' ? manifest.origin.note : '';
    expect(note).toContain('a train.py checkpoint: its args (an argparse.Namespace, read as data: size=16, latent=32, n_mlp=2) checked against the shapes');
    expect(note).toContain('left unused: g, d, g_optim, d_optim, args, ada_aug_p');
    const gen = await Generator.open(out);
    const w = await gen.mapping(npyF32(at('ros-train'), 'z.npy'), 1);
    expect(relErr(w, npyF32(at('ros-train'), 'w.npy'))).toBeLessThan(1e-4); // g's mapping differs from g_ema's
    const sEdit = referenceStyles(at('ros-train'), 's_edit_');
    const image = await gen.synthesis(Float32Array.from(gen.layout.layers.flatMap((l) => [...sEdit.get(l.name)!])), 1);
    await gen.release();
    expect(relErr(image, npyF32(at('ros-train'), 'image_s.npy'))).toBeLessThan(1e-4);
  });

  it("applies conv_clamp=256 where stylegan2-ada-pytorch's bias_act does, with PyTorch's images", async () => {
    const hits = JSON.parse(readFileSync(at('nv-clamp', 'clamp_hits.json'), 'utf8')) as { conv: number; torgb: number };
    expect(hits.conv).toBeGreaterThan(100);
    expect(hits.torgb).toBeGreaterThan(10);
    const want = npyF32(at('nv-clamp'), 'image_z.npy');
    expect(relErr(npyF32(at('nv-clamp'), 'image_z_noclamp.npy'), want)).toBeGreaterThan(0.1); // the clamp matters here
    const out = at('models', 'nv-clamp');
    const r = cli(['import', 'stylegan2', at('nv-clamp', 'network.pkl'), '--out', out, '--format', 'nvidia']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    const gen = await Generator.open(out);
    expect(gen.manifest.architecture.convClamp).toBe(256);
    expect(gen.manifest.origin.type === 'import' && gen.manifest.origin.note).toContain("conv_clamp ±256 applied as NVIDIA's bias_act does");
    const w = truncate(await gen.mapping(npyF32(at('nv-clamp'), 'z.npy'), 1), gen.wAvg, 0.7);
    const image = await gen.synthesis(await gen.styles(broadcastWs(w, 1, gen.manifest.architecture.numWs), 1), 1);
    const sEdit = referenceStyles(at('nv-clamp'), 's_edit_');
    const edited = await gen.synthesis(Float32Array.from(gen.layout.layers.flatMap((l) => [...sEdit.get(l.name)!])), 1);
    await gen.release();
    expect(relErr(image, want)).toBeLessThan(1e-4);
    expect(relErr(edited, npyF32(at('nv-clamp'), 'image_s.npy'))).toBeLessThan(1e-4);
  });
});
