/**
 * The identity network of StyleCLIP's identity loss: `model_ir_se50.pth`, a torch.save of TreB1eN's
 * IR-SE50 `Backbone` state dict (criteria/id_loss.py loads it with load_state_dict), read as data by
 * the safe checkpoint reader and written as an identity bundle. Sizes come from the shapes
 * (irSeArchFromStateDict), so other IR-SE depths and widths in the same layout import too; the
 * BatchNorms' `num_batches_tracked` counters (training bookkeeping) are dropped.
 */
import { fail } from '../../core/errors.ts';
import { irSeArchFromStateDict, irSeParamSpec } from '../../onnx/arcface/arch.ts';
import type { StateDict } from '../../onnx/params.ts';
import type { Bundle } from '../bundle.ts';
import { flattenTensors, readCheckpoint } from '../checkpoint/index.ts';
import { writeIdentityBundle } from '../identity.ts';
import { type SourceTensor, readSource, refuseLeftovers, take } from './common.ts';

export interface ArcfaceImportOptions {
  id: string;
  log?: (message: string) => void;
}

/** TreB1eN-named tensors → the architecture and float32 weights (a `state_dict` key holding them is accepted too). */
export function arcfaceFromTensors(all: ReadonlyMap<string, SourceTensor>): { arch: ReturnType<typeof irSeArchFromStateDict>; weights: StateDict; dropped: number } {
  const prefix = [...all.keys()].some((k) => k.startsWith('state_dict.')) ? 'state_dict.' : '';
  const tensors = new Map([...all].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
  if (!tensors.has('input_layer.0.weight')) {
    fail('E_CHECKPOINT', 'not an IR-SE ArcFace state dict: there is no input_layer.0.weight (TreB1eN Backbone names: input_layer, body.N.res_layer, output_layer)');
  }
  const shapes: StateDict = new Map();
  for (const [name, t] of tensors) shapes.set(name, { dtype: 'float32', dims: [...t.shape], data: new Float32Array(0) });
  const arch = irSeArchFromStateDict(shapes);
  const weights: StateDict = new Map();
  const used = new Set<string>();
  for (const [name, shape] of irSeParamSpec(arch)) {
    weights.set(name, take(tensors.get(name), name, shape));
    used.add(name);
  }
  const counters = [...tensors.keys()].filter((k) => k.endsWith('.num_batches_tracked'));
  counters.forEach((k) => used.add(k));
  refuseLeftovers(tensors.keys(), used, 'IR-SE state dict');
  return { arch, weights, dropped: counters.length };
}

export async function importArcface(file: string, outDir: string, opts: ArcfaceImportOptions): Promise<Bundle> {
  const log = opts.log ?? (() => {});
  const src = readSource(file);
  log(`${src.name}: reading (${(src.bytes.length / 2 ** 20).toFixed(1)} MiB, sha256 ${src.sha256.slice(0, 12)}…)`);
  const checkpoint = readCheckpoint(src.bytes);
  if (checkpoint.format === 'torchscript') fail('E_CHECKPOINT', `${src.name} is a TorchScript archive; import arcface reads a torch.save of the Backbone state dict (model_ir_se50.pth)`);
  const { arch, weights, dropped } = arcfaceFromTensors(flattenTensors(checkpoint.value, checkpoint.size));
  const units = arch.stages.map((s) => s.units).join('-');
  log(`${src.name}: IR-SE, ${units} units, widths ${arch.stages.map((s) => s.depth).join('→')}, ${arch.embedDim}-d features, ${arch.inputSize} px faces`);
  return writeIdentityBundle(outDir, {
    id: opts.id,
    description: `IR-SE ArcFace (${units} units, ${arch.embedDim}-d) imported from ${src.name}`,
    origin: {
      type: 'import',
      format: 'TreB1eN IR-SE Backbone state dict (torch.save)',
      sourceFile: src.name,
      sourceSha256: src.sha256,
      note: `eval-mode BatchNorms folded into per-channel affines; dropped ${dropped} num_batches_tracked counters`,
    },
    arch,
    weights,
  });
}
