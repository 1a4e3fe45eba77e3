/**
 * NumPy `.npy` (format 1.0) for float32, float64 and int64 arrays, little-endian, C order.
 * Pure: bytes in, bytes out. Checked against numpy.load in test/parity.
 */
import { fail } from '../core/errors.ts';

export type NpyArray =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'float64'; shape: number[]; data: Float64Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array };

const DESCR = { float32: '<f4', float64: '<f8', int64: '<i8' } as const;

export function encodeNpy(arr: NpyArray): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) fail('E_SHAPE', `npy: shape [${arr.shape}] holds ${count} values, data has ${arr.data.length}`);
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[arr.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic(6) + version(2) + len(2) + header + '\n' must be a multiple of 64.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad) + '\n'; // NumPy pads 1…64 spaces (64 when already aligned)
  const out = new Uint8Array(10 + header.length + arr.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), 10 + header.length);
  return out;
}

export function decodeNpy(bytes: Uint8Array, what = 'npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) fail('E_STORE', `${what}: not an .npy file`);
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + hlen > bytes.length) fail('E_STORE', `${what}: truncated header`);
  const header = new TextDecoder().decode(bytes.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) fail('E_STORE', `${what}: unreadable header ${header.trim()}`);
  if (fortran === 'True') fail('E_STORE', `${what}: Fortran-order arrays are not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  // A real copy (Buffer#slice would alias the file's pooled buffer), aligned at offset 0.
  const body = Uint8Array.prototype.slice.call(bytes, start + hlen);
  if (descr === '<f4') {
    if (body.byteLength !== count * 4) fail('E_STORE', `${what}: expected ${count * 4} data bytes, found ${body.byteLength}`);
    return { dtype: 'float32', shape, data: new Float32Array(body.buffer, 0, count) };
  }
  if (descr === '<f8') {
    if (body.byteLength !== count * 8) fail('E_STORE', `${what}: expected ${count * 8} data bytes, found ${body.byteLength}`);
    return { dtype: 'float64', shape, data: new Float64Array(body.buffer, 0, count) };
  }
  if (descr === '<i8') {
    if (body.byteLength !== count * 8) fail('E_STORE', `${what}: expected ${count * 8} data bytes, found ${body.byteLength}`);
    return { dtype: 'int64', shape, data: new BigInt64Array(body.buffer, 0, count) };
  }
  return fail('E_STORE', `${what}: dtype ${descr} is not supported (float32 '<f4', float64 '<f8' or int64 '<i8')`);
}
