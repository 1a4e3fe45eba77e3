/**
 * The ArcFace backbone StyleCLIP's identity loss uses (criteria/id_loss.py: IR-SE50 from TreB1eN's
 * InsightFace_Pytorch, `Backbone(input_size=112, num_layers=50, mode='ir_se')`) as a literal table:
 * a 3×3 stem, four stages of improved-residual units with squeeze-and-excitation, and an output
 * layer (BatchNorm2d, Flatten, Linear, BatchNorm1d) whose features are L2-normalised. Parameter
 * names and shapes are the state dict's (`input_layer.0.weight`, `body.3.res_layer.5.fc1.weight`,
 * `output_layer.4.running_var`, …); real weights carry their own sizes (irSeArchFromStateDict).
 */
import { fail } from '../../core/errors.ts';
import type { StateDict } from '../params.ts';

export interface IrSeStage {
  /** Output channels of the stage's units (TreB1eN's `depth`). */
  depth: number;
  units: number;
}

export interface IrSeArch {
  /** Face crop side the network reads (112 for the 7×7 output layer). */
  inputSize: number;
  /** Channels of the stem (64). */
  stem: number;
  stages: readonly IrSeStage[];
  /** Squeeze-and-excitation reduction (16). */
  seReduction: number;
  embedDim: number;
}

/** get_blocks(50): 3, 4, 14 and 3 units of depth 64, 128, 256, 512. */
export function irSe50Arch(): IrSeArch {
  return { inputSize: 112, stem: 64, stages: [{ depth: 64, units: 3 }, { depth: 128, units: 4 }, { depth: 256, units: 14 }, { depth: 512, units: 3 }], seReduction: 16, embedDim: 512 };
}

/** The tests' identity network: the same units, one per stage, widths 16 → 128, 128-d features (~0.9 GFLOP per face). */
export function tinyIrSeArch(): IrSeArch {
  return { inputSize: 112, stem: 16, stages: [{ depth: 16, units: 1 }, { depth: 32, units: 1 }, { depth: 64, units: 1 }, { depth: 128, units: 1 }], seReduction: 16, embedDim: 128 };
}

export interface IrSeUnit {
  /** body.<index> */
  index: number;
  inChannels: number;
  depth: number;
  stride: number;
}

/** get_block: a stage's first unit has stride 2 and takes the previous stage's depth. */
export function irSeUnits(arch: IrSeArch): IrSeUnit[] {
  const units: IrSeUnit[] = [];
  let inChannels = arch.stem;
  for (const s of arch.stages) {
    for (let u = 0; u < s.units; u++) {
      units.push({ index: units.length, inChannels: u === 0 ? inChannels : s.depth, depth: s.depth, stride: u === 0 ? 2 : 1 });
    }
    inChannels = s.depth;
  }
  return units;
}

/** Spatial side after the body (four stride-2 stages: 112 → 7). */
export function irSeOutputSide(arch: IrSeArch): number {
  return arch.inputSize / 2 ** arch.stages.length;
}

export function validateIrSeArch(arch: IrSeArch): void {
  if (!Number.isInteger(irSeOutputSide(arch)) || irSeOutputSide(arch) < 1) fail('E_INPUT', `IR-SE input size ${arch.inputSize} does not halve ${arch.stages.length} times`);
  for (const s of arch.stages) {
    if (!Number.isInteger(s.depth) || s.depth < arch.seReduction || s.depth % arch.seReduction !== 0) fail('E_INPUT', `IR-SE depth ${s.depth} must be a multiple of the SE reduction ${arch.seReduction}`);
    if (!Number.isInteger(s.units) || s.units < 1) fail('E_INPUT', `IR-SE stage of depth ${s.depth} needs at least one unit`);
  }
}

function batchNorm(spec: Map<string, number[]>, prefix: string, c: number): void {
  for (const k of ['weight', 'bias', 'running_mean', 'running_var']) spec.set(`${prefix}.${k}`, [c]);
}

/** Names and shapes of a Backbone(mode='ir_se', affine=True) state dict (num_batches_tracked left out). */
export function irSeParamSpec(arch: IrSeArch): Map<string, number[]> {
  validateIrSeArch(arch);
  const spec = new Map<string, number[]>();
  spec.set('input_layer.0.weight', [arch.stem, 3, 3, 3]);
  batchNorm(spec, 'input_layer.1', arch.stem);
  spec.set('input_layer.2.weight', [arch.stem]);
  const last = arch.stages[arch.stages.length - 1].depth;
  batchNorm(spec, 'output_layer.0', last);
  spec.set('output_layer.3.weight', [arch.embedDim, last * irSeOutputSide(arch) ** 2]);
  spec.set('output_layer.3.bias', [arch.embedDim]);
  batchNorm(spec, 'output_layer.4', arch.embedDim);
  for (const u of irSeUnits(arch)) {
    const p = `body.${u.index}`;
    if (u.inChannels !== u.depth) {
      spec.set(`${p}.shortcut_layer.0.weight`, [u.depth, u.inChannels, 1, 1]);
      batchNorm(spec, `${p}.shortcut_layer.1`, u.depth);
    }
    batchNorm(spec, `${p}.res_layer.0`, u.inChannels);
    spec.set(`${p}.res_layer.1.weight`, [u.depth, u.inChannels, 3, 3]);
    spec.set(`${p}.res_layer.2.weight`, [u.depth]);
    spec.set(`${p}.res_layer.3.weight`, [u.depth, u.depth, 3, 3]);
    batchNorm(spec, `${p}.res_layer.4`, u.depth);
    spec.set(`${p}.res_layer.5.fc1.weight`, [u.depth / arch.seReduction, u.depth, 1, 1]);
    spec.set(`${p}.res_layer.5.fc2.weight`, [u.depth, u.depth / arch.seReduction, 1, 1]);
  }
  return spec;
}

function dims(sd: StateDict, name: string): readonly number[] {
  const t = sd.get(name);
  if (!t) fail('E_SHAPE', `weights: tensor ${name} is missing; an IR-SE (TreB1eN Backbone) state dict has it`);
  return t.dims;
}

/** The architecture a state dict's shapes imply: units counted from `body.N`, stages where the depth changes. */
export function irSeArchFromStateDict(sd: StateDict): IrSeArch {
  const stem = dims(sd, 'input_layer.0.weight')[0];
  const [embedDim, flat] = dims(sd, 'output_layer.3.weight');
  const stages: IrSeStage[] = [];
  for (let i = 0; sd.has(`body.${i}.res_layer.1.weight`); i++) {
    const depth = dims(sd, `body.${i}.res_layer.1.weight`)[0];
    const prev = stages[stages.length - 1];
    // A stage starts where the depth changes, or (stage 1, depth = stem) at the very first unit.
    if (!prev || prev.depth !== depth) stages.push({ depth, units: 1 });
    else prev.units++;
  }
  if (stages.length === 0) fail('E_SHAPE', 'weights: no body.N.res_layer units; not an IR-SE (TreB1eN Backbone) state dict');
  const se = dims(sd, 'body.0.res_layer.5.fc1.weight');
  const last = stages[stages.length - 1].depth;
  const side = Math.round(Math.sqrt(flat / last));
  if (side * side * last !== flat) fail('E_SHAPE', `weights: output_layer.3.weight has ${flat} inputs, not ${last} channels on a square grid`);
  const arch: IrSeArch = { inputSize: side * 2 ** stages.length, stem, stages, seReduction: stages[0].depth / se[0], embedDim };
  validateIrSeArch(arch);
  return arch;
}

/** Multiply-accumulate FLOPs (2 per MAC) of one face: the convolutions and the Linear. */
export function irSeFlops(arch: IrSeArch): number {
  let side = arch.inputSize;
  let flops = 2 * side * side * 3 * arch.stem * 9;
  for (const u of irSeUnits(arch)) {
    const out = side / u.stride;
    flops += 2 * side * side * u.inChannels * u.depth * 9 + 2 * out * out * u.depth * u.depth * 9;
    if (u.inChannels !== u.depth) flops += 2 * out * out * u.inChannels * u.depth;
    side = out;
  }
  const last = arch.stages[arch.stages.length - 1].depth;
  return flops + 2 * last * side * side * arch.embedDim;
}
