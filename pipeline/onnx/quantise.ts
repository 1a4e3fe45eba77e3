/**
 * Weight-only int8 copies of StyleAtlas graphs, for the browser: every large rank-2 float32
 * weight that feeds a MatMul, a Gather or a Transpose becomes int8 with one float32 scale per
 * output channel (absmax / 127, symmetric), and the graph dequantises it with plain opset-17 ops
 * that onnxruntime-web's wasm build runs (Cast, Mul, Gather). Activations stay float32.
 *
 *   Linear weight W [out, in] → Transpose → MatMul:  W ≈ Cast(q [out, in]) · scale [out, 1]
 *   MatMul B [in, out] read directly:               B ≈ Cast(q [in, out]) · scale [1, out]
 *   Gather table [V, W] (axis 0, the token embedding): rows gathered as int8, then
 *                                                    Cast(Gather(q, ids)) · Gather(scale [V, 1], ids)
 *
 * Pure: bytes in, bytes out; the same input gives the same bytes.
 */
import { fail } from '../core/errors.ts';
import { decodeModel } from './compose.ts';
import { float32Initializers } from './initializers.ts';
import { DataType, modelType } from './proto.ts';

/** Weights with fewer values than this stay float32 (biases, LayerNorm, small tables). */
export const MIN_QUANTISED_VALUES = 4096;
const QMAX = 127;

export interface QuantisedWeight {
  name: string;
  dims: [number, number];
  /** The axis the scales run along: 0 = one scale per row, 1 = one per column. */
  axis: 0 | 1;
}

export interface QuantisedModel {
  bytes: Uint8Array;
  weights: QuantisedWeight[];
}

/**
 * Symmetric int8 of a [rows, cols] float32 matrix with one scale per row (axis 0) or per column
 * (axis 1): scale = max|w| / 127 (1 for an all-zero line), q = round(w / scale) in [-127, 127].
 */
export function quantiseInt8(data: Float32Array, rows: number, cols: number, axis: 0 | 1): { q: Int8Array; scale: Float32Array } {
  const lines = axis === 0 ? rows : cols;
  const scale = new Float32Array(lines);
  const at = (line: number, k: number) => (axis === 0 ? line * cols + k : k * cols + line);
  const len = axis === 0 ? cols : rows;
  const q = new Int8Array(rows * cols);
  for (let line = 0; line < lines; line++) {
    let amax = 0;
    for (let k = 0; k < len; k++) amax = Math.max(amax, Math.abs(data[at(line, k)]));
    const s = amax > 0 ? Math.fround(amax / QMAX) : 1;
    scale[line] = s;
    for (let k = 0; k < len; k++) {
      const i = at(line, k);
      q[i] = Math.max(-QMAX, Math.min(QMAX, Math.round(data[i] / s)));
    }
  }
  return { q, scale };
}

interface Node {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  attribute?: { name: string; i?: number | { toNumber(): number } }[];
}

const raw = (name: string, dims: number[], dataType: number, data: Int8Array | Float32Array | BigInt64Array) => ({
  name, dims, data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});

function gatherAxis(n: Node): number {
  const a = n.attribute?.find((x) => x.name === 'axis');
  return a?.i === undefined ? 0 : Number(typeof a.i === 'number' ? a.i : a.i.toNumber());
}

/** Quantise `bytes` (an ONNX model) as the file comment says; `label` names it in errors. */
export function quantiseWeightsInt8(bytes: Uint8Array, label: string, minValues = MIN_QUANTISED_VALUES): QuantisedModel {
  const model = decodeModel(bytes, label) as unknown as { graph: { node: Node[]; initializer: { name: string; data_type?: number }[] } };
  const graph = model.graph;
  const floats = float32Initializers(bytes, label);
  const consumers = new Map<string, { node: Node; slot: number }[]>();
  for (const node of graph.node) node.input.forEach((v, slot) => consumers.set(v, [...(consumers.get(v) ?? []), { node, slot }]));
  const used = new Set<string>([...graph.initializer.map((t) => t.name), ...graph.node.flatMap((n) => [...n.input, ...n.output])]);
  const claim = (name: string) => {
    if (used.has(name)) fail('E_RUNTIME', `${label}: cannot quantise, the name ${name} is already taken`);
    used.add(name);
    return name;
  };

  const weights: QuantisedWeight[] = [];
  const dequant: Node[] = [];
  const replaced = new Map<Node, Node[]>();
  const newInits: object[] = [];
  const dropped = new Set<string>();
  const castF32 = { name: 'to', type: 2, i: DataType.float32 };
  for (const t of graph.initializer) {
    const w = floats.get(t.name);
    const uses = consumers.get(t.name) ?? [];
    if (!w || w.dims.length !== 2 || w.data.length < minValues || uses.length === 0) continue;
    const [rows, cols] = w.dims;
    const gather = uses.length === 1 && uses[0].node.op_type === 'Gather' && uses[0].slot === 0 && gatherAxis(uses[0].node) === 0;
    const direct = uses.every((u) => (u.node.op_type === 'MatMul' && u.slot === 1));
    const ok = gather || direct || uses.every((u) => u.node.op_type === 'Transpose' || (u.node.op_type === 'Gather' && u.slot === 0 && gatherAxis(u.node) === 0));
    if (!ok) continue;
    const axis: 0 | 1 = direct ? 1 : 0;
    const { q, scale } = quantiseInt8(w.data, rows, cols, axis);
    const qName = claim(`${t.name}.int8`);
    const sName = claim(`${t.name}.scale`);
    newInits.push(raw(qName, [rows, cols], DataType.int8, q), raw(sName, axis === 0 ? [rows, 1] : [1, cols], DataType.float32, scale));
    dropped.add(t.name);
    weights.push({ name: t.name, dims: [rows, cols], axis });
    if (gather) {
      // The table is never dequantised whole: only the rows a batch reads.
      const g = uses[0].node;
      const [qRows, fRows, sRows] = [claim(`${t.name}.int8_rows`), claim(`${t.name}.rows`), claim(`${t.name}.scale_rows`)];
      replaced.set(g, [
        { op_type: 'Gather', input: [qName, g.input[1]], output: [qRows], name: `${g.name ?? t.name}_int8` },
        { op_type: 'Cast', input: [qRows], output: [fRows], name: `${t.name}_cast`, attribute: [castF32] },
        { op_type: 'Gather', input: [sName, g.input[1]], output: [sRows], name: `${t.name}_scale_gather` },
        { op_type: 'Mul', input: [fRows, sRows], output: g.output, name: `${t.name}_dequant` },
      ]);
    } else {
      const f = claim(`${t.name}.float`);
      dequant.push(
        { op_type: 'Cast', input: [qName], output: [f], name: `${t.name}_cast`, attribute: [castF32] },
        { op_type: 'Mul', input: [f, sName], output: [t.name], name: `${t.name}_dequant` },
      );
    }
  }
  if (weights.length === 0) fail('E_RUNTIME', `${label}: no weight of ${minValues} or more values feeds a MatMul or Gather, nothing to quantise`);
  graph.initializer = [...graph.initializer.filter((t) => !dropped.has(t.name)), ...(newInits as typeof graph.initializer)];
  graph.node = [...dequant, ...graph.node.flatMap((n) => replaced.get(n) ?? [n])];
  // encode reads plain nested objects as well as decoded messages, so the new nodes need no conversion.
  return { bytes: modelType().encode(model).finish(), weights };
}
