/**
 * Latent codes people bring: a NumPy `.npy`, or the `latents.pt` that e4e / pSp / ReStyle inversions
 * save with torch.save (a tensor [K, num_ws, w_dim], or a dict {image name: [num_ws, w_dim] or
 * [1, num_ws, w_dim]}), read by the safe checkpoint reader (nothing in the file is run). One module
 * for every consumer of codes: `edit --codes` and the inputs of methods 1 and 2.
 *
 * `readCodesFile` gives the array as stored (float32; float64 and float16 tensors converted, integer
 * ones refused; NaN/Inf refused); `asWs` checks it is W+ (or w) codes of a generator;
 * `readLatentCodes` does both.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { fail } from '../core/errors.ts';
import { broadcastWs } from '../core/styles.ts';
import { decodeNpy } from '../store/npy.ts';
import { Tensor, readCheckpoint } from './checkpoint/index.ts';
import { describe } from './checkpoint/values.ts';
import { float32Of } from './import/common.ts';

export interface CodesFile {
  /** The file's name, for messages. */
  name: string;
  format: 'npy' | 'torch';
  /** Row-major shape; a dict of tensors is stacked along a new first axis. */
  shape: number[];
  data: Float32Array;
  /** A dict's keys (image names), one per row; null for a plain array. */
  rowNames: string[] | null;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

function checkFinite(data: Float32Array, shape: readonly number[], what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    const index: number[] = [];
    for (let d = shape.length - 1, rest = i; d >= 0; d--) {
      index.unshift(rest % shape[d]);
      rest = Math.floor(rest / shape[d]);
    }
    fail('E_NUMERIC', `${what}: the value at [${index.join(', ')}] is ${data[i]}; latent codes must be finite numbers`);
  }
}

const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);

function tensorCodes(t: Tensor, what: string): Float32Array {
  if (!FLOAT_DTYPES.has(t.dtype)) {
    fail('E_INPUT', `${what} is a ${t.dtype} tensor; latent codes are floating point`);
  }
  return Float32Array.from(float32Of(t, what));
}

/** Each entry [num_ws, w_dim] (one row) or [k, num_ws, w_dim] (k rows), all of one shape per row. */
function stackDict(dict: Map<unknown, unknown>, name: string): { shape: number[]; data: Float32Array; rowNames: string[] } {
  if (dict.size === 0) fail('E_INPUT', `${name} holds an empty dict: no latent codes`);
  const rows: Float32Array[] = [];
  const rowNames: string[] = [];
  let rowShape: number[] | null = null;
  for (const [key, value] of dict) {
    const label = typeof key === 'string' ? key : String(describe(key));
    if (!(value instanceof Tensor)) fail('E_INPUT', `${name}[${JSON.stringify(label)}] is ${describe(value)}; a latents dict maps image names to tensors`);
    const shape = value.shape.length === 3 ? value.shape.slice(1) : value.shape;
    const k = value.shape.length === 3 ? value.shape[0] : 1;
    if (shape.length !== 2) fail('E_SHAPE', `${name}[${JSON.stringify(label)}] has shape [${value.shape.join(', ')}]; expected [num_ws, w_dim] or [k, num_ws, w_dim]`);
    if (rowShape && (rowShape[0] !== shape[0] || rowShape[1] !== shape[1])) {
      fail('E_SHAPE', `${name}[${JSON.stringify(label)}] has rows of [${shape.join(', ')}], earlier entries [${rowShape.join(', ')}]`);
    }
    rowShape = shape;
    const data = tensorCodes(value, `${name}[${JSON.stringify(label)}]`);
    const size = shape[0] * shape[1];
    for (let r = 0; r < k; r++) {
      rows.push(data.subarray(r * size, (r + 1) * size));
      rowNames.push(k === 1 ? label : `${label}[${r}]`);
    }
  }
  const size = rowShape![0] * rowShape![1];
  const data = new Float32Array(rows.length * size);
  rows.forEach((r, i) => data.set(r, i * size));
  return { shape: [rows.length, ...rowShape!], data, rowNames };
}

/** Reads a codes file (.npy or a torch.save file such as e4e's latents.pt), recognised by its bytes. */
export function readCodesFile(path: string): CodesFile {
  if (!existsSync(path) || !statSync(path).isFile()) fail('E_MISSING', `codes file ${path} does not exist`);
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const name = basename(path);
  let out: CodesFile;
  if (NPY_MAGIC.every((m, i) => bytes[i] === m)) {
    const a = decodeNpy(bytes, name);
    if (a.dtype !== 'float32') fail('E_INPUT', `${name}: codes must be float32, found ${a.dtype}`);
    out = { name, format: 'npy', shape: a.shape, data: a.data, rowNames: null };
  } else {
    const { value, format } = readCheckpoint(bytes);
    if (format === 'torchscript') fail('E_INPUT', `${name} is a TorchScript archive, not saved latent codes`);
    if (value instanceof Tensor) out = { name, format: 'torch', shape: value.shape, data: tensorCodes(value, name), rowNames: null };
    else if (value instanceof Map) out = { name, format: 'torch', ...stackDict(value, name) };
    else return fail('E_INPUT', `${name} holds ${describe(value)}; latent codes are a tensor or a dict of tensors (e4e/pSp/ReStyle latents.pt)`);
  }
  if (out.data.length === 0) fail('E_INPUT', `${name} holds no codes: its shape is [${out.shape.join(', ')}]`, 'give a file with at least one row of codes');
  checkFinite(out.data, out.shape, name);
  return out;
}

/**
 * W+ codes [K, num_ws, w_dim] of a generator: [K, num_ws, w_dim] as they are, or w codes [K, w_dim]
 * given to every layer (a w code is the W+ code with equal rows). A single W+ code is [1, num_ws, w_dim].
 */
export function asWs(file: CodesFile, numWs: number, wDim: number): { ws: Float32Array; k: number } {
  const s = file.shape;
  if (s.length === 3 && s[1] === numWs && s[2] === wDim && s[0] > 0) return { ws: file.data, k: s[0] };
  if (s.length === 2 && s[1] === wDim && s[0] > 0) return { ws: broadcastWs(file.data, s[0], numWs), k: s[0] };
  const hint = s.length === 3 && s[2] === wDim && s[1] !== numWs
    ? `codes with ${s[1]} ws belong to a generator of another resolution (this one has ${numWs})`
    : undefined;
  return fail('E_SHAPE', `${file.name}: shape [${s.join(', ')}] is neither W+ codes [K, ${numWs}, ${wDim}] nor w codes [K, ${wDim}] of this generator`, hint);
}

/** A codes file as W+ codes of a generator with `numWs` × `wDim` (methods 1 and 2 start from these). */
export function readLatentCodes(path: string, numWs: number, wDim: number): { ws: Float32Array; k: number; rowNames: string[] | null } {
  const file = readCodesFile(path);
  return { ...asWs(file, numWs, wDim), rowNames: file.rowNames };
}
