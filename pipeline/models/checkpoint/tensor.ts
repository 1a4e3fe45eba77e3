/**
 * Tensors read from checkpoints: a dtype, a shape and a dense row-major typed array. Storage bytes
 * plus (offset, shape, stride) become a fresh contiguous array; float16 and bfloat16 are widened to
 * Float32Array (exactly: every half value is a float32) and keep their stored dtype as `dtype`.
 */
import { fail } from '../../core/errors.ts';

export type DType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TensorData = Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

export class Tensor {
  constructor(
    public dtype: DType,
    public shape: number[],
    public data: TensorData,
  ) {}
}

/** Bytes per stored element. */
export const ELEMENT_SIZE: Readonly<Record<DType, number>> = Object.freeze({
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
});

/** The most elements one tensor may have (typed arrays of this length are safe on every Node). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

type Raw = { readonly length: number; [i: number]: number | bigint; slice(a: number, b: number): Raw };
type RawCtor = new (buffer: ArrayBuffer | number, byteOffset?: number, length?: number) => Raw;

/** The typed array that holds the stored bits of each dtype (halves as raw 16-bit words). */
const RAW: Readonly<Record<DType, RawCtor>> = {
  float64: Float64Array, float32: Float32Array, float16: Uint16Array, bfloat16: Uint16Array,
  int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
} as unknown as Record<DType, RawCtor>;

/** Bytes per element of the array `materialize` returns (halves widen to 4). */
export function outputElementSize(dtype: DType): number {
  return dtype === 'float16' || dtype === 'bfloat16' ? 4 : ELEMENT_SIZE[dtype];
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > MAX_ELEMENTS) fail('E_CHECKPOINT', `tensor of shape [${shape.join(', ')}] has more than ${MAX_ELEMENTS} elements`);
  }
  return n;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  return stride;
}

/** An element-typed, aligned, native-(little-)endian view of storage bytes, copying only if needed. */
export function elementView(bytes: Uint8Array, dtype: DType, littleEndian: boolean): Raw {
  const size = ELEMENT_SIZE[dtype];
  let b = bytes;
  // new Uint8Array(x) copies; x.slice() would not when x is a Node Buffer.
  if (!littleEndian && size > 1) {
    b = new Uint8Array(bytes);
    for (let i = 0; i + size <= b.length; i += size) b.subarray(i, i + size).reverse();
  } else if (b.byteOffset % size !== 0) {
    b = new Uint8Array(bytes);
  }
  return new RAW[dtype](b.buffer as ArrayBuffer, b.byteOffset, Math.floor(b.length / size));
}

/**
 * Copies the elements of a strided view into a new dense array. The caller has checked that the
 * view lies inside `src` (see `checkView`).
 */
export function gather(src: Raw, offset: number, shape: readonly number[], stride: readonly number[]): Raw {
  const numel = numelOf(shape);
  const want = contiguousStrides(shape);
  if (shape.every((n, d) => n === 1 || stride[d] === want[d])) return src.slice(offset, offset + numel);
  const out = new (src.constructor as RawCtor)(numel);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let at = offset;
  for (let i = 0; i < numel; i++) {
    out[i] = src[at];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      at += stride[d];
      if (idx[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Refuses a view (offset, shape, stride) that reaches outside a storage of `storageNumel` elements. */
export function checkView(storageNumel: number, offset: number, shape: readonly number[], stride: readonly number[], name: string): void {
  if (shape.length !== stride.length) {
    fail('E_CHECKPOINT', `${name}: shape [${shape.join(', ')}] and stride [${stride.join(', ')}] differ in length`);
  }
  if (numelOf(shape) === 0) return;
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
  if (last >= storageNumel) {
    fail('E_CHECKPOINT', `${name}: view (offset ${offset}, shape [${shape.join(', ')}], stride [${stride.join(', ')}]) ` +
      `reaches element ${last} of a storage of ${storageNumel} elements`);
  }
}

let halfTable: Float32Array | null = null;

/** IEEE binary16 → float32 for all 65536 bit patterns, built on first use (not at import). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

/** Widens raw 16-bit words (float16 or bfloat16) to float32. */
export function widenHalf(words: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
  if (dtype === 'bfloat16') {
    const bits = new Uint32Array(words.length);
    for (let i = 0; i < words.length; i++) bits[i] = words[i] << 16;
    return new Float32Array(bits.buffer);
  }
  const table = halfToFloatTable();
  const out = new Float32Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = table[words[i]];
  return out;
}

export function fromRaw(raw: Raw, dtype: DType): TensorData {
  if (dtype === 'float16' || dtype === 'bfloat16') return widenHalf(raw as unknown as Uint16Array, dtype);
  return raw as unknown as TensorData;
}
