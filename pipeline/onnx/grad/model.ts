/**
 * A read-only view of an ONNX model in the shape the builder writes it (GraphBuilder.toModelObject)
 * or protobufjs decodes it (decodeModel): nodes with typed attribute readers, graph inputs with
 * their element types and shapes, and initializers whose small integer/float contents can be read
 * (axes, shapes, pads, indices). Both forms use onnx.proto's field names; int64 fields may be
 * numbers or Long objects, and a decoded message reports defaults for unset fields, so every read
 * goes through the helpers here.
 */
import { fail } from '../../core/errors.ts';
import type { Dim } from '../graph.ts';
import { AttributeType, DataType, type DType } from '../proto.ts';
import { decodeModel } from '../compose.ts';
import type { GraphBuilder } from '../graph.ts';

type Int64Like = number | string | { toNumber(): number };

export function toNumber(v: Int64Like | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

const DTYPE_OF_CODE = new Map<number, DType>(Object.entries(DataType).map(([k, v]) => [v, k as DType]));

export function dtypeOfCode(code: number, what: string): DType {
  const d = DTYPE_OF_CODE.get(code);
  if (!d) fail('E_GRAD', `${what}: ONNX element type ${code} is not one StyleAtlas handles`);
  return d;
}

export interface RawAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: Int64Like;
  s?: Uint8Array;
  t?: RawTensor;
  floats?: number[];
  ints?: Int64Like[];
}

export interface RawTensor {
  name?: string;
  dims?: Int64Like[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: Int64Like[];
  int32_data?: number[];
  double_data?: number[];
}

export interface RawNode {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  domain?: string;
  attribute?: RawAttribute[];
}

interface RawValueInfo {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: Int64Like; dim_param?: string; value?: string }[] } } };
}

interface RawModel {
  opset_import?: { domain?: string; version?: Int64Like }[];
  graph: { node: RawNode[]; initializer: RawTensor[]; input: RawValueInfo[]; output: RawValueInfo[] };
}

/** Typed access to one node's attributes (ONNX defaults are the caller's). */
export class Attrs {
  private readonly byName = new Map<string, RawAttribute>();
  constructor(
    raw: readonly RawAttribute[],
    private readonly where: string,
  ) {
    for (const a of raw) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  int(name: string, dflt: number): number {
    const a = this.byName.get(name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttributeType.INT) fail('E_GRAD', `${this.where}: attribute ${name} is not an integer`);
    return toNumber(a.i);
  }

  float(name: string, dflt: number): number {
    const a = this.byName.get(name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttributeType.FLOAT) fail('E_GRAD', `${this.where}: attribute ${name} is not a float`);
    // Float attributes are float32 in the file: the forward computes with the rounded value.
    return Math.fround(a.f ?? 0);
  }

  ints(name: string): number[] | undefined {
    const a = this.byName.get(name);
    if (!a) return undefined;
    if (a.type !== undefined && a.type !== AttributeType.INTS) fail('E_GRAD', `${this.where}: attribute ${name} is not a list of integers`);
    return (a.ints ?? []).map(toNumber);
  }

  string(name: string, dflt: string): string {
    const a = this.byName.get(name);
    if (!a) return dflt;
    return new TextDecoder().decode(a.s ?? new Uint8Array());
  }

  tensor(name: string): RawTensor | undefined {
    return this.byName.get(name)?.t;
  }
}

export interface NodeView {
  /** The op type, prefixed with its domain for operators outside standard ONNX (com.microsoft.ReorderInput). */
  op: string;
  /** The node's name in the model (for messages). */
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Attrs;
  raw: RawNode;
}

export interface InputView {
  name: string;
  dtype: DType;
  /** Undefined when the graph does not declare one. */
  shape?: Dim[];
}

/** Numbers of a small tensor (initializer or Constant attribute): ints as numbers, floats as float64. */
export function tensorNumbers(t: RawTensor, what: string): { dtype: DType; dims: number[]; values: Float64Array } {
  const dtype = dtypeOfCode(t.data_type ?? 0, what);
  const dims = (t.dims ?? []).map(toNumber);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.raw_data;
  let values: Float64Array;
  if (raw && raw.byteLength > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    values = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      switch (dtype) {
        case 'float32': values[i] = view.getFloat32(4 * i, true); break;
        case 'float64': values[i] = view.getFloat64(8 * i, true); break;
        case 'int64': values[i] = Number(view.getBigInt64(8 * i, true)); break;
        case 'int32': values[i] = view.getInt32(4 * i, true); break;
        case 'uint8': case 'bool': values[i] = view.getUint8(i); break;
        case 'int8': values[i] = view.getInt8(i); break;
        default: fail('E_GRAD', `${what}: cannot read ${dtype} values`);
      }
    }
  } else {
    const list = dtype === 'int64' ? (t.int64_data ?? []).map(toNumber) : dtype === 'float64' ? t.double_data ?? [] : dtype === 'float32' ? t.float_data ?? [] : t.int32_data ?? [];
    values = Float64Array.from(list);
  }
  if (values.length !== count) fail('E_GRAD', `${what}: holds ${values.length} values for dims [${dims.join(', ')}]`);
  return { dtype, dims, values };
}

export interface ModelView {
  label: string;
  nodes: NodeView[];
  inputs: InputView[];
  /** Graph outputs with their declared types (a value of an operator without a rule has no other). */
  outputs: InputView[];
  /** Initializer messages by name, as they are (copied into the gradient graph untouched). */
  initializers: Map<string, RawTensor>;
}

function inputView(v: RawValueInfo, label: string): InputView {
  const tt = v.type?.tensor_type;
  if (!tt) fail('E_GRAD', `${label}: graph value ${v.name} is not a tensor`);
  const shape: Dim[] | undefined = tt.shape?.dim?.map((d, i) => {
    // A decoded message reports dim_value 0 for a symbolic dim: the oneof `value` says which is set.
    const which = d.value ?? (d.dim_param ? 'dim_param' : 'dim_value');
    if (which === 'dim_param') return d.dim_param || `${v.name}_dim${i}`;
    return toNumber(d.dim_value);
  });
  return { name: v.name, dtype: dtypeOfCode(tt.elem_type ?? 0, `${label} value ${v.name}`), shape };
}

/** The view of a builder's graph (no serialisation) or of model bytes (decoded once). */
export function viewModel(model: GraphBuilder | Uint8Array, label: string): ModelView {
  const raw = (model instanceof Uint8Array ? decodeModel(model, label) : model.toModelObject()) as unknown as RawModel;
  const g = raw.graph;
  const initializers = new Map<string, RawTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name!, t);
  const inputs = (g.input ?? []).filter((i) => !initializers.has(i.name)).map((i) => inputView(i, label));
  const nodes = (g.node ?? []).map((n, k): NodeView => {
    const name = n.name || `${n.op_type}#${k}`;
    // Operators of other domains have no rules (refused if the gradient needs them, like any other).
    return { op: n.domain ? `${n.domain}.${n.op_type}` : n.op_type, name, inputs: n.input ?? [], outputs: n.output ?? [], attrs: new Attrs(n.attribute ?? [], `${label}: ${n.op_type} node ${name}`), raw: n };
  });
  return { label, nodes, inputs, outputs: (g.output ?? []).map((o) => inputView(o, label)), initializers };
}
