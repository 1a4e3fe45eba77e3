/**
 * OpenAI CLIP weights in openai/CLIP `clip/model.py` naming (the builder's naming): OpenAI's released
 * TorchScript archives (`ViT-B-32.pt`, whose state dict the checkpoint reader takes from the module
 * tree without running its code) or a state dict saved with torch.save, e.g.
 * `torch.save(torch.jit.load('ViT-B-32.pt', map_location='cpu').state_dict(), 'ViT-B-32-state.pt')`.
 * That state dict is float16 (widened exactly to float32 here) and carries three integer buffers,
 * `input_resolution`, `context_length` and `vocab_size`, which model.py's build_model drops too.
 * Every size is derived from the shapes (clipArchFromStateDict), as build_model does.
 */
import { fail } from '../../core/errors.ts';
import { type ClipArch, clipArchFromStateDict, clipParamSpec } from '../../onnx/clip/arch.ts';
import type { StateDict } from '../../onnx/params.ts';
import { type SourceTensor, refuseLeftovers, take } from './common.ts';

/** Scalars the TorchScript model keeps as buffers; build_model deletes them. */
const JIT_SCALARS = ['input_resolution', 'context_length', 'vocab_size'];

export interface ImportedClip {
  arch: ClipArch;
  weights: StateDict;
  notes: string[];
}

/** Float32 copies of the tensors the CLIP spec names; the architecture comes from the shapes. */
export function clipFromOpenAINames(tensors: ReadonlyMap<string, SourceTensor>, what: string): { arch: ClipArch; weights: StateDict } {
  const shapesOnly: StateDict = new Map();
  for (const [name, t] of tensors) shapesOnly.set(name, { dtype: 'float32', dims: t.shape, data: new Float32Array(0) });
  const arch = clipArchFromStateDict(shapesOnly);
  const weights: StateDict = new Map();
  const used = new Set<string>();
  for (const [name, shape] of clipParamSpec(arch)) {
    weights.set(name, take(tensors.get(name), name, shape));
    used.add(name);
  }
  refuseLeftovers(tensors.keys(), used, what);
  return { arch, weights };
}

export function importOpenAIClip(tensors: ReadonlyMap<string, SourceTensor>): ImportedClip {
  if (!tensors.has('visual.proj') && tensors.has('visual.attnpool.c_proj.weight')) {
    fail('E_CHECKPOINT', 'this is a ResNet CLIP (visual.attnpool); only ViT CLIP models are supported');
  }
  const kept = new Map([...tensors].filter(([name]) => !JIT_SCALARS.includes(name)));
  const dropped = JIT_SCALARS.filter((n) => tensors.has(n));
  const { arch, weights } = clipFromOpenAINames(kept, 'OpenAI CLIP state dict');
  const notes = ['openai/CLIP model.py state dict; sizes derived from the shapes'];
  if (dropped.length) notes.push(`dropped the TorchScript buffers ${dropped.join(', ')}`);
  return { arch, weights, notes };
}
