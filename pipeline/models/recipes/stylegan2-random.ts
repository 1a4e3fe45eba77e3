/**
 * StyleGAN2 generators with random weights and the real architecture. They are not trained
 * models: images are textures, not faces. They exist so the whole method runs, and is checked,
 * without downloading anything.
 */
import { type StyleGAN2Arch, ffhqArch, stylegan2ParamSpec } from '../../onnx/stylegan2/arch.ts';
import { type StateDict, randomStateDict } from '../../onnx/params.ts';
import { writeGeneratorBundle } from '../stylegan2-bundle.ts';
import type { Recipe } from './recipe.ts';

/**
 * rosinality's initialisation (weights N(0,1), equalised lr), except that the parameters it
 * starts at zero (noise strengths, biases) get small random values, so every path of the graph
 * carries signal and is exercised by the parity tests, and the toRGB weights are scaled down so
 * images mostly stay inside [-1, 1] as a trained generator's do (N(0,1) toRGBs summed over five
 * resolutions saturate most pixels, and clipped pixels hide what a channel does).
 */
const TORGB_STD = 0.35;

function initFor(arch: StyleGAN2Arch) {
  return (name: string): { mean?: number; std?: number } => {
    if (/^style\.\d+\.bias$/.test(name)) return { std: 0.1 / arch.mappingLrMul };
    if (/^style\.\d+\.weight$/.test(name)) return { std: 1 / arch.mappingLrMul };
    if (name.endsWith('.modulation.bias')) return { mean: 1, std: 0.1 };
    if (/^to_rgbs?\d*(\.\d+)?\.conv\.weight$/.test(name)) return { std: TORGB_STD };
    if (name.endsWith('.noise.weight') || name.endsWith('activate.bias') || /^to_rgbs?\d*(\.\d+)?\.bias$/.test(name)) return { std: 0.1 };
    return {};
  };
}

/** Seeded random weights for any StyleGAN2 architecture (same seed ⇒ identical bytes). */
export function randomStyleGAN2Weights(arch: StyleGAN2Arch, seed: number): StateDict {
  return randomStateDict(stylegan2ParamSpec(arch), seed, initFor(arch));
}

/** The embedded default: 64×64, narrow widths; ~10 000 renders a minute on 2 CPU cores. */
export function tinyArch(): StyleGAN2Arch {
  return { resolution: 64, zDim: 64, wDim: 64, mappingLayers: 8, mappingLrMul: 0.01, channels: { 4: 64, 8: 64, 16: 64, 32: 32, 64: 16 } };
}

function randomGeneratorRecipe(id: string, summary: string, arch: () => StyleGAN2Arch, seed: number, onDemand: boolean): Recipe {
  return {
    id,
    kind: 'generator',
    summary,
    onDemand,
    async build(outDir, ctx) {
      const a = arch();
      ctx.log(`${id}: drawing random weights (seed ${seed})`);
      const weights = randomStyleGAN2Weights(a, seed);
      return writeGeneratorBundle(outDir, {
        id,
        description: summary,
        origin: { type: 'random', seed, note: 'random weights of the real StyleGAN2 architecture; not a trained model' },
        arch: a,
        weights,
        log: ctx.log,
      });
    },
  };
}

export const tinyRecipe = randomGeneratorRecipe(
  'tiny',
  'Tiny StyleGAN2 (64×64, widths 64→16), random weights — the embedded default for demos and tests',
  tinyArch,
  1,
  false,
);

export const ffhqArchRecipe = randomGeneratorRecipe(
  'ffhq-arch',
  'StyleGAN2 with the exact FFHQ-1024 shapes (26 style layers, 18 ws, 9088 channels), random weights — for parity and speed work',
  ffhqArch,
  2,
  true,
);
