/**
 * A small, typed builder for ONNX graphs (opset 17, IR 8), written with protobufjs over the
 * upstream `onnx.proto` field numbers (./proto.ts).
 *
 * Values are named by strings. Every helper returns the names of the values it creates, so a
 * model reads as a chain of calls: `const y = g.op('Relu', [g.op('MatMul', [x, w])])`.
 * Nodes are appended in creation order, which is always a valid topological order.
 *
 * Size budget: one builder class; its op helpers share its private tables, and split across
 * files they would no longer read as the one small API they are.
 */
import { AttributeType, DataType, type DType, modelType } from './proto.ts';

export const OPSET = 17;
export const IR_VERSION = 8;

/**
 * Operator sets outside the default domain that graphs may use, with the version written into
 * the model. `com.microsoft.nchwc` holds onnxruntime's CPU kernels for the blocked NCHWc layout
 * (pipeline/onnx/stylegan2/nchwc.ts writes them; other runtimes do not have them).
 */
export const EXTRA_OPSETS: Readonly<Record<string, number>> = Object.freeze({ 'com.microsoft.nchwc': 1 });

/** A symbolic dimension (e.g. 'batch') or a fixed size. */
export type Dim = number | string;

export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Float64Array;

export interface Tensor {
  dtype: DType;
  dims: readonly number[];
  data: TensorData;
}

/** Attribute values carry their ONNX type explicitly: 1 and 1.0 are different attributes. */
export type Attr =
  | { kind: 'f'; value: number }
  | { kind: 'i'; value: number }
  | { kind: 's'; value: string }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 't'; value: Tensor };

export const attr = {
  f: (value: number): Attr => ({ kind: 'f', value }),
  i: (value: number): Attr => ({ kind: 'i', value }),
  s: (value: string): Attr => ({ kind: 's', value }),
  floats: (value: readonly number[]): Attr => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): Attr => ({ kind: 'ints', value }),
  t: (value: Tensor): Attr => ({ kind: 't', value }),
};

interface NodeRecord {
  op_type: string;
  input: string[];
  output: string[];
  name: string;
  domain?: string;
  attribute: object[];
}

interface ValueInfo {
  name: string;
  dtype: DType;
  shape: readonly Dim[] | undefined;
}

const ELEMENT_SIZE: Record<DType, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
};

function checkTensor(name: string, t: Tensor): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new RangeError(`tensor ${name}: dims [${t.dims.join(', ')}] hold ${count} values but data has ${t.data.length}`);
  }
  const expected = ELEMENT_SIZE[t.dtype];
  if (t.data.BYTES_PER_ELEMENT !== expected) {
    throw new TypeError(`tensor ${name}: dtype ${t.dtype} needs ${expected}-byte elements, got ${t.data.BYTES_PER_ELEMENT}`);
  }
}

function tensorProto(name: string, t: Tensor): object {
  checkTensor(name, t);
  // raw_data is little-endian; so is every platform onnxruntime-node ships for.
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.dims], data_type: DataType[t.dtype], raw_data: bytes };
}

function attributeProto(name: string, a: Attr): object {
  switch (a.kind) {
    case 'f':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'i':
      if (!Number.isInteger(a.value)) throw new TypeError(`attribute ${name}: ${a.value} is not an integer`);
      return { name, type: AttributeType.INT, i: a.value };
    case 's':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...a.value] };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...a.value] };
    case 't':
      return { name, type: AttributeType.TENSOR, t: tensorProto('', a.value) };
  }
}

function valueInfoProto(v: ValueInfo): object {
  const tensor_type: Record<string, unknown> = { elem_type: DataType[v.dtype] };
  if (v.shape) {
    tensor_type.shape = { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) };
  }
  return { name: v.name, type: { tensor_type } };
}

export interface ModelOptions {
  docString?: string;
  producerVersion?: string;
  /** Written as ModelProto.metadata_props; readable from an InferenceSession's metadata. */
  metadata?: Record<string, string>;
}

export class GraphBuilder {
  readonly name: string;
  private readonly nodes: NodeRecord[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers = new Map<string, Tensor>();
  /** Initializers copied from decoded models (see compose.ts): TensorProto messages as they are. */
  private readonly rawInitializers: object[] = [];
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();
  /** Small constants are shared: the same values under the same hint give the same value name. */
  private readonly smallConstants = new Map<string, string>();

  constructor(name: string) {
    this.name = name;
  }

  /** A fresh value name derived from `hint` (hint itself if still free). */
  fresh(hint: string): string {
    if (!this.used.has(hint)) {
      this.used.add(hint);
      return hint;
    }
    let n = this.counters.get(hint) ?? 1;
    while (this.used.has(`${hint}_${n}`)) n++;
    this.counters.set(hint, n + 1);
    const name = `${hint}_${n}`;
    this.used.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`graph ${this.name}: value name ${name} is already used`);
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), dtype, shape });
    return name;
  }

  /** Mark `value` as a graph output called `name` (an Identity is added when the names differ). */
  output(value: string, name: string, dtype: DType, shape?: readonly Dim[]): string {
    let out = value;
    if (value !== name) {
      this.node('Identity', [value], {}, { outputs: [this.claim(name)] });
      out = name;
    }
    this.outputs.push({ name: out, dtype, shape });
    return out;
  }

  /** A named weight. Names are kept as given, so parameter names survive into the file. */
  initializer(name: string, tensor: Tensor): string {
    checkTensor(name, tensor);
    this.initializers.set(this.claim(name), tensor);
    return name;
  }

  /** An unnamed constant: stored under a fresh name derived from `hint`. */
  constant(hint: string, tensor: Tensor): string {
    checkTensor(hint, tensor);
    const name = this.fresh(hint);
    this.initializers.set(name, tensor);
    return name;
  }

  constF32(hint: string, values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    return this.shared(hint, { dtype: 'float32', dims, data: Float32Array.from(values) });
  }

  constI64(hint: string, values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    return this.shared(hint, { dtype: 'int64', dims, data });
  }

  private shared(hint: string, tensor: Tensor): string {
    if (tensor.data.length > 64) return this.constant(hint, tensor);
    const key = `${hint}|${tensor.dtype}|${tensor.dims.join(',')}|${Array.from(tensor.data as ArrayLike<number | bigint>).join(',')}`;
    let name = this.smallConstants.get(key);
    if (!name) {
      name = this.constant(hint, tensor);
      this.smallConstants.set(key, name);
    }
    return name;
  }

  /** Append a node; returns its output names. `''` in inputs means an omitted optional input. */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    opts: { outputs?: number | readonly string[]; name?: string; domain?: string } = {},
  ): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.used.has(i)) throw new Error(`graph ${this.name}: ${opType} reads unknown value ${i}`);
    }
    const outs = opts.outputs ?? 1;
    const hint = opType.charAt(0).toLowerCase() + opType.slice(1);
    const output = typeof outs === 'number' ? Array.from({ length: outs }, () => this.fresh(hint)) : [...outs];
    for (const o of output) this.used.add(o);
    this.nodes.push({
      op_type: opType,
      input: [...inputs],
      output,
      name: opts.name ?? this.fresh(`node_${hint}`),
      domain: opts.domain,
      attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
    });
    return output;
  }

  /** A single-output node; returns the output name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, name?: string): string {
    return this.node(opType, inputs, attrs, name ? { outputs: [this.fresh(name)] } : {})[0];
  }

  /**
   * Append a node decoded from another model; its value names must already be final
   * (compose.ts renames them). Outputs are claimed; inputs must exist.
   */
  rawNode(node: { op_type: string; input: string[]; output: string[]; name?: string; domain?: string; attribute?: object[] }): void {
    for (const i of node.input) {
      if (i !== '' && !this.used.has(i)) throw new Error(`graph ${this.name}: ${node.op_type} reads unknown value ${i}`);
    }
    for (const o of node.output) this.claim(o);
    this.nodes.push({
      op_type: node.op_type,
      input: [...node.input],
      output: [...node.output],
      name: this.fresh(node.name || `node_${node.op_type}`),
      domain: node.domain || undefined,
      attribute: node.attribute ?? [],
    });
  }

  /** Append an initializer decoded from another model (a TensorProto message) under `name`. */
  rawInitializer(name: string, tensorProto: object): string {
    this.claim(name);
    this.rawInitializers.push({ ...tensorProto, name });
    return name;
  }

  get initializerNames(): string[] {
    return [...this.initializers.keys()];
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The ModelProto as a plain object (protobufjs message shape). */
  toModelObject(opts: ModelOptions = {}): object {
    if (this.outputs.length === 0) throw new Error(`graph ${this.name} has no outputs`);
    const domains = [...new Set(this.nodes.map((n) => n.domain).filter((d): d is string => !!d))].sort();
    for (const d of domains) if (!(d in EXTRA_OPSETS)) throw new Error(`graph ${this.name}: operator domain ${d} has no known opset`);
    return {
      ir_version: IR_VERSION,
      opset_import: [{ domain: '', version: OPSET }, ...domains.map((domain) => ({ domain, version: EXTRA_OPSETS[domain] }))],
      producer_name: 'styleatlas',
      producer_version: opts.producerVersion ?? '0',
      doc_string: opts.docString,
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: [...[...this.initializers].map(([name, t]) => tensorProto(name, t)), ...this.rawInitializers],
        input: this.inputs.map(valueInfoProto),
        output: this.outputs.map(valueInfoProto),
      },
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  /** Serialized ModelProto bytes, ready for onnxruntime or a file. Deterministic. */
  toBytes(opts: ModelOptions = {}): Uint8Array {
    const Model = modelType();
    return Model.encode(Model.fromObject(this.toModelObject(opts))).finish();
  }
}
