/**
 * Graph composition: copy a whole ONNX model into a GraphBuilder under a name prefix, binding
 * its inputs to values already in the builder. This is how synthesis → preprocessing → visual
 * encoder become one session, so images never leave the runtime.
 */
import { fail } from '../core/errors.ts';
import type { GraphBuilder } from './graph.ts';
import { OPSET } from './graph.ts';
import { modelType } from './proto.ts';

interface DecodedNode {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  domain?: string;
  attribute?: object[];
}

interface DecodedModel {
  opset_import: { domain?: string; version: number | { toNumber(): number } }[];
  graph: {
    node: DecodedNode[];
    initializer: (object & { name: string })[];
    input: { name: string }[];
    output: { name: string }[];
  };
}

export function decodeModel(bytes: Uint8Array, label: string): DecodedModel {
  let m: DecodedModel;
  try {
    m = modelType().decode(bytes) as unknown as DecodedModel;
  } catch (e) {
    return fail('E_RUNTIME', `${label}: not a readable ONNX model (${(e as Error).message})`);
  }
  const opset = m.opset_import.find((o) => !o.domain);
  const version = opset ? Number(typeof opset.version === 'number' ? opset.version : opset.version.toNumber()) : NaN;
  if (version !== OPSET) fail('E_RUNTIME', `${label}: opset ${version} cannot be composed with StyleAtlas graphs (opset ${OPSET})`);
  return m;
}

/**
 * Embed `bytes` into `g`: every value, initializer and node name gets `prefix`, except graph
 * inputs named in `bindings`, which read the given builder values instead. Returns the builder
 * names of the embedded model's outputs. Unbound graph inputs become inputs of `g`.
 */
export function embedModel(
  g: GraphBuilder,
  bytes: Uint8Array,
  label: string,
  prefix: string,
  bindings: Readonly<Record<string, string>>,
  inputTypes: Readonly<Record<string, { dtype: 'float32' | 'int64'; shape: readonly (number | string)[] }>> = {},
): Record<string, string> {
  const m = decodeModel(bytes, label);
  const rename = new Map<string, string>();
  const initNames = new Set(m.graph.initializer.map((t) => t.name));
  for (const inp of m.graph.input) {
    if (initNames.has(inp.name)) continue;
    if (inp.name in bindings) rename.set(inp.name, bindings[inp.name]);
    else {
      const t = inputTypes[inp.name];
      if (!t) fail('E_RUNTIME', `${label}: input ${inp.name} is neither bound nor declared`);
      rename.set(inp.name, g.input(inp.name, t.dtype, t.shape));
    }
  }
  for (const name of Object.keys(bindings)) {
    if (!m.graph.input.some((i) => i.name === name)) fail('E_RUNTIME', `${label}: has no input ${name} to bind`);
  }
  const nameOf = (v: string): string => {
    if (v === '') return v;
    let r = rename.get(v);
    if (!r) {
      r = `${prefix}${v}`;
      rename.set(v, r);
    }
    return r;
  };
  for (const t of m.graph.initializer) g.rawInitializer(nameOf(t.name), t);
  for (const n of m.graph.node) {
    g.rawNode({ ...n, input: n.input.map(nameOf), output: n.output.map(nameOf), name: `${prefix}${n.name ?? n.op_type}` });
  }
  return Object.fromEntries(m.graph.output.map((o) => [o.name, nameOf(o.name)]));
}
