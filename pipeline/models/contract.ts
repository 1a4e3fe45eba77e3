/**
 * The bundle contracts (DESIGN §3) checked against the graphs' real inputs and outputs, once, at
 * open: every graph of a bundle, whether the command opens a session on it or embeds it in a
 * fused model. An error names the manifest key, the shape it implies and the shape found.
 */
import { fail } from '../core/errors.ts';
import type { GraphSignature, GraphValue } from '../onnx/signature.ts';
import { styleInputName } from '../onnx/stylegan2/graphs.ts';
import type { EncoderManifest, GeneratorManifest, IdentityManifest } from './manifest.ts';

type Side = 'input' | 'output';

/** One expected graph value: `shape` uses names for free (batch) sizes; `why` is the manifest key that fixes it. */
function checkValue(id: string, file: string, list: readonly GraphValue[], side: Side, name: string, type: string, shape: readonly (number | string)[], why: string): void {
  const v = list.find((x) => x.name === name);
  if (!v) fail('E_MANIFEST', `${id}: ${file} has no ${side} ${name} (${why}); its ${side}s are ${list.map((x) => x.name).join(', ') || 'none'}`);
  const fixed = (d: number | string) => (typeof d === 'number' && d > 0 ? d : '?');
  const ok = v.shape.length === shape.length && shape.every((d, i) => typeof d === 'string' || fixed(v.shape[i]) === d);
  if (!ok) fail('E_MANIFEST', `${id}: key "${why}": expects ${file} ${side} ${name} of shape [${shape.join(', ')}], the graph has [${v.shape.join(', ')}]`);
  if (v.type !== type) fail('E_MANIFEST', `${id}: ${file} ${side} ${name} must be ${type}, the graph has ${v.type}`);
}

function graph(graphs: Readonly<Record<string, GraphSignature>>, id: string, key: string): GraphSignature {
  return graphs[key] ?? fail('E_MANIFEST', `${id}: key "files.${key}" names no ONNX graph`);
}

/** mapping z → w, styles ws → s_<layer>, synthesis s_<layer>… → image, as the manifest's architecture and layers say. */
export function checkGeneratorGraphs(m: GeneratorManifest, graphs: Readonly<Record<string, GraphSignature>>): void {
  const a = m.architecture;
  const [mapping, styles, synthesis] = (['mapping', 'styles', 'synthesis'] as const).map((k) => graph(graphs, m.id, k));
  checkValue(m.id, 'mapping.onnx', mapping.inputs, 'input', 'z', 'float32', ['batch', a.zDim], 'architecture.zDim');
  checkValue(m.id, 'mapping.onnx', mapping.outputs, 'output', 'w', 'float32', ['batch', a.wDim], 'architecture.wDim');
  checkValue(m.id, 'styles.onnx', styles.inputs, 'input', 'ws', 'float32', ['batch', a.numWs, a.wDim], 'architecture.numWs');
  for (const [i, l] of m.layers.entries()) {
    const why = `layers.${i}.channels`;
    checkValue(m.id, 'styles.onnx', styles.outputs, 'output', styleInputName(l.name), 'float32', ['batch', l.channels], why);
    checkValue(m.id, 'synthesis.onnx', synthesis.inputs, 'input', styleInputName(l.name), 'float32', ['batch', l.channels], why);
  }
  checkValue(m.id, 'synthesis.onnx', synthesis.outputs, 'output', 'image', 'float32', ['batch', 3, a.resolution, a.resolution], 'architecture.resolution');
}

/** visual pixel_values [B,3,S,S] → image_embeds [B,D] and text input_ids [B,77] → text_embeds [B,D]. */
export function checkEncoderGraphs(m: EncoderManifest, graphs: Readonly<Record<string, GraphSignature>>): void {
  const a = m.architecture;
  const visual = graph(graphs, m.id, 'visual');
  const text = graph(graphs, m.id, 'text');
  checkValue(m.id, 'visual.onnx', visual.inputs, 'input', 'pixel_values', 'float32', ['batch', 3, a.imageSize, a.imageSize], 'architecture.imageSize');
  checkValue(m.id, 'visual.onnx', visual.outputs, 'output', 'image_embeds', 'float32', ['batch', a.embedDim], 'architecture.embedDim');
  checkValue(m.id, 'text.onnx', text.inputs, 'input', 'input_ids', 'int64', ['batch', a.contextLength], 'architecture.contextLength');
  checkValue(m.id, 'text.onnx', text.outputs, 'output', 'text_embeds', 'float32', ['batch', a.embedDim], 'architecture.embedDim');
}

/** network face [B,3,S,S] → features [B,E]. */
export function checkIdentityGraphs(m: IdentityManifest, graphs: Readonly<Record<string, GraphSignature>>): void {
  const a = m.architecture;
  const network = graph(graphs, m.id, 'network');
  checkValue(m.id, 'network.onnx', network.inputs, 'input', 'face', 'float32', ['batch', 3, a.inputSize, a.inputSize], 'architecture.inputSize');
  checkValue(m.id, 'network.onnx', network.outputs, 'output', 'features', 'float32', ['batch', a.embedDim], 'architecture.embedDim');
}
