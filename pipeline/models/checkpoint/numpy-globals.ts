/**
 * NumPy scalars, dtypes and numeric arrays as data. NVIDIA's networks keep gains such as
 * `np.sqrt(2)` as attributes, which pickle as `numpy.core.multiarray.scalar(dtype, bytes)`; arrays
 * pickle as `_reconstruct(ndarray, …)` plus a BUILD with (shape, dtype, fortran, raw bytes).
 * Object, string and structured dtypes are refused: they are not numbers.
 */
import { fail } from '../../core/errors.ts';
import type { GlobalContext, SafeGlobal } from './torch-globals.ts';
import { ELEMENT_SIZE, Tensor, contiguousStrides, elementView, fromRaw, gather, numelOf, outputElementSize, widenHalf } from './tensor.ts';
import type { DType } from './tensor.ts';
import { PyGlobal, describe, expectIndex, expectString } from './values.ts';

const ARRAY_DTYPES: Readonly<Record<string, DType>> = {
  f8: 'float64', f4: 'float32', f2: 'float16', i8: 'int64', i4: 'int32', i2: 'int16', i1: 'int8', u1: 'uint8', b1: 'bool',
};
const SCALAR_ONLY = new Set(['u2', 'u4', 'u8']);
const NAMES: Readonly<Record<string, string>> = {
  f8: 'float64', f4: 'float32', f2: 'float16', i8: 'int64', i4: 'int32', i2: 'int16', i1: 'int8',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};

/** A numpy dtype; its byte order arrives later, in a BUILD. */
export class NumpyDType extends PyGlobal {
  byteOrder = '=';
  constructor(readonly code: string) {
    super('numpy', NAMES[code]);
  }
  get littleEndian(): boolean {
    return this.byteOrder !== '>';
  }
}

const pendingArrays = new WeakSet<Tensor>();

function makeDType(args: readonly unknown[]): NumpyDType {
  const code = expectString(args[0], 'numpy dtype');
  if (args.length !== 3 || !Object.hasOwn(NAMES, code)) {
    fail('E_CHECKPOINT', `numpy dtype ${JSON.stringify(code.slice(0, 20))} is not supported (numbers and bools are)`);
  }
  return new NumpyDType(code);
}

function scalar(args: readonly unknown[]): number | bigint | boolean {
  const [dtype, raw] = args;
  if (args.length !== 2 || !(dtype instanceof NumpyDType) || !(raw instanceof Uint8Array)) {
    fail('E_CHECKPOINT', `numpy scalar of ${describe(dtype)}`);
  }
  const size = Number(dtype.code.slice(1));
  if (raw.length !== size) fail('E_CHECKPOINT', `numpy ${dtype.name} scalar of ${raw.length} bytes`);
  const v = new DataView(raw.buffer, raw.byteOffset, size);
  const le = dtype.littleEndian;
  const big = (x: bigint) => (x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x);
  switch (dtype.code) {
    case 'f8': return v.getFloat64(0, le);
    case 'f4': return v.getFloat32(0, le);
    case 'f2': return widenHalf(new Uint16Array([v.getUint16(0, le)]), 'float16')[0];
    case 'i8': return big(v.getBigInt64(0, le));
    case 'u8': return big(v.getBigUint64(0, le));
    case 'i4': return v.getInt32(0, le);
    case 'u4': return v.getUint32(0, le);
    case 'i2': return v.getInt16(0, le);
    case 'u2': return v.getUint16(0, le);
    case 'i1': return v.getInt8(0);
    case 'u1': return v.getUint8(0);
    default: return v.getUint8(0) !== 0; // b1
  }
}

function reconstruct(args: readonly unknown[]): Tensor {
  const cls = args[0];
  if (args.length !== 3 || !(cls instanceof PyGlobal) || cls.name !== 'ndarray') {
    fail('E_CHECKPOINT', `numpy _reconstruct is only accepted for numpy.ndarray, found ${describe(cls)}`);
  }
  const t = new Tensor('uint8', [0], new Uint8Array(0));
  pendingArrays.add(t);
  return t;
}

function buildDType(target: NumpyDType, state: unknown): void {
  // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
  if (!Array.isArray(state) || state.length < 5 || typeof state[1] !== 'string' || state[3] !== null || state[4] !== null) {
    fail('E_CHECKPOINT', `numpy dtype state ${describe(state)} is not a plain number type`);
  }
  if (!['<', '>', '|', '='].includes(state[1])) fail('E_CHECKPOINT', `numpy byte order ${JSON.stringify(state[1])}`);
  target.byteOrder = state[1];
}

/** Fills `target` with an array of (shape, dtype, order) from raw bytes. */
function fillArray(target: Tensor, shapeValue: unknown, dtype: unknown, fortran: boolean, raw: unknown, ctx: GlobalContext): void {
  if (!(dtype instanceof NumpyDType) || SCALAR_ONLY.has(dtype.code)) fail('E_CHECKPOINT', `numpy array of ${describe(dtype)} is not supported`);
  if (!(raw instanceof Uint8Array)) fail('E_CHECKPOINT', `numpy array data is ${describe(raw)}, not bytes (object arrays are refused)`);
  if (!Array.isArray(shapeValue) || shapeValue.length > 32) fail('E_CHECKPOINT', `numpy array shape ${describe(shapeValue)}`);
  const shape = shapeValue.map((d, i) => expectIndex(d, `numpy shape[${i}]`, 2 ** 31 - 1));
  const kind = ARRAY_DTYPES[dtype.code];
  const numel = numelOf(shape);
  if (raw.length !== numel * ELEMENT_SIZE[kind]) {
    fail('E_CHECKPOINT', `numpy array [${shape.join(', ')}] of ${dtype.name} has ${raw.length} bytes of data`);
  }
  ctx.budget.spend(numel * outputElementSize(kind), `numpy array [${shape.join(', ')}]`);
  // Fortran order is the row-major layout of the reversed shape.
  const stride = fortran ? contiguousStrides([...shape].reverse()).reverse() : contiguousStrides(shape);
  target.dtype = kind;
  target.shape = shape;
  target.data = fromRaw(gather(elementView(raw, kind, dtype.littleEndian), 0, shape, stride), kind);
}

function buildArray(target: Tensor, state: unknown, ctx: GlobalContext): void {
  // (version, shape, dtype, is_fortran, raw bytes)
  if (!Array.isArray(state) || state.length !== 5 || typeof state[3] !== 'boolean') {
    fail('E_CHECKPOINT', `numpy array state ${describe(state)}`);
  }
  fillArray(target, state[1], state[2], state[3], state[4], ctx);
  pendingArrays.delete(target);
}

/** Protocol 5: `_frombuffer(buffer, dtype, shape, order)`, the buffer pickled in-band as bytes. */
function fromBuffer(args: readonly unknown[], ctx: GlobalContext): Tensor {
  const [raw, dtype, shape, order] = args;
  if (args.length !== 4 || (order !== 'C' && order !== 'F')) fail('E_CHECKPOINT', 'malformed numpy _frombuffer');
  const t = new Tensor('uint8', [0], new Uint8Array(0));
  fillArray(t, shape, dtype, order === 'F', raw, ctx);
  return t;
}

/** BUILD on a numpy dtype or a reconstructed array; false when `target` is not one of ours. */
export function buildNumpy(target: unknown, state: unknown, ctx: GlobalContext): boolean {
  if (target instanceof NumpyDType) buildDType(target, state);
  else if (target instanceof Tensor && pendingArrays.has(target)) buildArray(target, state, ctx);
  else return false;
  return true;
}

const dtypeGlobal: SafeGlobal = { call: makeDType };
const scalarGlobal: SafeGlobal = { call: scalar };
const reconstructGlobal: SafeGlobal = { call: reconstruct };

export const NUMPY_GLOBALS: ReadonlyMap<string, SafeGlobal> = new Map<string, SafeGlobal>([
  ['numpy.dtype', dtypeGlobal],
  ['numpy.core.multiarray.scalar', scalarGlobal],
  ['numpy._core.multiarray.scalar', scalarGlobal],
  ['numpy.core.multiarray._reconstruct', reconstructGlobal],
  ['numpy._core.multiarray._reconstruct', reconstructGlobal],
  ['numpy.core.numeric._frombuffer', { call: fromBuffer }],
  ['numpy._core.numeric._frombuffer', { call: fromBuffer }],
  ['numpy.ndarray', {}],
]);
