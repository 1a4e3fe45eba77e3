/**
 * The inputs and outputs of an ONNX model, read from its bytes without decoding its weights:
 * the wire format is walked field by field, initializers and nodes are skipped by their length,
 * and only graph.input / graph.output are decoded. Cheap even for a 350 MB ViT-B/32 tower, so a
 * bundle's every graph can be checked against its manifest at open, session or not.
 */
import protobuf from 'protobufjs';
import { fail } from '../core/errors.ts';
import { onnxRoot } from './proto.ts';

export interface GraphValue {
  name: string;
  /** The element type's name (float32, int64, …), or the number where it has no name here. */
  type: string;
  /** Fixed sizes as numbers, symbolic ones as their names, unknown ones as '?'. */
  shape: readonly (number | string)[];
}

export interface GraphSignature {
  inputs: GraphValue[];
  outputs: GraphValue[];
}

const ELEM_TYPES: Readonly<Record<number, string>> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

// Field numbers of onnx.proto (see proto.ts).
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const TENSOR_NAME = 8;
const LENGTH_DELIMITED = 2;

interface DecodedValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number | { toNumber(): number }; dim_param?: string }[] } } };
}

function toValue(v: DecodedValueInfo): GraphValue {
  const t = v.type?.tensor_type;
  const shape = (t?.shape?.dim ?? []).map((d) => {
    if (d.dim_param) return d.dim_param;
    const n = d.dim_value === undefined ? 0 : typeof d.dim_value === 'number' ? d.dim_value : d.dim_value.toNumber();
    return n > 0 ? n : '?';
  });
  const elem = t?.elem_type ?? 0;
  return { name: v.name ?? '', type: ELEM_TYPES[elem] ?? `type ${elem}`, shape };
}

/** The name field of a TensorProto, reading nothing else. */
function tensorName(r: protobuf.Reader, end: number): string | undefined {
  let name: string | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === TENSOR_NAME && (tag & 7) === LENGTH_DELIMITED) name = r.string();
    else r.skipType(tag & 7);
  }
  return name;
}

export function graphSignature(bytes: Uint8Array, label: string): GraphSignature {
  const valueInfo = onnxRoot().lookupType('onnx.ValueInfoProto');
  const inputs: GraphValue[] = [];
  const outputs: GraphValue[] = [];
  const initializers = new Set<string>();
  let sawGraph = false;
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 !== MODEL_GRAPH || (tag & 7) !== LENGTH_DELIMITED) {
        r.skipType(tag & 7);
        continue;
      }
      sawGraph = true;
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const gt = r.uint32();
        const field = gt >>> 3;
        if ((gt & 7) === LENGTH_DELIMITED && (field === GRAPH_INPUT || field === GRAPH_OUTPUT)) {
          const v = toValue(valueInfo.decode(r, r.uint32()) as DecodedValueInfo);
          (field === GRAPH_INPUT ? inputs : outputs).push(v);
        } else if ((gt & 7) === LENGTH_DELIMITED && field === GRAPH_INITIALIZER) {
          const name = tensorName(r, r.uint32() + r.pos);
          if (name) initializers.add(name);
        } else {
          r.skipType(gt & 7);
        }
      }
    }
  } catch (e) {
    fail('E_MANIFEST', `${label}: not a readable ONNX model (${(e as Error).message})`, 'the file is damaged; rebuild or re-import the bundle');
  }
  if (!sawGraph) fail('E_MANIFEST', `${label}: not an ONNX model (no graph)`, 'the file is damaged; rebuild or re-import the bundle');
  // Before IR 4 initializers were listed among the inputs too; they are weights, not inputs.
  return { inputs: inputs.filter((v) => !initializers.has(v.name)), outputs };
}
