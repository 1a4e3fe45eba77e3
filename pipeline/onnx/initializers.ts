/**
 * The initializers of an ONNX model as typed arrays, by name (float32 only: what StyleAtlas
 * stores). Pure: bytes in, arrays out.
 */
import { fail } from '../core/errors.ts';
import { decodeModel } from './compose.ts';
import { DataType } from './proto.ts';

export interface Float32Initializer {
  dims: number[];
  data: Float32Array;
}

interface DecodedTensor {
  name: string;
  dims?: (number | { toNumber(): number })[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
}

export function float32Initializers(bytes: Uint8Array, label: string): Map<string, Float32Initializer> {
  const m = decodeModel(bytes, label);
  const out = new Map<string, Float32Initializer>();
  for (const t of m.graph.initializer as DecodedTensor[]) {
    if (t.data_type !== DataType.float32) continue;
    const dims = (t.dims ?? []).map((d) => (typeof d === 'number' ? d : d.toNumber()));
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (t.raw_data && t.raw_data.byteLength > 0) {
      // Copy (new Uint8Array, not Buffer#slice, which is a view): the bytes may sit unaligned in the model buffer.
      data = new Float32Array(new Uint8Array(t.raw_data).buffer, 0, t.raw_data.byteLength / 4);
    } else {
      data = Float32Array.from(t.float_data ?? []);
    }
    if (data.length !== count) fail('E_MANIFEST', `${label}: initializer ${t.name} holds ${data.length} values for dims [${dims.join(', ')}]`);
    out.set(t.name, { dims, data });
  }
  return out;
}
