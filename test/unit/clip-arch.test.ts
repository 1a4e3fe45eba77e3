/**
 * CLIP's shapes: the ViT-B/32 parameter spec, the architecture derived back from a state dict's
 * shapes (model.py's build_model), and the FLOP count. Pure: no ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { tinyArch } from '../../pipeline/models/recipes/stylegan2-random.ts';
import {
  type ClipArch,
  clipArchFromStateDict,
  clipParamSpec,
  clipVisualFlops,
  textHeads,
  tinyClipArch,
  visionHeads,
  vitB32Arch,
} from '../../pipeline/onnx/clip/arch.ts';
import type { StateDict } from '../../pipeline/onnx/params.ts';
import { synthesisFlops } from '../../pipeline/onnx/stylegan2/arch.ts';

/** A state dict with the spec's shapes and no data: derivation reads shapes only. */
function shapesOnly(arch: ClipArch): StateDict {
  const sd: StateDict = new Map();
  for (const [name, dims] of clipParamSpec(arch)) sd.set(name, { dtype: 'float32', dims, data: new Float32Array(0) });
  return sd;
}

describe('ViT-B/32', () => {
  const spec = clipParamSpec(vitB32Arch());

  it("has ViT-B/32's image tower: width 768, 12 layers, patch 32, 224 px, 12 heads", () => {
    expect(spec.get('visual.conv1.weight')).toEqual([768, 3, 32, 32]);
    expect(spec.get('visual.class_embedding')).toEqual([768]);
    expect(spec.get('visual.positional_embedding')).toEqual([7 * 7 + 1, 768]);
    expect(spec.get('visual.transformer.resblocks.11.attn.in_proj_weight')).toEqual([3 * 768, 768]);
    expect(spec.get('visual.transformer.resblocks.11.mlp.c_fc.weight')).toEqual([4 * 768, 768]);
    expect(spec.has('visual.transformer.resblocks.12.ln_1.weight')).toBe(false);
    expect(spec.get('visual.proj')).toEqual([768, 512]);
    expect(visionHeads(vitB32Arch())).toBe(12);
  });

  it("has ViT-B/32's text tower: width 512, 12 layers, 8 heads, context 77, vocabulary 49408, embed 512", () => {
    expect(spec.get('token_embedding.weight')).toEqual([49408, 512]);
    expect(spec.get('positional_embedding')).toEqual([77, 512]);
    expect(spec.get('transformer.resblocks.11.attn.out_proj.weight')).toEqual([512, 512]);
    expect(spec.get('transformer.resblocks.11.mlp.c_proj.weight')).toEqual([512, 4 * 512]);
    expect(spec.has('transformer.resblocks.12.ln_1.weight')).toBe(false);
    expect(spec.get('ln_final.weight')).toEqual([512]);
    expect(spec.get('text_projection')).toEqual([512, 512]);
    expect(textHeads(vitB32Arch())).toBe(8);
  });

  it('has the parameter count of OpenAI ViT-B/32 (151 277 313) and its state-dict keys', () => {
    let count = 0;
    for (const dims of spec.values()) count += dims.reduce((a, b) => a * b, 1);
    expect(count).toBe(151_277_313);
    // OpenAI's ViT-B/32 state dict has these 302 tensors (plus three int buffers build_model drops).
    expect(spec.size).toBe(8 + 12 * 12 + 3 + 12 * 12 + 2 + 1);
  });
});

describe('architecture from the weights', () => {
  const custom: ClipArch = {
    embedDim: 48,
    imageResolution: 48,
    visionWidth: 192,
    visionLayers: 3,
    visionPatchSize: 16,
    contextLength: 77,
    vocabSize: 700,
    textWidth: 64,
    textLayers: 1,
  };

  it('round-trips every preset and an odd architecture', () => {
    for (const arch of [tinyClipArch(), vitB32Arch(), custom]) expect(clipArchFromStateDict(shapesOnly(arch))).toEqual(arch);
  });

  it('refuses ResNet CLIP and names what is missing', () => {
    const sd = shapesOnly(tinyClipArch());
    sd.delete('visual.proj');
    expect(() => clipArchFromStateDict(sd)).toThrow(/visual\.proj is missing.*ResNet/);
    const sd2 = shapesOnly(tinyClipArch());
    sd2.delete('ln_final.weight');
    try {
      clipArchFromStateDict(sd2);
      expect.unreachable();
    } catch (e) {
      expect(isStyleAtlasError(e) && e.code).toBe('E_SHAPE');
      expect((e as Error).message).toMatch(/ln_final\.weight is missing/);
    }
  });

  it('rejects widths that are not a whole number of 64-wide heads', () => {
    expect(() => clipParamSpec({ ...tinyClipArch(), textWidth: 100 })).toThrow(/textWidth must be a multiple of 64/);
    expect(() => clipParamSpec({ ...tinyClipArch(), imageResolution: 36 })).toThrow(/not a multiple of the patch size/);
  });
});

describe('FLOPs of the image tower', () => {
  it('counts ViT-B/32 at ~4.4 GMAC per image', () => {
    // 49 patches · 3072 · 768 + 12 · (50 · 12 · 768² + 2 · 50² · 768) + 768 · 512 multiply-accumulates
    const macs = 49 * 3072 * 768 + 12 * (50 * 12 * 768 ** 2 + 2 * 50 ** 2 * 768) + 768 * 512;
    expect(clipVisualFlops(vitB32Arch())).toBe(2 * macs);
    expect(macs / 1e9).toBeCloseTo(4.41, 2);
  });

  it('keeps the tiny encoder cheaper per image than one render of the tiny generator', () => {
    expect(clipVisualFlops(tinyClipArch())).toBeLessThan(synthesisFlops(tinyArch()));
    expect(clipVisualFlops(tinyClipArch()) / 1e6).toBeCloseTo(14.5, 0);
  });
});
