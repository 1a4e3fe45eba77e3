/**
 * Identity networks with random weights and the real IR-SE architecture. They are not trained:
 * their features recognise nobody. They exist so method 1's identity term runs, and is checked
 * against PyTorch, without downloading model_ir_se50.pth (bring it with `styleatlas import arcface`).
 */
import { type IrSeArch, irSe50Arch, irSeParamSpec, tinyIrSeArch } from '../../onnx/arcface/arch.ts';
import { type StateDict, randomStateDict } from '../../onnx/params.ts';
import { writeIdentityBundle } from '../identity.ts';
import type { Recipe } from './recipe.ts';

/**
 * He-normal convolutions (the second conv of each residual branch at a fifth of it, so 24 units
 * of residual sums stay in range without training), BatchNorms near the identity with their own
 * running statistics, PReLU slopes near torch's 0.25.
 */
function irSeInit(spec: ReadonlyMap<string, readonly number[]>) {
  return (name: string): { mean?: number; std?: number } => {
    const shape = spec.get(name)!;
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    if (/\.(running_var|weight)$/.test(name) && shape.length === 1 && !/\.(2)\.weight$/.test(name)) return { mean: 1, std: 0.1 }; // BN scale, variance
    if (/\.(bias|running_mean)$/.test(name)) return { std: 0.1 };
    if (/\.2\.weight$/.test(name)) return { mean: 0.25, std: 0.05 }; // PReLU
    if (/res_layer\.3\.weight$/.test(name)) return { std: 0.2 * Math.sqrt(2 / fanIn) };
    if (shape.length === 4) return { std: Math.sqrt(2 / fanIn) };
    return { std: 1 / Math.sqrt(fanIn) }; // the Linear
  };
}

export function randomIrSeWeights(arch: IrSeArch, seed: number): StateDict {
  const spec = irSeParamSpec(arch);
  return randomStateDict(spec, seed, irSeInit(spec));
}

function randomIrSeRecipe(id: string, summary: string, arch: () => IrSeArch, seed: number, onDemand: boolean): Recipe {
  return {
    id,
    kind: 'identity',
    summary,
    onDemand,
    async build(outDir, ctx) {
      ctx.log(`${id}: drawing random weights (seed ${seed})`);
      return writeIdentityBundle(outDir, {
        id,
        description: summary,
        origin: { type: 'random', seed, note: 'random weights of the real IR-SE (ArcFace) architecture; not a trained model' },
        arch: arch(),
        weights: randomIrSeWeights(arch(), seed),
      });
    },
  };
}

export const tinyIrSeRecipe = randomIrSeRecipe(
  'tiny-ir-se',
  'Tiny IR-SE ArcFace (112 px faces, one unit per stage, widths 16→128, 128-d features), random weights — the tests\' identity network',
  tinyIrSeArch,
  5,
  false,
);

export const irSe50ArchRecipe = randomIrSeRecipe(
  'ir-se50-arch',
  'IR-SE50 ArcFace with the exact shapes of StyleCLIP\'s model_ir_se50.pth (3-4-14-3 units, widths 64→512, 512-d features), random weights — for parity and speed work',
  irSe50Arch,
  6,
  true,
);
